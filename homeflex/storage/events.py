"""Events: created, modified and cancelled, with the households each targets; at most one scheduled
event per household at a time. What each VEN was sent and answered is in deliveries.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from homeflex.storage.errors import OverlappingEventError
from homeflex.storage.records import EventQuery, EventRecord
from homeflex.storage.sql import Database, Row, SqlRepository, Transaction, marks, to_ms


class EventStore(Protocol):
    async def create_event(self, event: EventRecord, household_ids: Iterable[str]) -> None:
        """Store an event and its target households atomically. OverlappingEventError, storing nothing,
        if any of those households is in another scheduled (not cancelled) event whose window overlaps
        this one's: a household is in one event at a time, so no half-hour is paid twice."""

    async def get_event(self, event_id: str) -> EventRecord | None:
        """One event, or None."""

    async def list_events(self) -> list[EventRecord]:
        """All events, ordered by start then id."""

    async def live_events(self, now: datetime) -> list[EventRecord]:
        """Events (cancelled ones too) that have not ended at `now`, ordered by start then id; an index
        lookup, so the VTN's poll state stays cheap with a long history of events."""

    async def cancel_event(self, event_id: str, at: datetime) -> EventRecord | None:
        """Mark cancelled and bump the modification number (once); returns the event as stored."""

    async def modify_event(self, event: EventRecord, household_ids: Sequence[str]) -> EventRecord | None:
        """Replace a scheduled event's window, payload, programme, name, document and targets atomically
        and bump its modification number; returns it as stored, or None if it is cancelled or unknown."""

    async def events_page(self, query: EventQuery) -> list[tuple[EventRecord, list[str]]]:
        """A page of scheduled events with their targeted households (ordered), by start then id."""

    async def events_ending_between(self, start: datetime, end: datetime) -> list[EventRecord]:
        """Events whose window ends in [start, end)."""


def event_of(db: Database, row: Row) -> EventRecord:
    document = row["oadr3_document"]
    return EventRecord(
        event_id=row["event_id"],
        modification_number=row["modification_number"],
        status=row["status"],
        start=db.read_time(row["start"]),
        duration=timedelta(seconds=row["duration_s"]),
        reduction_kw=row["reduction_kw"],
        price_gbp_per_mwh=row["price_gbp_per_mwh"],
        created_at=db.read_time(row["created_at"]),
        programme_id=row["programme_id"],
        name=row["event_name"],
        modified_at=db.opt_time(row["modified_at"]),
        document=json.loads(document) if document else None,
    )


def event_columns(db: Database, event: EventRecord) -> tuple[Any, ...]:
    """start, duration_s, reduction_kw, price_gbp_per_mwh, programme_id, event_name, oadr3_document,
    modified_at, ends_ms: what creating and modifying an event write."""
    return (
        db.time(event.start),
        int(event.duration.total_seconds()),
        event.reduction_kw,
        event.price_gbp_per_mwh,
        event.programme_id,
        event.name,
        None if event.document is None else json.dumps(event.document, separators=(",", ":")),
        None if event.modified_at is None else db.time(event.modified_at),
        to_ms(event.end),
    )


