"""Ingestion throughput: readings into the store, beside raw sqlite3.executemany on the same rows; and
readings over MQTT into committed rows through the real Ingestor.

`python -m bench ingest [--readings 300000] [--batch 10000] [--mqtt-readings 100000]`
"""

from __future__ import annotations

import asyncio
import platform
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import append_section
from homeflex.core import topics
from homeflex.core.clock import WallClock, perf_seconds
from homeflex.core.domain import Category, MeterReading
from homeflex.core.timeutil import iso
from homeflex.metering.ingest import Ingestor
from homeflex.mqtt import MqttSession
from homeflex.mqtt.broker import find_mosquitto, mosquitto
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCHEMA = (
    "CREATE TABLE readings (household_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, import_wh REAL NOT NULL,"
    " export_wh REAL NOT NULL, power_w REAL NOT NULL, received_ms INTEGER NOT NULL,"
    " PRIMARY KEY (household_id, ts_ms)) WITHOUT ROWID"
)


@dataclass(frozen=True, kw_only=True)
class Options:
    readings: int = 300_000
    batch: int = 10_000
    households: int = 1_000
    mqtt_readings: int = 100_000
    mqtt_chunk: int = 100  # readings per MQTT message (a meter's backlog upload)
    results: Path | None = None


def make_readings(n: int, households: int) -> list[MeterReading]:
    """n readings spread over households, 10 s apart per household (like a live meter)."""
    per = -(-n // households)
    return [
        MeterReading(
            household_id=f"hh{h:05d}",
            ts=T0 + timedelta(seconds=10 * i),
            import_wh=float(i),
            export_wh=0.0,
            power_w=360.0,
            received_at=T0,
        )
        for h in range(households)
        for i in range(per)
    ][:n]


async def store_rate(readings: list[MeterReading], batch: int, folder: Path) -> float:
    storage = await SQLiteStorage.open(folder / "store.db")
    try:
        start = perf_seconds()
        for i in range(0, len(readings), batch):
            await storage.insert_readings(readings[i : i + batch], T0)
        elapsed = perf_seconds() - start
        assert await storage.count_readings() == len(readings)
    finally:
        await storage.close()
    return len(readings) / elapsed


def raw_rate(readings: list[MeterReading], batch: int, folder: Path) -> float:
    """The same rows, the same table and pragmas, with sqlite3.executemany and nothing else."""
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(SCHEMA)
    received = round(T0.timestamp() * 1000)
    rows = [
        (r.household_id, round(r.ts.timestamp() * 1000), r.import_wh, r.export_wh, r.power_w, received)
        for r in readings
    ]
    start = perf_seconds()
    for i in range(0, len(rows), batch):
        db.execute("BEGIN")
        db.executemany("INSERT OR IGNORE INTO readings VALUES (?,?,?,?,?,?)", rows[i : i + batch])
        db.execute("COMMIT")
    elapsed = perf_seconds() - start
    db.close()
    return len(rows) / elapsed


async def mqtt_rate(options: Options, url: str, folder: Path) -> tuple[float, float]:
    """(readings/s, messages/s) from the first publish to the last reading committed."""
    storage = await SQLiteStorage.open(folder / "mqtt.db")
    households = 50
    for h in range(households):
        await storage.upsert_household(HouseholdRecord(id=f"m{h:03d}", group="g", category=Category.C), T0)
    per = options.mqtt_readings // households
    now = WallClock().now()
    messages = [
        (
            topics.meter_history(f"m{h:03d}"),
            [
                {
                    "ts": iso(now - timedelta(seconds=10 * (per - i))),
                    "import_wh": float(i),
                    "export_wh": 0.0,
                    "power_w": 100.0,
                }
                for i in range(k, min(k + options.mqtt_chunk, per))
            ],
        )
        for h in range(households)
        for k in range(0, per, options.mqtt_chunk)
    ]
    total = sum(len(m[1]) for m in messages)
    try:
        async with (
            Ingestor(storage, WallClock(), url, batch_size=options.batch) as ingestor,
            MqttSession(url, "bench-meters") as meters,
        ):
            start = perf_seconds()
            async with asyncio.timeout(300):
                await asyncio.gather(*(meters.publish(t, p, qos=1) for t, p in messages))
                while ingestor.counters.stored + ingestor.counters.duplicates < total:
                    await asyncio.sleep(0.01)
                    await ingestor.flush()
            elapsed = perf_seconds() - start
        assert await storage.count_readings() == total
    finally:
        await storage.close()
    return total / elapsed, len(messages) / elapsed


async def main(options: Options) -> int:
    readings = make_readings(options.readings, options.households)
    with tempfile.TemporaryDirectory(prefix="homeflex-bench-") as tmp:
        folder = Path(tmp)
        store = await store_rate(readings, options.batch, folder)
        raw = raw_rate(readings, options.batch, folder)
        binary = find_mosquitto()
        if binary is None:
            raise SystemExit("mosquitto is needed for the MQTT part")
        async with mosquitto(binary) as url:
            mqtt_readings, mqtt_messages = await mqtt_rate(options, url, folder)
    lines = [
        f"## ingest — {WallClock().now():%Y-%m-%d %H:%M} UTC",
        "",
        f"- {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL; private mosquitto (set_tcp_nodelay)",
        f"- {options.readings} readings from {options.households} households, batches of {options.batch}",
        "",
        "| path | readings/s |",
        "|---|---:|",
        f"| store: SQLiteStorage.insert_readings | {store:,.0f} |",
        f"| reference: raw sqlite3.executemany, same table and rows | {raw:,.0f} |",
        f"| MQTT -> Ingestor -> committed rows ({options.mqtt_chunk} readings/message, QoS 1) "
        f"| {mqtt_readings:,.0f} ({mqtt_messages:,.0f} messages/s) |",
        "",
        f"- store / raw = {store / raw:.2f} (goal >= 0.5); store goal >= 100,000 readings/s: "
        f"{'MET' if store >= 100_000 else 'MISSED'}",
        "",
    ]
    print("\n".join(lines))
    if options.results is not None:
        append_section(options.results, "\n".join(lines))
    return 0
