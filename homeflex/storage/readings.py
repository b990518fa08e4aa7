"""Meter readings and the readings validation rejected. A reading for a time already stored is a
duplicate: the first stored wins, unless it is the meter's and the stored one an upload's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeAlias

from homeflex.core.domain import READING_SOURCES, MeterReading
from homeflex.storage.records import RejectedReading
from homeflex.storage.sql import Column, SqlRepository, from_ms, to_ms

ReadingRow: TypeAlias = tuple[str, int, float, float, float, int, str]  # the readings table's columns
READING_COLUMNS: tuple[Column, ...] = (
    ("household_id", "text"),
    ("ts_ms", "bigint"),
    ("import_wh", "float8"),
    ("export_wh", "float8"),
    ("power_w", "float8"),
    ("received_ms", "bigint"),
    ("source", "text"),
)

# A new reading is stored; one for a time already stored replaces it only if it is the meter's and the
# stored one an upload's (the first stored wins otherwise). A row changed counts as stored.
READING_UPSERT = (
    " ON CONFLICT (household_id, ts_ms) DO UPDATE SET import_wh=excluded.import_wh,"
    " export_wh=excluded.export_wh, power_w=excluded.power_w, received_ms=excluded.received_ms,"
    " source=excluded.source WHERE readings.source='upload' AND excluded.source='meter'"
)


class ReadingStore(Protocol):
    async def insert_readings(self, readings: Sequence[MeterReading], received_at: datetime) -> int:
        """Insert atomically; duplicates by (household, ts) are ignored, the first stored wins.
        Returns how many were new."""

    async def insert_rejected(self, rejected: Sequence[RejectedReading]) -> None:
        """Keep readings that failed validation, with the reason."""

    async def readings(self, household_id: str, start: datetime, end: datetime) -> list[MeterReading]:
        """A household's readings measured in [start, end] (both inclusive), oldest first."""

    async def count_readings(self, household_id: str | None = None) -> int:
        """How many readings are stored (for one household if given)."""

    async def rejected_readings(self) -> list[RejectedReading]:
        """Every rejected reading, in the order stored."""


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


class SqlReadings(SqlRepository):
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
        return await self.db.insert_rows("readings", READING_COLUMNS, best_per_key(rows), READING_UPSERT)

    async def insert_rejected(self, rejected: Sequence[RejectedReading]) -> None:
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO rejected_readings (household_id, topic, payload, reason, message, received_ms)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (r.household_id, r.topic, r.payload, r.reason, r.message, to_ms(r.received_at))
                    for r in rejected
                ],
            )

    async def readings(self, household_id: str, start: datetime, end: datetime) -> list[MeterReading]:
        rows = await self.db.fetch(
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
            rows = await self.db.fetch("SELECT count(*) FROM readings")
        else:
            rows = await self.db.fetch("SELECT count(*) FROM readings WHERE household_id=?", (household_id,))
        return int(rows[0][0])

    async def rejected_readings(self) -> list[RejectedReading]:
        rows = await self.db.fetch("SELECT * FROM rejected_readings ORDER BY id")
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
