"""What each VEN was sent of an event and what it answered (the event_targets rows): polls, pushes,
opt responses, and the claims that make one worker deliver each modification once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from homeflex.storage.events import event_of
from homeflex.storage.records import EventRecord, TargetRecord
from homeflex.storage.sql import Database, Row, SqlRepository


class DeliveryStore(Protocol):
    async def event_targets(self, event_id: str) -> list[TargetRecord]:
        """The event's targets with what each VEN was sent and answered, ordered by household."""

    async def household_events(self, household_id: str) -> list[tuple[EventRecord, TargetRecord]]:
        """Every event targeting the household with its target row (answer, what was sent), newest first."""

    async def events_for_poll(self, household_id: str, now: datetime) -> list[EventRecord]:
        """Events this VEN has not answered at their current modification and that have not ended."""

    async def mark_sent(self, household_id: str, events: Sequence[EventRecord]) -> None:
        """Record which modification of each event was sent to the household's VEN."""

    async def record_opt(
        self, event_id: str, household_id: str, modification_number: int, opt_type: str, at: datetime
    ) -> bool:
        """Store a VEN's opt response; False if the event is not targeted at that household."""

    async def mark_sent_many(self, sent: Sequence[tuple[str, str, int]]) -> None:
        """Many (event_id, household_id, modification_number) deliveries in one transaction."""

    async def record_opts(self, opts: Sequence[tuple[str, str, int, str, datetime]]) -> None:
        """Many (event_id, household_id, modification_number, opt_type, at) responses in one transaction;
        the caller has checked that each event targets that household (a row that does not is a no-op)."""

    async def claim_deliveries(
        self, event_id: str, modification_number: int, household_ids: Sequence[str]
    ) -> list[str]:
        """Mark the modification sent to those households that had not been sent it yet; returns them.
        Of several workers claiming the same household at once, exactly one gets it."""


# An answer repeated (same answer, same modification) keeps the time it was first given: a VEN that
# re-sends its opt-in after the event started must not turn an opt-in given in time into a late one.
# SET expressions read the row as it was, on SQLite and PostgreSQL alike.
_RECORD_OPT = (
    "UPDATE event_targets SET acked_modification=?, opt_type=?,"
    " opt_at=CASE WHEN opt_type=? AND acked_modification=? AND opt_at IS NOT NULL THEN opt_at ELSE ? END"
    " WHERE event_id=? AND household_id=?"
)


def target_of(db: Database, r: Row) -> TargetRecord:
    return TargetRecord(
        event_id=r["event_id"],
        household_id=r["household_id"],
        sent_modification=r["sent_modification"],
        acked_modification=r["acked_modification"],
        opt_type=r["opt_type"],
        opt_at=db.opt_time(r["opt_at"]),
    )


def opt_params(db: Database, opt: tuple[str, str, int, str, datetime]) -> tuple[Any, ...]:
    event_id, household_id, modification, opt_type, at = opt
    return (modification, opt_type, opt_type, modification, db.time(at), event_id, household_id)


class SqlDeliveries(SqlRepository):
    async def event_targets(self, event_id: str) -> list[TargetRecord]:
        rows = await self.db.fetch(
            "SELECT * FROM event_targets WHERE event_id=? ORDER BY household_id", (event_id,)
        )
        return [target_of(self.db, r) for r in rows]

    async def household_events(self, household_id: str) -> list[tuple[EventRecord, TargetRecord]]:
        rows = await self.db.fetch(
            "SELECT e.*, t.household_id, t.sent_modification, t.acked_modification, t.opt_type, t.opt_at"
            " FROM event_targets t JOIN events e ON e.event_id = t.event_id"
            " WHERE t.household_id=? ORDER BY e.start DESC, e.event_id",
            (household_id,),
        )
        return [(event_of(self.db, r), target_of(self.db, r)) for r in rows]

    async def events_for_poll(self, household_id: str, now: datetime) -> list[EventRecord]:
        """Events this VEN has not yet answered at their current modification and that have not ended."""
        rows = await self.db.fetch(
            "SELECT e.* FROM events e JOIN event_targets t ON t.event_id = e.event_id"
            " WHERE t.household_id=? AND (t.acked_modification IS NULL"
            " OR t.acked_modification < e.modification_number) ORDER BY e.start",
            (household_id,),
        )
        return [e for e in (event_of(self.db, r) for r in rows) if e.end > now]

    async def mark_sent(self, household_id: str, events: Sequence[EventRecord]) -> None:
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE event_targets SET sent_modification=? WHERE event_id=? AND household_id=?",
                sorted(
                    ((e.modification_number, e.event_id, household_id) for e in events), key=lambda p: p[1]
                ),
            )

    async def record_opt(
        self, event_id: str, household_id: str, modification_number: int, opt_type: str, at: datetime
    ) -> bool:
        """Store a VEN's opt response; False if the event is not targeted at that household."""
        changed = await self.db.execute(
            _RECORD_OPT, opt_params(self.db, (event_id, household_id, modification_number, opt_type, at))
        )
        return changed == 1

    async def mark_sent_many(self, sent: Sequence[tuple[str, str, int]]) -> None:
        """Deliveries at scale in one transaction (homeflex.vtn.poll group-commits them)."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE event_targets SET sent_modification=? WHERE event_id=? AND household_id=?",
                [(m, e, h) for e, h, m in sorted(sent)],
            )

    async def record_opts(self, opts: Sequence[tuple[str, str, int, str, datetime]]) -> None:
        """Opt responses at scale in one transaction; a later response for the same pair wins."""
        async with self.db.transaction() as tx:
            ordered = sorted(opts, key=lambda r: r[:2])
            await tx.executemany(_RECORD_OPT, [opt_params(self.db, r) for r in ordered])

    async def claim_deliveries(
        self, event_id: str, modification_number: int, household_ids: Sequence[str]
    ) -> list[str]:
        """One conditional UPDATE per chunk: a row changes only if it was not sent this modification,
        so of several workers racing for it one wins (row lock on PostgreSQL, one writer on SQLite)."""
        claimed: list[str] = []
        ordered = sorted(household_ids)
        for i in range(0, len(ordered), 500):
            chunk = ordered[i : i + 500]
            rows = await self.db.fetch(
                "UPDATE event_targets SET sent_modification=? WHERE event_id=?"
                f" AND household_id IN ({','.join('?' * len(chunk))})"
                " AND (sent_modification IS NULL OR sent_modification < ?) RETURNING household_id",
                (modification_number, event_id, *chunk, modification_number),
            )
            claimed.extend(r[0] for r in rows)
        return sorted(claimed)