class SqlEvents(SqlRepository):
    async def create_event(self, event: EventRecord, household_ids: Iterable[str]) -> None:
        households = list(household_ids)
        async with self.db.transaction() as tx:
            if self.db.event_creation_lock:
                await tx.execute(self.db.event_creation_lock)
            await self._refuse_overlap(tx, event, households)
            await tx.execute(
                "INSERT INTO events (event_id, modification_number, status, created_at, start, duration_s,"
                " reduction_kw, price_gbp_per_mwh, programme_id, event_name, oadr3_document, modified_at,"
                " ends_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    event.event_id,
                    event.modification_number,
                    event.status,
                    self.db.time(event.created_at),
                    *event_columns(self.db, event),
                ),
            )
            await tx.executemany(
                "INSERT INTO event_targets (event_id, household_id) VALUES (?,?)",
                [(event.event_id, h) for h in households],
            )

    async def _refuse_overlap(self, tx: Transaction, event: EventRecord, households: list[str]) -> None:
        """OverlappingEventError if a household is already in a scheduled event overlapping `event`
        (other than `event` itself, when it is being modified)."""
        longest = (await tx.fetch("SELECT max(duration_s) FROM events WHERE status='scheduled'"))[0][0]
        if longest is None:
            return
        rows = await tx.fetch(
            "SELECT event_id, start, duration_s FROM events WHERE status='scheduled' AND start < ?"
            " AND start > ? ORDER BY start",
            (self.db.time(event.end), self.db.time(event.start - timedelta(seconds=longest))),
        )
        wanted = set(households)
        for row in rows:
            if row[0] == event.event_id:
                continue
            if self.db.read_time(row["start"]) + timedelta(seconds=row["duration_s"]) <= event.start:
                continue
            targets = await tx.fetch("SELECT household_id FROM event_targets WHERE event_id=?", (row[0],))
            clash = sorted(wanted.intersection(r[0] for r in targets))
            if clash:
                named = ", ".join(clash[:5]) + (f" and {len(clash) - 5} more" if len(clash) > 5 else "")
                raise OverlappingEventError(
                    f"{named} already in event {row[0]} at that time: a household takes part in one"
                    " event at a time (cancel that event first, or leave these households out)"
                )

    async def get_event(self, event_id: str) -> EventRecord | None:
        rows = await self.db.fetch("SELECT * FROM events WHERE event_id=?", (event_id,))
        return event_of(self.db, rows[0]) if rows else None

    async def list_events(self) -> list[EventRecord]:
        return [
            event_of(self.db, r) for r in await self.db.fetch("SELECT * FROM events ORDER BY start, event_id")
        ]

    async def live_events(self, now: datetime) -> list[EventRecord]:
        rows = await self.db.fetch(
            "SELECT * FROM events WHERE ends_ms > ? ORDER BY start, event_id", (to_ms(now),)
        )
        return [event_of(self.db, r) for r in rows]

    async def cancel_event(self, event_id: str, at: datetime) -> EventRecord | None:
        """Mark cancelled and bump the modification number, so VENs receive the change."""
        await self.db.execute(
            "UPDATE events SET status='cancelled', cancelled_at=?, modification_number=modification_number+1"
            " WHERE event_id=? AND status != 'cancelled'",
            (self.db.time(at), event_id),
        )
        return await self.get_event(event_id)

    async def modify_event(self, event: EventRecord, household_ids: Sequence[str]) -> EventRecord | None:
        """Replace a scheduled event's window, payload, program, name and document and its targets, and
        bump its modification number, so every VEN (2.0b and 3.1) receives the modification; a target that
        stays keeps its answer row (with an older modification it is asked again). None if the event is
        cancelled or unknown."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT modification_number FROM events WHERE event_id=? AND status='scheduled'",
                (event.event_id,),
            )
            if not rows:
                return None
            if self.db.event_creation_lock:
                await tx.execute(self.db.event_creation_lock)
            # A modified window is held to the same rule as a new one: one event at a time per household.
            await self._refuse_overlap(tx, event, list(household_ids))
            await tx.execute(
                "UPDATE events SET start=?, duration_s=?, reduction_kw=?, price_gbp_per_mwh=?,"
                " programme_id=?, event_name=?, oadr3_document=?, modified_at=?, ends_ms=?,"
                " modification_number=modification_number+1 WHERE event_id=?",
                (*event_columns(self.db, event), event.event_id),
            )
            old = {
                r["household_id"]
                for r in await tx.fetch(
                    "SELECT household_id FROM event_targets WHERE event_id=?", (event.event_id,)
                )
            }
            gone = sorted(old - set(household_ids))
            if gone:
                await tx.execute(
                    f"DELETE FROM event_targets WHERE event_id=? AND household_id IN ({marks(gone)})",
                    (event.event_id, *gone),
                )
            await tx.executemany(
                "INSERT INTO event_targets (event_id, household_id) VALUES (?,?)",
                [(event.event_id, h) for h in sorted(set(household_ids) - old)],
            )
        return await self.get_event(event.event_id)

    async def _targets_clause(self, targets: Sequence[str]) -> str:
        """The any-of targets filter (households or groups), with `targets` twice as its parameters.

        A few households' events are best found from the household index and looked up by key (IN); a
        group's are many, and walking the events in start order until the page is full (EXISTS) beats
        sorting them all. Which one is told by whether any target is a group."""
        listed = marks(targets)
        group = await self.db.fetch(
            f"SELECT 1 FROM households WHERE group_name IN ({listed}) LIMIT 1", targets
        )
        if group:
            return (
                "EXISTS (SELECT 1 FROM event_targets t JOIN households h ON h.id=t.household_id"
                f" WHERE t.event_id=e.event_id"
                f" AND (t.household_id IN ({listed}) OR h.group_name IN ({listed})))"
            )
        return (
            "e.event_id IN (SELECT t.event_id FROM event_targets t"
            f" WHERE t.household_id IN ({listed}) OR t.household_id IN ({listed}))"  # (same parameters)
        )

    async def events_page(self, query: EventQuery) -> list[tuple[EventRecord, list[str]]]:
        """A page of scheduled (not cancelled) events with their targeted households, in (start, id)
        order; every filter is in the WHERE clause, so the page costs the same with 100,000 events."""
        where: list[str] = ["e.status='scheduled'"]
        params: list[Any] = []
        if query.program_ids:
            where.append(f"e.programme_id IN ({marks(query.program_ids)})")
            params += list(query.program_ids)
        if query.ended_after is not None:
            where.append("e.ends_ms > ?")
            params.append(to_ms(query.ended_after))
        if query.started_after is not None:
            where.append("e.start > ?")
            params.append(self.db.time(query.started_after))
        if query.targets:
            where.append(await self._targets_clause(query.targets))
            params += [*query.targets, *query.targets]
        if query.visible_to is not None:
            if not query.visible_to:
                return []
            where.append(
                "e.event_id IN (SELECT v.event_id FROM event_targets v"
                f" WHERE v.household_id IN ({marks(query.visible_to)}))"
            )
            params += list(query.visible_to)
        rows = await self.db.fetch(
            f"SELECT e.* FROM events e WHERE {' AND '.join(where)} ORDER BY e.start, e.event_id"
            " LIMIT ? OFFSET ?",
            (*params, query.limit, query.skip),
        )
        events = [event_of(self.db, r) for r in rows]
        if not events:
            return []
        ids = [e.event_id for e in events]
        targets: dict[str, list[str]] = {i: [] for i in ids}
        for r in await self.db.fetch(
            f"SELECT event_id, household_id FROM event_targets WHERE event_id IN ({marks(ids)})"
            " ORDER BY household_id",
            ids,
        ):
            targets[r["event_id"]].append(r["household_id"])
        return [(e, targets[e.event_id]) for e in events]

    async def events_ending_between(self, start: datetime, end: datetime) -> list[EventRecord]:
        """Events whose window ends in [start, end); compared in Python (end = start + duration)."""
        return [e for e in await self.list_events() if start <= e.end < end]
