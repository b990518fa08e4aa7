"""Households and their VENs (OpenADR 2.0b registrations and push endpoints)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from homeflex.core.domain import Category
from homeflex.storage.records import HouseholdRecord, VenRecord
from homeflex.storage.sql import Database, Row, SqlRepository, Transaction


class HouseholdStore(Protocol):
    async def upsert_household(self, h: HouseholdRecord, at: datetime) -> None:
        """Create a household, or update its group, category and vulnerability."""

    async def get_household(self, household_id: str) -> HouseholdRecord | None:
        """One household, or None."""

    async def list_households(self, group: str | None = None) -> list[HouseholdRecord]:
        """All households (of one group if given), ordered by id."""

    async def save_ven(self, ven: VenRecord, at: datetime) -> None:
        """Register a VEN, or update its registration id and fingerprint."""

    async def get_ven(self, ven_id: str) -> VenRecord | None:
        """One VEN registration, or None."""

    async def count_vens(self) -> int:
        """How many VENs are registered."""

    async def save_push_url(self, ven_id: str, url: str | None, at: datetime) -> None:
        """The endpoint a VEN registered for push, or None (it registered for pull only)."""

    async def push_vens(self) -> dict[str, tuple[str, str]]:
        """household id -> (ven id, push url) of every VEN registered for push."""


def household_of(row: Row) -> HouseholdRecord:
    return HouseholdRecord(
        id=row["id"],
        group=row["group_name"],
        category=Category(row["category"]),
        vulnerable=bool(row["vulnerable"]),
    )


# Writes another repository makes inside its own transaction (the portal enrols a household with its
# customer row, and moves its category and group with the journey): the households table's SQL stays here.


async def add_household(tx: Transaction, db: Database, h: HouseholdRecord, at: datetime) -> None:
    """A new household; DuplicateKey if its id is taken."""
    await tx.execute(
        "INSERT INTO households (id, group_name, category, vulnerable, created_at) VALUES (?,?,?,?,?)",
        (h.id, h.group, h.category.value, db.flag(h.vulnerable), db.time(at)),
    )


async def set_category(
    tx: Transaction, db: Database, household_id: str, category: Category, vulnerable: bool
) -> None:
    await tx.execute(
        "UPDATE households SET category=?, vulnerable=? WHERE id=?",
        (category.value, db.flag(vulnerable), household_id),
    )


async def set_group(tx: Transaction, household_id: str, group: str) -> None:
    await tx.execute("UPDATE households SET group_name=? WHERE id=?", (group, household_id))


class SqlHouseholds(SqlRepository):
    async def upsert_household(self, h: HouseholdRecord, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO households (id, group_name, category, vulnerable, created_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET group_name=excluded.group_name, category=excluded.category,"
            " vulnerable=excluded.vulnerable",
            (h.id, h.group, h.category.value, self.db.flag(h.vulnerable), self.db.time(at)),
        )

    async def get_household(self, household_id: str) -> HouseholdRecord | None:
        rows = await self.db.fetch("SELECT * FROM households WHERE id=?", (household_id,))
        return household_of(rows[0]) if rows else None

    async def list_households(self, group: str | None = None) -> list[HouseholdRecord]:
        if group is None:
            rows = await self.db.fetch("SELECT * FROM households ORDER BY id")
        else:
            rows = await self.db.fetch("SELECT * FROM households WHERE group_name=? ORDER BY id", (group,))
        return [household_of(r) for r in rows]

    async def save_ven(self, ven: VenRecord, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO vens (ven_id, household_id, ven_name, registration_id, fingerprint, registered_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT (ven_id) DO UPDATE SET"
            " registration_id=excluded.registration_id,"
            " fingerprint=excluded.fingerprint, registered_at=excluded.registered_at",
            (
                ven.ven_id,
                ven.household_id,
                ven.ven_name,
                ven.registration_id,
                ven.fingerprint,
                self.db.time(at),
            ),
        )

    async def get_ven(self, ven_id: str) -> VenRecord | None:
        rows = await self.db.fetch("SELECT * FROM vens WHERE ven_id=?", (ven_id,))
        if not rows:
            return None
        r = rows[0]
        return VenRecord(
            ven_id=r["ven_id"],
            household_id=r["household_id"],
            ven_name=r["ven_name"],
            registration_id=r["registration_id"],
            fingerprint=r["fingerprint"],
        )

    async def count_vens(self) -> int:
        rows = await self.db.fetch("SELECT count(*) FROM vens")
        return int(rows[0][0])

    async def save_push_url(self, ven_id: str, url: str | None, at: datetime) -> None:
        if url is None:
            await self.db.execute("DELETE FROM ven_push WHERE ven_id=?", (ven_id,))
            return
        await self.db.execute(
            "INSERT INTO ven_push (ven_id, url, registered_at) VALUES (?,?,?)"
            " ON CONFLICT (ven_id) DO UPDATE SET url=excluded.url, registered_at=excluded.registered_at",
            (ven_id, url, self.db.time(at)),
        )

    async def push_vens(self) -> dict[str, tuple[str, str]]:
        rows = await self.db.fetch(
            "SELECT v.household_id, v.ven_id, p.url FROM ven_push p JOIN vens v ON v.ven_id = p.ven_id"
        )
        return {r[0]: (r[1], r[2]) for r in rows}
