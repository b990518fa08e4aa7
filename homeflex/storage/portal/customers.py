"""Customers and their journey, in the shared SQL of homeflex.storage (migration 0006), on either
backend: the audit trail, categories, information sessions, skips and VEN provisioning. Enrolment and
category or group changes write the household's row in the same transaction, through
homeflex.storage.households."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from homeflex.core.customer import AuditEntry, CategoryChange, JourneyError, JourneyState, Role, Step
from homeflex.core.domain import Category
from homeflex.storage.errors import DuplicateKey
from homeflex.storage.households import add_household, set_category, set_group
from homeflex.storage.portal.base import StoreBase
from homeflex.storage.portal.records import Customer, InfoSession, Skip
from homeflex.storage.records import HouseholdRecord
from homeflex.storage.sql import Row, Transaction


class CustomerStore(StoreBase):
    """The customer journey with its audit trail, category history, information sessions, event
    skips and VEN provisioning."""

    async def _next_seq(self, tx: Transaction, table: str, household_id: str) -> int:
        rows = await tx.fetch(
            f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table} WHERE household_id=?", (household_id,)
        )
        return int(rows[0][0])

    async def _audit(self, tx: Transaction, e: AuditEntry) -> None:
        seq = await self._next_seq(tx, "portal_audit", e.household_id)
        await tx.execute(
            "INSERT INTO portal_audit (household_id, seq, from_step, to_step, actor, role, at, reason)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                e.household_id,
                seq,
                e.from_step.value if e.from_step else None,
                e.to_step.value,
                e.actor,
                e.role.value,
                self._t(e.at),
                e.reason,
            ),
        )

    async def _category(self, tx: Transaction, c: CategoryChange) -> None:
        seq = await self._next_seq(tx, "portal_categories", c.household_id)
        await tx.execute(
            "INSERT INTO portal_categories (household_id, seq, category, vulnerable, since, reason, actor)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                c.household_id,
                seq,
                c.category.value,
                self._db.flag(c.vulnerable),
                self._t(c.since),
                c.reason,
                c.actor,
            ),
        )
        # The VTN's household row carries the current category (settlement and reports read it there).
        await set_category(tx, self._db, c.household_id, c.category, c.vulnerable)

    # -- customers and the journey ------------------------------------------------------------------

    async def create_customer(
        self,
        *,
        name: str,
        email: str,
        postcode: str,
        group: str,
        state: JourneyState,
        entry: AuditEntry,
        category: CategoryChange,
        data: Mapping[str, Any],
    ) -> None:
        """The household, its customer row, first category and first audit entry, atomically.
        ValueError if the email is already registered."""
        if await self._db.fetch("SELECT 1 FROM portal_customers WHERE email=?", (email,)):
            raise ValueError("this email address has already expressed interest")
        try:
            async with self._db.transaction() as tx:
                household = HouseholdRecord(
                    id=state.household_id,
                    group=group,
                    category=category.category,
                    vulnerable=category.vulnerable,
                )
                await add_household(tx, self._db, household, state.since)
                await tx.execute(
                    "INSERT INTO portal_customers (household_id, name, email, postcode, step, since,"
                    " left_from, data, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        state.household_id,
                        name,
                        email,
                        postcode,
                        state.step.value,
                        self._t(state.since),
                        None,
                        json.dumps(dict(data)),
                        self._t(state.since),
                    ),
                )
                await self._audit(tx, entry)
                await self._category(tx, category)
        except DuplicateKey as err:  # a concurrent request with the same email (or id) came first
            raise ValueError("this email address has already expressed interest") from err

    def _customer(self, r: Row) -> Customer:
        state = JourneyState(
            household_id=r["household_id"],
            step=Step(r["step"]),
            since=self._rt(r["since"]),
            left_from=Step(r["left_from"]) if r["left_from"] else None,
        )
        return Customer(
            household_id=r["household_id"],
            name=r["name"],
            email=r["email"],
            postcode=r["postcode"],
            state=state,
            data=json.loads(r["data"]),
            created_at=self._rt(r["created_at"]),
        )

    async def customer(self, household_id: str) -> Customer | None:
        rows = await self._db.fetch("SELECT * FROM portal_customers WHERE household_id=?", (household_id,))
        return self._customer(rows[0]) if rows else None

    async def customers(self) -> list[Customer]:
        rows = await self._db.fetch("SELECT * FROM portal_customers ORDER BY household_id")
        return [self._customer(r) for r in rows]

    async def apply(
        self,
        old: JourneyState,
        new: JourneyState,
        entry: AuditEntry,
        data: Mapping[str, Any] | None = None,
        group: str | None = None,
    ) -> None:
        """Store a transition made from `old`; JourneyError if the customer moved meanwhile. `data`
        keys are merged into the customer's document, `group` moves the household's VTN group."""
        async with self._db.transaction() as tx:
            rows = await tx.fetch(
                "UPDATE portal_customers SET step=?, since=?, left_from=? WHERE household_id=? AND step=?"
                " RETURNING data",
                (
                    new.step.value,
                    self._t(new.since),
                    new.left_from.value if new.left_from else None,
                    old.household_id,
                    old.step.value,
                ),
            )
            if not rows:
                raise JourneyError("the customer's journey changed meanwhile: reload and try again")
            if data:
                merged = {**json.loads(rows[0]["data"]), **data}
                await tx.execute(
                    "UPDATE portal_customers SET data=? WHERE household_id=?",
                    (json.dumps(merged), old.household_id),
                )
            if group is not None:
                await set_group(tx, old.household_id, group)
            await self._audit(tx, entry)

    async def update_data(self, household_id: str, data: Mapping[str, Any]) -> None:
        async with self._db.transaction() as tx:
            rows = await tx.fetch("SELECT data FROM portal_customers WHERE household_id=?", (household_id,))
            if not rows:
                raise LookupError(f"no customer {household_id!r}")
            merged = {**json.loads(rows[0]["data"]), **data}
            await tx.execute(
                "UPDATE portal_customers SET data=? WHERE household_id=?", (json.dumps(merged), household_id)
            )

    async def audit(self, household_id: str | None = None) -> list[AuditEntry]:
        rows = await self._rows("portal_audit", "household_id, seq", household_id=household_id)
        return [
            AuditEntry(
                household_id=r["household_id"],
                from_step=Step(r["from_step"]) if r["from_step"] else None,
                to_step=Step(r["to_step"]),
                actor=r["actor"],
                role=Role(r["role"]),
                at=self._rt(r["at"]),
                reason=r["reason"],
            )
            for r in rows
        ]

    async def change_category(self, change: CategoryChange) -> None:
        async with self._db.transaction() as tx:
            await self._category(tx, change)

    async def categories(self, household_id: str | None = None) -> list[CategoryChange]:
        rows = await self._rows("portal_categories", "household_id, seq", household_id=household_id)
        return [
            CategoryChange(
                household_id=r["household_id"],
                category=Category(r["category"]),
                vulnerable=bool(r["vulnerable"]),
                since=self._rt(r["since"]),
                reason=r["reason"],
                actor=r["actor"],
            )
            for r in rows
        ]

    # -- information sessions ----------------------------------------------------------------

    async def create_info_session(
        self, starts_at: datetime, mode: str, place: str, capacity: int, at: datetime
    ) -> str:
        if mode not in ("face_to_face", "online"):
            raise ValueError("mode must be face_to_face or online")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        session_id = f"is-{uuid.uuid4().hex[:10]}"
        await self._db.execute(
            "INSERT INTO portal_info_sessions (id, starts_at, mode, place, capacity, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (session_id, self._t(starts_at), mode, place, capacity, self._t(at)),
        )
        return session_id

    async def info_sessions(self) -> list[InfoSession]:
        rows = await self._db.fetch(
            "SELECT s.id, s.starts_at, s.mode, s.place, s.capacity, COUNT(b.household_id) AS booked"
            " FROM portal_info_sessions s LEFT JOIN portal_bookings b ON b.session_id = s.id"
            " GROUP BY s.id, s.starts_at, s.mode, s.place, s.capacity ORDER BY s.starts_at, s.id"
        )
        return [
            InfoSession(
                id=r["id"],
                starts_at=self._rt(r["starts_at"]),
                mode=r["mode"],
                place=r["place"],
                capacity=r["capacity"],
                booked=int(r["booked"]),
            )
            for r in rows
        ]

    async def book(self, session_id: str, household_id: str, at: datetime) -> None:
        """ValueError when the session is unknown, past or full, or the household has a booking."""
        async with self._db.transaction() as tx:
            rows = await tx.fetch(
                "UPDATE portal_info_sessions SET capacity=capacity WHERE id=? RETURNING capacity, starts_at",
                (session_id,),
            )  # locks the session row: bookings for it take turns
            if not rows:
                raise ValueError("no such information session")
            if self._rt(rows[0]["starts_at"]) <= at:
                raise ValueError("that session has already started")
            taken = await tx.fetch("SELECT COUNT(*) FROM portal_bookings WHERE session_id=?", (session_id,))
            if int(taken[0][0]) >= int(rows[0]["capacity"]):
                raise ValueError("that session is full: choose another")
            if await tx.fetch("SELECT 1 FROM portal_bookings WHERE household_id=?", (household_id,)):
                raise ValueError("you have already booked a session")
            await tx.execute(
                "INSERT INTO portal_bookings (session_id, household_id, booked_at) VALUES (?,?,?)",
                (session_id, household_id, self._t(at)),
            )

    async def cancel_booking(self, household_id: str) -> None:
        await self._db.execute("DELETE FROM portal_bookings WHERE household_id=?", (household_id,))

    async def booking(self, household_id: str) -> InfoSession | None:
        rows = await self._db.fetch(
            "SELECT session_id FROM portal_bookings WHERE household_id=?", (household_id,)
        )
        if not rows:
            return None
        return next((s for s in await self.info_sessions() if s.id == rows[0]["session_id"]), None)

    # -- skips, VEN provisioning --------------------------------------------------------------

    async def add_skip(self, event_id: str, household_id: str, at: datetime, reason: str) -> bool:
        """False if the household had already skipped the event."""
        changed = await self._db.execute(
            "INSERT OR IGNORE INTO portal_skips (event_id, household_id, at, reason) VALUES (?,?,?,?)",
            (event_id, household_id, self._t(at), reason),
        )
        return changed == 1

    async def remove_skip(self, event_id: str, household_id: str) -> None:
        """Undo add_skip (the household's VEN could not be told)."""
        await self._db.execute(
            "DELETE FROM portal_skips WHERE event_id=? AND household_id=?", (event_id, household_id)
        )

    async def skips(self, household_id: str) -> list[Skip]:
        rows = await self._db.fetch(
            "SELECT * FROM portal_skips WHERE household_id=? ORDER BY at", (household_id,)
        )
        return [
            Skip(
                event_id=r["event_id"],
                household_id=r["household_id"],
                at=self._rt(r["at"]),
                reason=r["reason"],
            )
            for r in rows
        ]

    async def provision_ven(
        self, household_id: str, ven_id: str, secret_hash: str, at: datetime, actor: str
    ) -> None:
        await self._db.execute(
            "INSERT INTO portal_vens (household_id, ven_id, secret_hash, provisioned_at, actor)"
            " VALUES (?,?,?,?,?)"
            " ON CONFLICT (household_id) DO UPDATE SET ven_id=excluded.ven_id,"
            " secret_hash=excluded.secret_hash, provisioned_at=excluded.provisioned_at, actor=excluded.actor",
            (household_id, ven_id, secret_hash, self._t(at), actor),
        )

    async def ven_of(self, household_id: str) -> str | None:
        rows = await self._db.fetch("SELECT ven_id FROM portal_vens WHERE household_id=?", (household_id,))
        return rows[0]["ven_id"] if rows else None
