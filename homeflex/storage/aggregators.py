"""Aggregators and their portfolios in shared SQL (migration 0009)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from homeflex.storage.records import AggregatorRecord, PortfolioMember
from homeflex.storage.sql import Row, SqlRepository


class AggregatorStore(Protocol):
    """Aggregators: one VEN for a portfolio of households."""

    async def save_aggregator(self, aggregator: AggregatorRecord, at: datetime) -> None:
        """Create an aggregator (its id a household) or replace its name and portfolio, atomically;
        fails, changing nothing, if a member is in another portfolio or is not a household."""

    async def get_aggregator(self, aggregator_id: str) -> AggregatorRecord | None:
        """One aggregator with its members (by household id), or None."""

    async def list_aggregators(self) -> list[AggregatorRecord]:
        """Every aggregator with its members, ordered by id."""


class SqlAggregators(SqlRepository):
    async def save_aggregator(self, aggregator: AggregatorRecord, at: datetime) -> None:
        """Create an aggregator or replace its name and portfolio, atomically. The aggregator and its
        members must be households; a member of another portfolio makes it fail (nothing changes)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO aggregators (id, name, created_at) VALUES (?,?,?)"
                " ON CONFLICT (id) DO UPDATE SET name=excluded.name",
                (aggregator.id, aggregator.name, self.db.time(at)),
            )
            await tx.execute("DELETE FROM portfolio_members WHERE aggregator_id=?", (aggregator.id,))
            await tx.executemany(
                "INSERT INTO portfolio_members (aggregator_id, household_id, offered_kw, joined_at)"
                " VALUES (?,?,?,?)",
                [
                    (aggregator.id, m.household_id, m.offered_kw, self.db.time(at))
                    for m in sorted(aggregator.members, key=lambda m: m.household_id)
                ],
            )

    async def list_aggregators(self) -> list[AggregatorRecord]:
        aggregators = await self.db.fetch("SELECT id, name FROM aggregators ORDER BY id")
        members = await self.db.fetch(
            "SELECT aggregator_id, household_id, offered_kw FROM portfolio_members"
            " ORDER BY aggregator_id, household_id"
        )
        return [self._aggregator(a, members) for a in aggregators]

    async def get_aggregator(self, aggregator_id: str) -> AggregatorRecord | None:
        rows = await self.db.fetch("SELECT id, name FROM aggregators WHERE id=?", (aggregator_id,))
        if not rows:
            return None
        members = await self.db.fetch(
            "SELECT aggregator_id, household_id, offered_kw FROM portfolio_members"
            " WHERE aggregator_id=? ORDER BY household_id",
            (aggregator_id,),
        )
        return self._aggregator(rows[0], members)

    @staticmethod
    def _aggregator(row: Row, members: list[Row]) -> AggregatorRecord:
        return AggregatorRecord(
            id=row["id"],
            name=row["name"],
            members=tuple(
                PortfolioMember(household_id=m["household_id"], offered_kw=float(m["offered_kw"]))
                for m in members
                if m["aggregator_id"] == row["id"]
            ),
        )
