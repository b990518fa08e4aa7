"""`homeflex telemetry` (on a SQLite file and on PostgreSQL) is killed (SIGKILL) while a meter streams
readings, then started again.

Acknowledged means: the broker answered the meter's QoS 1 publish with PUBACK. Telemetry holds a
persistent session and acks each reading to the broker only after the batch holding it is committed,
so whatever the broker acknowledged is either in the store or still queued at the broker for the
restarted process. The test checks that every acknowledged reading ends up stored, once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from homeflex.core import topics
from homeflex.core.clock import WallClock
from homeflex.core.timeutil import iso
from homeflex.mqtt import MqttSession
from homeflex.mqtt.broker import free_port
from homeflex.storage import Storage, open_storage
from tests.reliability.brokers import Mosquitto
from tests.reliability.helpers import Service, enrol, until

READINGS = 1500


async def test_every_acknowledged_reading_survives_a_killed_writer(
    tmp_path: Path, uid: str, database_url: str
) -> None:
    hh = f"kill{uid}"
    storage = await open_storage(database_url)
    await enrol(storage, hh)
    broker = Mosquitto()
    await broker.start()
    env = {
        "HOMEFLEX_MQTT_URL": broker.url,
        "HOMEFLEX_DATABASE_URL": database_url,
        "HOMEFLEX_METRICS_PORT": str(free_port()),
    }
    writer = Service("telemetry", env, tmp_path / "telemetry.log")
    start = WallClock().now().replace(microsecond=0) - timedelta(hours=2)
    acknowledged: list[int] = []

    def reading(i: int) -> dict[str, object]:
        ts = start + timedelta(seconds=i)
        return {"ts": iso(ts), "import_wh": 1000.0 + i, "export_wh": 0.0, "power_w": 500.0}

    async def stream(meter: MqttSession) -> None:
        for i in range(1, READINGS + 1):
            await meter.publish(topics.meter_reading(hh), reading(i))  # returns on the broker's PUBACK
            acknowledged.append(i)
            await asyncio.sleep(0.002)

    try:
        writer.start()
        async with MqttSession(broker.url, f"meter-{uid}") as meter:
            # Reading 0, sent until it is stored, proves the writer's session exists at the broker.
            async def probe() -> bool:
                await meter.publish(topics.meter_reading(hh), reading(0))
                await asyncio.sleep(0.2)
                return await _count(storage, hh, 1)

            await until(probe, 30, "the writer is up")
            streaming = asyncio.get_running_loop().create_task(stream(meter))
            await until(lambda: _count(storage, hh, 200), 30, "ingestion under way")
            writer.kill()
            killed_with = (len(acknowledged), await storage.count_readings(hh))
            await asyncio.sleep(1.0)  # the meter goes on; the broker queues for the dead writer
            assert not streaming.done()
            writer.start()
            await streaming
            await until(lambda: _count(storage, hh, READINGS + 1), 60, "every acknowledged reading")
    finally:
        writer.stop()
        await broker.close()
    stored = await storage.readings(hh, start, start + timedelta(seconds=READINGS))
    await storage.close()
    # Killed mid-stream (typically with 4-17 acknowledged readings not yet committed).
    print(f"killed with {killed_with[0] + 1} acknowledged, {killed_with[1]} stored")
    assert killed_with[0] + 1 >= killed_with[1] > 0
    assert len(acknowledged) == READINGS
    assert [r.ts for r in stored] == [start + timedelta(seconds=i) for i in range(READINGS + 1)]
    assert [r.import_wh for r in stored] == [1000.0 + i for i in range(READINGS + 1)]


async def _count(storage: Storage, hh: str, at_least: int) -> bool:
    return await storage.count_readings(hh) >= at_least
