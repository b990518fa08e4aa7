"""`homeflex vtn`, `telemetry` and `portal` stop in order on SIGTERM (what `docker stop` and systemd
send): they stop accepting, finish or hand back their in-flight work, log that they stopped and exit 0.
Telemetry stores (or leaves queued at the broker) every reading the broker acknowledged."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path

import aiohttp

from homeflex.core import topics
from homeflex.core.clock import WallClock
from homeflex.core.timeutil import iso
from homeflex.mqtt import MqttSession
from homeflex.mqtt.broker import free_port, wait_for_port
from homeflex.storage import open_storage
from tests.reliability.brokers import Mosquitto
from tests.reliability.helpers import Service, enrol, until

READINGS = 300


def refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


async def test_the_vtn_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "HOMEFLEX_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}",
        "HOMEFLEX_VTN_PORT": str(port),
        # The test's explicit choice: a VTN on loopback without TLS and without an operator token.
        "HOMEFLEX_ALLOW_INSECURE_OPENADR": "1",
        "HOMEFLEX_ALLOW_OPEN_API": "1",
    }
    vtn = Service("vtn", env, tmp_path / "vtn.log")
    try:
        vtn.start()
        await wait_for_port(port, 60)
        async with (
            aiohttp.ClientSession() as http,
            http.put(f"http://127.0.0.1:{port}/api/households/hh001", json={"category": "B"}) as r,
        ):
            assert r.status == 200
        assert vtn.terminate() == 0
    finally:
        vtn.stop()
    log = (tmp_path / "vtn.log").read_text()
    assert "vtn: SIGTERM received, stopping" in log and "vtn: stopped" in log, log
    assert "Traceback" not in log, log
    assert refused(port)


async def test_the_portal_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {"HOMEFLEX_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    portal = Service("portal", env, tmp_path / "portal.log", ("--port", str(port)))
    try:
        portal.start()
        await wait_for_port(port, 60)
        assert portal.terminate() == 0
    finally:
        portal.stop()
    log = (tmp_path / "portal.log").read_text()
    assert "portal: stopped" in log and "Traceback" not in log, log
    assert refused(port)


async def test_telemetry_stores_its_batch_and_exits_0_on_sigterm(tmp_path: Path, uid: str) -> None:
    hh = f"term{uid}"
    database_url = f"sqlite:///{tmp_path / 't.db'}"
    storage = await open_storage(database_url)
    await enrol(storage, hh)
    broker = Mosquitto()
    await broker.start()
    metrics_port = free_port()
    env = {
        "HOMEFLEX_MQTT_URL": broker.url,
        "HOMEFLEX_DATABASE_URL": database_url,
        "HOMEFLEX_METRICS_PORT": str(metrics_port),
    }
    writer = Service("telemetry", env, tmp_path / "telemetry.log")
    start = WallClock().now().replace(microsecond=0) - timedelta(hours=2)

    def reading(i: int) -> dict[str, object]:
        ts = start + timedelta(seconds=i)
        return {"ts": iso(ts), "import_wh": 1000.0 + i, "export_wh": 0.0, "power_w": 500.0}

    try:
        writer.start()
        async with MqttSession(broker.url, f"meter-{uid}") as meter:

            async def probe() -> bool:  # reading 0 stored: the writer's session is at the broker
                await meter.publish(topics.meter_reading(hh), reading(0))
                await asyncio.sleep(0.2)
                return await storage.count_readings(hh) >= 1

            await until(probe, 60, "the writer is up")
            # All at once, each returning on the broker's PUBACK: the writer is still storing them.
            await asyncio.gather(
                *(meter.publish(topics.meter_reading(hh), reading(i)) for i in range(1, READINGS + 1))
            )
            assert writer.terminate() == 0
            first_run = await storage.count_readings(hh)
            writer.start()  # what the first run handed back is still queued at the broker
            await wait_for_port(metrics_port, 60)  # up, with its signal handlers in place
            await until(lambda: _count(storage, hh, READINGS + 1), 60, "every acknowledged reading")
            assert writer.terminate() == 0
    finally:
        writer.stop()
        await broker.close()
        final = await storage.count_readings(hh)
        await storage.close()
    log = (tmp_path / "telemetry.log").read_text()
    assert log.count("telemetry: stopped") == 2 and "Traceback" not in log, log
    print(f"first run stored {first_run} of {READINGS + 1} before SIGTERM")
    assert final == READINGS + 1


async def _count(storage: object, hh: str, n: int) -> bool:
    return await storage.count_readings(hh) >= n  # type: ignore[attr-defined,no-any-return]
