"""The storage interface written once in SQL both backends understand: the primitives a backend
supplies, then households, VENs, events, OpenADR reports and readings (settlement is in sqlsettle.py).

Statements use `?` placeholders and the SQLite spelling `INSERT OR IGNORE`; a backend rewrites them for
its driver if it needs to (PostgresStorage turns them into `$n` and `ON CONFLICT DO NOTHING`). A backend
supplies the connection primitives and how it stores times and flags; everything else lives here.
Upsert batches are written in key order, so concurrent writers on a row-locking database cannot deadlock.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeAlias

from homeflex.core.domain import READING_SOURCES, Category, MeterReading
from homeflex.storage.base import OverlappingEventError
from homeflex.storage.records import (
    EventRecord,
    HouseholdRecord,
    RejectedReading,
    TargetRecord,
    VenRecord,
)

Row: TypeAlias = Any  # aiosqlite.Row or asyncpg.Record: both index by column name and by position
ReadingRow: TypeAlias = tuple[str, int, float, float, float, int, str]  # the readings table's columns

# A new reading is stored; one for a time already stored replaces it only if it is the meter's and the
# stored one an upload's (the first stored wins otherwise). A row changed counts as stored.
READING_UPSERT = (
    " ON CONFLICT (household_id, ts_ms) DO UPDATE SET import_wh=excluded.import_wh,"
    " export_wh=excluded.export_wh, power_w=excluded.power_w, received_ms=excluded.received_ms,"
    " source=excluded.source WHERE readings.source='upload' AND excluded.source='meter'"
)


def best_per_key(rows: Sequence[ReadingRow]) -> list[ReadingRow]:
    """One row per (household, ts), in key order: the first of the most trusted source given. A NaN
    row is dropped (it cannot be stored: NOT NULL). One statement then never meets a key twice."""
    best: dict[tuple[str, int], ReadingRow] = {}
    for row in rows:
        if any(isinstance(v, float) and math.isnan(v) for v in row):
            continue
        kept = best.get((row[0], row[1]))
        if kept is None or READING_SOURCES.index(row[6]) < READING_SOURCES.index(kept[6]):
            best[(row[0], row[1])] = row
    return [best[k] for k in sorted(best)]


def to_ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def evidence_json(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), separators=(",", ":"))


# An answer repeated (same answer, same modification) keeps the time it was first given: a VEN that
# re-sends its opt-in after the event started must not turn an opt-in given in time into a late one.
# SET expressions read the row as it was, on SQLite and PostgreSQL alike.
_RECORD_OPT = (
    "UPDATE event_targets SET acked_modification=?, opt_type=?,"
    " opt_at=CASE WHEN opt_type=? AND acked_modification=? AND opt_at IS NOT NULL THEN opt_at ELSE ? END"
    " WHERE event_id=? AND household_id=?"
)


class Transaction(Protocol):
    """Statements inside one open transaction."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class SqlBase(ABC):
    """The first half of homeflex.storage.base.Storage, over the primitives below."""

    # -- what a backend supplies ------------------------------------------------------------------

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def migrate(self) -> list[int]: ...

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own implicit transaction; returns the rows changed."""

    @abstractmethod
    def _transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction: committed on exit, rolled back on any exception."""

    @abstractmethod
    async def _insert_new_readings(self, rows: Sequence[ReadingRow]) -> int:
        """Insert the rows (one per key, in key order) with READING_UPSERT in one transaction;
        returns how many were stored (new, or a meter's replacing an upload's)."""

    @staticmethod
    @abstractmethod
    def _time(value: datetime) -> Any:
        """A datetime as this backend stores it."""

    @staticmethod
    @abstractmethod
    def _read_time(value: Any) -> datetime:
        """A stored time back to an aware UTC datetime."""

    @staticmethod
    @abstractmethod
    def _flag(value: bool) -> Any:
        """A boolean as this backend stores it."""

    def _opt_time(self, value: Any) -> datetime | None:
        return self._read_time(value) if value else None

    # -- the seam for stores that keep their own tables in this database (homeflex.portal) ---------
    # They write their own SQL on these primitives and share the platform's transactions, so the
    # Storage protocol does not grow a method for every portal table.

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._fetch(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own implicit transaction; returns the rows changed."""
        return await self._execute(sql, params)

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction: committed on exit, rolled back on any exception."""
        return self._transaction()

    def stored_time(self, value: datetime) -> Any:
        return self._time(value)

    def read_time(self, value: Any) -> datetime:
        return self._read_time(value)

    def stored_flag(self, value: bool) -> Any:
        return self._flag(value)

    # -- households and VENs -------------------------------------------------------------------

    async def upsert_household(self, h: HouseholdRecord, at: datetime) -> None:
        await self._execute(
            "INSERT INTO households (id, group_name, category, vulnerable, created_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET group_name=excluded.group_name, category=excluded.category,"
            " vulnerable=excluded.vulnerable",
            (h.id, h.group, h.category.value, self._flag(h.vulnerable), self._time(at)),
        )

    @staticmethod
    def _household(row: Row) -> HouseholdRecord:
        return HouseholdRecord(
            id=row["id"],
            group=row["group_name"],
            category=Category(row["category"]),
            vulnerable=bool(row["vulnerable"]),
        )

    async def get_household(self, household_id: str) -> HouseholdRecord | None:
        rows = await self._fetch("SELECT * FROM households WHERE id=?", (household_id,))
        return self._household(rows[0]) if rows else None

    async def list_households(self, group: str | None = None) -> list[HouseholdRecord]:
        if group is None:
            rows = await self._fetch("SELECT * FROM households ORDER BY id")
        else:
            rows = await self._fetch("SELECT * FROM households WHERE group_name=? ORDER BY id", (group,))
        return [self._household(r) for r in rows]

    async def save_ven(self, ven: VenRecord, at: datetime) -> None:
        await self._execute(
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
                self._time(at),
            ),
        )

    async def get_ven(self, ven_id: str) -> VenRecord | None:
        rows = await self._fetch("SELECT * FROM vens WHERE ven_id=?", (ven_id,))
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
        rows = await self._fetch("SELECT count(*) FROM vens")
        return int(rows[0][0])

    # -- events ----------------------------------------------------------------------------------

    def _event(self, row: Row) -> EventRecord:
        document = row["oadr3_document"]
        return EventRecord(
            event_id=row["event_id"],
            modification_number=row["modification_number"],
            status=row["status"],
            start=self._read_time(row["start"]),
            duration=timedelta(seconds=row["duration_s"]),
            reduction_kw=row["reduction_kw"],
            price_gbp_per_mwh=row["price_gbp_per_mwh"],
            created_at=self._read_time(row["created_at"]),
            programme_id=row["programme_id"],
            name=row["event_name"],
            modified_at=self._opt_time(row["modified_at"]),
            document=json.loads(document) if document else None,
        )

    def _event_columns(self, event: EventRecord) -> tuple[Any, ...]:
        """start, duration_s, reduction_kw, price_gbp_per_mwh, programme_id, event_name, oadr3_document,
        modified_at, ends_ms: what creating and modifying an event write."""
        return (
            self._time(event.start),
            int(event.duration.total_seconds()),
            event.reduction_kw,
            event.price_gbp_per_mwh,
            event.programme_id,
            event.name,
            None if event.document is None else json.dumps(event.document, separators=(",", ":")),
            None if event.modified_at is None else self._time(event.modified_at),
            to_ms(event.end),
        )

    # Statement that makes concurrent event creations take turns, so two cannot both pass the overlap
    # check (None where the backend's write transaction already does: SQLite's BEGIN IMMEDIATE).
    _EVENT_CREATION_LOCK: str | None = None

    async def create_event(self, event: EventRecord, household_ids: Iterable[str]) -> None:
        households = list(household_ids)
        async with self._transaction() as tx:
            if self._EVENT_CREATION_LOCK:
                await tx.execute(self._EVENT_CREATION_LOCK)
            await self._refuse_overlap(tx, event, households)
            await tx.execute(
                "INSERT INTO events (event_id, modification_number, status, created_at, start, duration_s,"
                " reduction_kw, price_gbp_per_mwh, programme_id, event_name, oadr3_document, modified_at,"
                " ends_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    event.event_id,
                    event.modification_number,
                    event.status,
                    self._time(event.created_at),
                    *self._event_columns(event),
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
            (self._time(event.end), self._time(event.start - timedelta(seconds=longest))),
        )
        wanted = set(households)
        for row in rows:
            if row[0] == event.event_id:
                continue
            if self._read_time(row["start"]) + timedelta(seconds=row["duration_s"]) <= event.start:
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
        rows = await self._fetch("SELECT * FROM events WHERE event_id=?", (event_id,))
        return self._event(rows[0]) if rows else None

    async def list_events(self) -> list[EventRecord]:
        return [self._event(r) for r in await self._fetch("SELECT * FROM events ORDER BY start, event_id")]

    async def live_events(self, now: datetime) -> list[EventRecord]:
        rows = await self._fetch(
            "SELECT * FROM events WHERE ends_ms > ? ORDER BY start, event_id", (to_ms(now),)
        )
        return [self._event(r) for r in rows]

    async def cancel_event(self, event_id: str, at: datetime) -> EventRecord | None:
        """Mark cancelled and bump the modification number, so VENs receive the change."""
        await self._execute(
            "UPDATE events SET status='cancelled', cancelled_at=?, modification_number=modification_number+1"
            " WHERE event_id=? AND status != 'cancelled'",
            (self._time(at), event_id),
        )
        return await self.get_event(event_id)

    async def event_targets(self, event_id: str) -> list[TargetRecord]:
        rows = await self._fetch(
            "SELECT * FROM event_targets WHERE event_id=? ORDER BY household_id", (event_id,)
        )
        return [self._target(r) for r in rows]

    async def household_events(self, household_id: str) -> list[tuple[EventRecord, TargetRecord]]:
        rows = await self._fetch(
            "SELECT e.*, t.household_id, t.sent_modification, t.acked_modification, t.opt_type, t.opt_at"
            " FROM event_targets t JOIN events e ON e.event_id = t.event_id"
            " WHERE t.household_id=? ORDER BY e.start DESC, e.event_id",
            (household_id,),
        )
        return [(self._event(r), self._target(r)) for r in rows]

    def _target(self, r: Row) -> TargetRecord:
        return TargetRecord(
            event_id=r["event_id"],
            household_id=r["household_id"],
            sent_modification=r["sent_modification"],
            acked_modification=r["acked_modification"],
            opt_type=r["opt_type"],
            opt_at=self._opt_time(r["opt_at"]),
        )

    async def events_for_poll(self, household_id: str, now: datetime) -> list[EventRecord]:
        """Events this VEN has not yet answered at their current modification and that have not ended."""
        rows = await self._fetch(
            "SELECT e.* FROM events e JOIN event_targets t ON t.event_id = e.event_id"
            " WHERE t.household_id=? AND (t.acked_modification IS NULL"
            " OR t.acked_modification < e.modification_number) ORDER BY e.start",
            (household_id,),
        )
        return [e for e in map(self._event, rows) if e.end > now]

    async def mark_sent(self, household_id: str, events: Sequence[EventRecord]) -> None:
        async with self._transaction() as tx:
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
        changed = await self._execute(
            _RECORD_OPT, self._opt_params((event_id, household_id, modification_number, opt_type, at))
        )
        return changed == 1

    def _opt_params(self, opt: tuple[str, str, int, str, datetime]) -> tuple[Any, ...]:
        event_id, household_id, modification, opt_type, at = opt
        return (modification, opt_type, opt_type, modification, self._time(at), event_id, household_id)

    async def mark_sent_many(self, sent: Sequence[tuple[str, str, int]]) -> None:
        """Deliveries at scale in one transaction (homeflex.vtn.poll group-commits them)."""
        async with self._transaction() as tx:
            await tx.executemany(
                "UPDATE event_targets SET sent_modification=? WHERE event_id=? AND household_id=?",
                [(m, e, h) for e, h, m in sorted(sent)],
            )

    async def record_opts(self, opts: Sequence[tuple[str, str, int, str, datetime]]) -> None:
        """Opt responses at scale in one transaction; a later response for the same pair wins."""
        async with self._transaction() as tx:
            ordered = sorted(opts, key=lambda r: r[:2])
            await tx.executemany(_RECORD_OPT, [self._opt_params(r) for r in ordered])

    async def claim_deliveries(
        self, event_id: str, modification_number: int, household_ids: Sequence[str]
    ) -> list[str]:
        """One conditional UPDATE per chunk: a row changes only if it was not sent this modification,
        so of several workers racing for it one wins (row lock on PostgreSQL, one writer on SQLite)."""
        claimed: list[str] = []
        ordered = sorted(household_ids)
        for i in range(0, len(ordered), 500):
            chunk = ordered[i : i + 500]
            rows = await self._fetch(
                "UPDATE event_targets SET sent_modification=? WHERE event_id=?"
                f" AND household_id IN ({','.join('?' * len(chunk))})"
                " AND (sent_modification IS NULL OR sent_modification < ?) RETURNING household_id",
                (modification_number, event_id, *chunk, modification_number),
            )
            claimed.extend(r[0] for r in rows)
        return sorted(claimed)

    async def save_push_url(self, ven_id: str, url: str | None, at: datetime) -> None:
        if url is None:
            await self._execute("DELETE FROM ven_push WHERE ven_id=?", (ven_id,))
            return
        await self._execute(
            "INSERT INTO ven_push (ven_id, url, registered_at) VALUES (?,?,?)"
            " ON CONFLICT (ven_id) DO UPDATE SET url=excluded.url, registered_at=excluded.registered_at",
            (ven_id, url, self._time(at)),
        )

    async def push_vens(self) -> dict[str, tuple[str, str]]:
        rows = await self._fetch(
            "SELECT v.household_id, v.ven_id, p.url FROM ven_push p JOIN vens v ON v.ven_id = p.ven_id"
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    # -- OpenADR reports -------------------------------------------------------------------------

    async def save_report_request(self, report_request_id: str, ven_id: str, at: datetime) -> None:
        await self._execute(
            "INSERT OR IGNORE INTO report_requests (report_request_id, ven_id, created_at) VALUES (?,?,?)",
            (report_request_id, ven_id, self._time(at)),
        )

    async def report_request_ven(self, report_request_id: str) -> str | None:
        rows = await self._fetch(
            "SELECT ven_id FROM report_requests WHERE report_request_id=?", (report_request_id,)
        )
        return rows[0][0] if rows else None

    async def save_ven_reports(
        self, ven_id: str, report_request_id: str, values: Sequence[tuple[str, datetime, float]], at: datetime
    ) -> None:
        rows = [(ven_id, r_id, to_ms(ts), value, report_request_id, to_ms(at)) for r_id, ts, value in values]
        async with self._transaction() as tx:
            await tx.executemany(
                "INSERT INTO ven_reports (ven_id, r_id, ts_ms, value, report_request_id, received_ms)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT (ven_id, r_id, ts_ms) DO UPDATE SET value=excluded.value,"
                " report_request_id=excluded.report_request_id, received_ms=excluded.received_ms",
                sorted(rows, key=lambda r: (r[1], r[2])),  # stable: of two equal keys the later still wins
            )

    async def ven_reports(self, ven_id: str) -> list[tuple[str, datetime, float]]:
        rows = await self._fetch(
            "SELECT r_id, ts_ms, value FROM ven_reports WHERE ven_id=? ORDER BY ts_ms", (ven_id,)
        )
        return [(r[0], from_ms(r[1]), r[2]) for r in rows]

    # -- readings --------------------------------------------------------------------------------

    async def insert_readings(self, readings: Sequence[MeterReading], received_at: datetime) -> int:
        """Insert in one transaction; a reading for an existing (household, ts) is a duplicate and the
        first one stored wins, unless it is the meter's and the stored one an upload's. Returns how many
        were stored."""
        fallback = to_ms(received_at)
        rows = [
            (
                r.household_id,
                to_ms(r.ts),
                r.import_wh,
                r.export_wh,
                r.power_w,
                to_ms(r.received_at) if r.received_at else fallback,
                r.source,
            )
            for r in readings
        ]
        return await self._insert_new_readings(best_per_key(rows))

    async def insert_rejected(self, rejected: Sequence[RejectedReading]) -> None:
        async with self._transaction() as tx:
            await tx.executemany(
                "INSERT INTO rejected_readings (household_id, topic, payload, reason, message, received_ms)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (r.household_id, r.topic, r.payload, r.reason, r.message, to_ms(r.received_at))
                    for r in rejected
                ],
            )

    async def readings(self, household_id: str, start: datetime, end: datetime) -> list[MeterReading]:
        rows = await self._fetch(
            "SELECT * FROM readings WHERE household_id=? AND ts_ms>=? AND ts_ms<=? ORDER BY ts_ms",
            (household_id, to_ms(start), to_ms(end)),
        )
        return [
            MeterReading(
                household_id=household_id,
                ts=from_ms(r["ts_ms"]),
                import_wh=r["import_wh"],
                export_wh=r["export_wh"],
                power_w=r["power_w"],
                received_at=from_ms(r["received_ms"]),
                source=r["source"],
            )
            for r in rows
        ]

    async def count_readings(self, household_id: str | None = None) -> int:
        if household_id is None:
            rows = await self._fetch("SELECT count(*) FROM readings")
        else:
            rows = await self._fetch("SELECT count(*) FROM readings WHERE household_id=?", (household_id,))
        return int(rows[0][0])

    async def rejected_readings(self) -> list[RejectedReading]:
        rows = await self._fetch("SELECT * FROM rejected_readings ORDER BY id")
        return [
            RejectedReading(
                household_id=r["household_id"],
                topic=r["topic"],
                payload=bytes(r["payload"]),
                reason=r["reason"],
                message=r["message"],
                received_at=from_ms(r["received_ms"]),
            )
            for r in rows
        ]
