"""MQTT ingestion against the real broker and a real database: bad readings are recorded with their
reason and ingestion goes on; duplicates are stored once; nothing acknowledged is lost on shutdown."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from homeflex.core import topics
from homeflex.core.clock import ManualClock
from homeflex.core.domain import Category
from homeflex.core.timeutil import iso
from homeflex.metering.ingest import Ingestor
from homeflex.mqtt import MqttSession
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def reading(minutes: int, import_wh: float) -> dict[str, object]:
    return {
        "ts": iso(NOW - timedelta(minutes=minutes)),
        "import_wh": import_wh,
        "export_wh": 0.0,
        "power_w": 500.0,
    }


async def wait_counted(ingestor: Ingestor, n: int) -> None:
    async with asyncio.timeout(5):
        while ingestor.counters.received < n:
            await asyncio.sleep(0.02)
    await ingestor.flush()


async def test_bad_readings_are_recorded_and_ingestion_goes_on(
    private_mqtt_url: str, storage: SQLiteStorage, uid: str
) -> None:
    hh = f"ing{uid}"
    await storage.upsert_household(HouseholdRecord(id=hh, group="g", category=Category.C), NOW)
    labels = {"reason": "impossible_value"}
    impossible_before = REGISTRY.get_sample_value("homeflex_readings_rejected_total", labels)
    async with (
        Ingestor(storage, ManualClock(NOW), private_mqtt_url) as ingestor,
        MqttSession(private_mqtt_url, f"meter-{uid}") as meter,
    ):
        topic = topics.meter_reading(hh)
        await meter.publish(topic, reading(3, 100.0))
        await meter.publish(topic, b"{not json")
        await meter.publish(topic, {**reading(2, 110.0), "power_w": 10_000_000})  # 10 MW in a house
        await meter.publish(topic, {**reading(2, 110.0), "ts": "2026-11-25T11:58:00"})  # naive
        await meter.publish(topic, reading(1, 120.0))
        await meter.publish(topic, reading(1, 120.0))  # a duplicate
        await meter.publish(topics.meter_reading(f"stranger{uid}"), reading(1, 5.0))  # unknown meter
        await wait_counted(ingestor, 7)
    assert await storage.count_readings(hh) == 2
    assert (ingestor.counters.stored, ingestor.counters.duplicates, ingestor.counters.rejected) == (2, 1, 4)
    rejected = await storage.rejected_readings()
    assert [r.reason for r in rejected] == [
        "malformed",
        "impossible_value",
        "naive_timestamp",
        "unknown_meter",
    ]
    assert rejected[0].payload == b"{not json"
    impossible_after = REGISTRY.get_sample_value(
        "homeflex_readings_rejected_total", {"reason": "impossible_value"}
    )
    assert (impossible_after or 0) - (impossible_before or 0) == 1
    assert all(r.message for r in rejected)


async def test_history_backlog_keeps_good_items_and_records_bad_ones(
    private_mqtt_url: str, storage: SQLiteStorage, uid: str
) -> None:
    hh = f"hist{uid}"
    await storage.upsert_household(HouseholdRecord(id=hh, group="g", category=Category.C), NOW)
    backlog = [reading(60, 10.0), {"ts": "yesterday"}, reading(30, 20.0), reading(0, 30.0)]
    async with (
        Ingestor(storage, ManualClock(NOW), private_mqtt_url) as ingestor,
        MqttSession(private_mqtt_url, f"meter-{uid}") as meter,
    ):
        await meter.publish(topics.meter_history(hh), backlog)
        await meter.publish(topics.meter_history(hh), b'{"not": "a list"}')
        await wait_counted(ingestor, 5)
    stored = await storage.readings(hh, NOW - timedelta(hours=2), NOW)
    assert [r.import_wh for r in stored] == [10.0, 20.0, 30.0]
    reasons = [r.reason for r in await storage.rejected_readings()]
    assert sorted(reasons) == ["malformed", "missing_field"]  # a non-list backlog; an item without fields


async def test_readings_pending_at_shutdown_are_written(
    private_mqtt_url: str, storage: SQLiteStorage, uid: str
) -> None:
    hh = f"flush{uid}"
    await storage.upsert_household(HouseholdRecord(id=hh, group="g", category=Category.C), NOW)
    ingestor = Ingestor(storage, ManualClock(NOW), private_mqtt_url, batch_size=10_000, flush_s=3600)
    async with ingestor, MqttSession(private_mqtt_url, f"meter-{uid}") as meter:
        for i in range(50):
            await meter.publish(topics.meter_reading(hh), json.dumps(reading(50 - i, float(i))))
        async with asyncio.timeout(5):
            while ingestor.counters.received < 50:
                await asyncio.sleep(0.02)
    assert await storage.count_readings(hh) == 50
