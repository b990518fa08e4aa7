"""The broker configuration `homeflex mqtt-access` writes, run by a real mosquitto started with exactly
the mosquitto.conf it wrote: client ids are bound to accounts (household hh001 can neither disconnect
hh002's control loop nor wipe telemetry's queued readings by taking their client ids), TLS works and is
the only way in from outside, anonymous clients are refused, and telemetry's queue holds more than
mosquitto's default 1000 readings while telemetry is away."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from homeflex.cli import main
from homeflex.core import topics
from homeflex.core.clock import WallClock
from homeflex.core.timeutil import iso
from homeflex.metering.ingest import Ingestor
from homeflex.mqtt import MqttSession, MqttUnavailable
from homeflex.mqtt.access import HOUSEHOLD_PARTS, TELEMETRY, with_credentials
from homeflex.mqtt.broker import find_mosquitto, free_port, running_mosquitto
from homeflex.mqtt.brokerconf import Listener, queue_limit
from homeflex.sim.population import KINDS
from homeflex.storage import SQLiteStorage
from homeflex.vtn.identity import new_ca
from tests.reliability.helpers import enrol, until

HOUSEHOLDS = [f"hh{n:03d}" for n in range(1, 21)]


@dataclass
class Deployment:
    folder: Path
    plain: str
    tls: str
    ca_file: Path
    passwords: dict[str, str]

    def as_user(self, account: str, *, password: str | None = None) -> str:
        return with_credentials(self.plain, account, password or self.passwords[account])


@pytest.fixture
def folder() -> Iterator[Path]:
    """Under the system temp dir, readable by mosquitto once it drops root (pytest's tmp_path is not)."""
    with tempfile.TemporaryDirectory(prefix="homeflex-broker-config-") as tmp:
        path = Path(tmp)
        path.chmod(0o755)
        yield path


def _community_ca(folder: Path) -> Path:
    """The CA `homeflex provision-vens` makes (ca.crt, ca.key in its --pki folder)."""
    ca_file, _ = new_ca(WallClock().now()).write(folder / "pki", "ca")
    return ca_file


@pytest.fixture
async def deployment(folder: Path) -> AsyncIterator[Deployment]:
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("needs mosquitto on PATH")
    ca_file = _community_ca(folder)
    data = folder / "data"
    data.mkdir()
    data.chmod(0o777)
    plain_port, tls_port = free_port(), free_port()
    argv = ["mqtt-access", "--out", str(folder / "access"), "--ids", ",".join(HOUSEHOLDS)]
    argv += ["--plain", f"127.0.0.1:{plain_port}", "--tls", f"127.0.0.1:{tls_port}"]
    argv += ["--pki", str(folder / "pki"), "--broker-hosts", "127.0.0.1,localhost"]
    argv += ["--data-dir", str(data)]
    assert await asyncio.to_thread(main, argv) == 0
    passwords = json.loads((folder / "access" / "credentials.json").read_text())
    async with running_mosquitto(binary, folder / "access" / "mosquitto.conf", plain_port):
        yield Deployment(
            folder=folder,
            plain=f"mqtt://127.0.0.1:{plain_port}",
            tls=f"mqtts://127.0.0.1:{tls_port}",
            ca_file=ca_file,
            passwords=passwords,
        )


def test_the_written_configuration_is_complete(deployment: Deployment) -> None:
    conf = (deployment.folder / "access" / "mosquitto.conf").read_text().splitlines()
    for line in (
        "allow_anonymous false",
        "use_username_as_clientid true",
        "persistence true",
        f"max_queued_messages {queue_limit(len(HOUSEHOLDS))}",
        f"password_file {deployment.folder / 'access' / 'passwd'}",
        f"acl_file {deployment.folder / 'access' / 'acl'}",
    ):
        assert line in conf
    assert conf.count("use_username_as_clientid true") == 2  # on both listeners
    assert queue_limit(len(HOUSEHOLDS)) > 1000  # above mosquitto's default, which dropped readings


def test_every_simulated_device_has_a_login() -> None:
    assert set(KINDS) <= set(HOUSEHOLD_PARTS)


def test_a_plain_listener_off_loopback_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="without TLS"):
        Listener(bind="0.0.0.0", port=1883)
    argv = ["mqtt-access", "--out", str(tmp_path / "x"), "--ids", "hh001"]
    assert main([*argv, "--plain", "0.0.0.0:1883"]) == 2
    assert "without TLS" in capsys.readouterr().err
    assert main([*argv, "--tls", "0.0.0.0:8883"]) == 2
    assert "--tls needs" in capsys.readouterr().err


def _lost(caplog: pytest.LogCaptureFixture, identifier: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"{identifier}: broker")]


async def test_a_household_cannot_take_over_another_households_control_loop(
    deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="homeflex.mqtt.session")
    async with MqttSession(deployment.as_user("hh002"), "ctl-hh002", part="ctl") as victim:
        inbox: asyncio.Queue[bytes] = asyncio.Queue()
        victim.subscribe(topics.cmd("hh002", "battery"), lambda t, p: inbox.put_nowait(p))
        # The client ids hh002's control loop is known by, on any broker and on this one.
        for taken in ("ctl-hh002", "hh002.ctl"):
            for part in (None, "ctl"):
                async with MqttSession(deployment.as_user("hh001"), taken, part=part) as attacker:
                    await attacker.publish(topics.cmd("hh001", "battery"), b"own")
        await victim.publish(topics.cmd("hh002", "battery"), b"still here")
        assert await asyncio.wait_for(inbox.get(), 5) == b"still here"
    assert _lost(caplog, "ctl-hh002") == []  # never disconnected, never reconnected


async def _while_telemetry_is_away(
    deployment: Deployment,
    storage: SQLiteStorage,
    household: str,
    n: int,
    meanwhile: Callable[[], Awaitable[None]],
) -> int:
    """Telemetry's session is made and left; `household`'s meter sends `n` readings (all at once, each
    acknowledged by the broker); `meanwhile` runs; telemetry comes back. Returns the readings stored."""
    await enrol(storage, household)
    telemetry_url = deployment.as_user(TELEMETRY)
    async with Ingestor(storage, WallClock(), telemetry_url, persistent=True):
        pass  # its session now lives at the broker, which queues for it while it is away
    readings = _readings(n)
    async with MqttSession(deployment.as_user(household), f"sim-{household}-meter", part="meter") as meter:
        await asyncio.gather(*(meter.publish(topics.meter_reading(household), r) for r in readings))
    await meanwhile()
    async with Ingestor(storage, WallClock(), telemetry_url, persistent=True):
        await until(lambda: _stored(storage, n, household), 60, "every queued reading")
    return await storage.count_readings(household)


async def test_a_household_cannot_wipe_telemetrys_queued_readings(
    deployment: Deployment, storage: SQLiteStorage
) -> None:
    async def take_telemetrys_client_ids() -> None:
        # A clean session under a client id telemetry is known by would drop what is queued for it.
        for taken in ("telemetry-ingest", "svc-telemetry.ingest"):
            for part in (None, "meter"):
                async with MqttSession(deployment.as_user("hh001"), taken, part=part):
                    pass
            with pytest.raises(MqttUnavailable, match="refused"):  # telemetry's login is not hh001's
                async with MqttSession(deployment.as_user("hh001"), taken, part="ingest"):
                    pass

    stored = await _while_telemetry_is_away(deployment, storage, "hh001", 200, take_telemetrys_client_ids)
    assert stored == 200


async def test_telemetrys_queue_outlasts_mosquittos_default_across_a_restart(
    deployment: Deployment, storage: SQLiteStorage
) -> None:
    """1,500 readings while telemetry is away: a default mosquitto keeps 1,000 and drops the rest."""

    async def nothing() -> None:
        pass

    assert await _while_telemetry_is_away(deployment, storage, "hh003", 1500, nothing) == 1500


async def test_tls_with_the_community_ca_and_refusals(deployment: Deployment) -> None:
    tls_url = with_credentials(deployment.tls, "hh001", deployment.passwords["hh001"])
    async with MqttSession(f"{tls_url}?ca={deployment.ca_file}", "ctl-hh001", part="ctl") as session:
        inbox: asyncio.Queue[bytes] = asyncio.Queue()
        session.subscribe(topics.cmd("hh001", "ev"), lambda t, p: inbox.put_nowait(p))
        await asyncio.sleep(0.2)
        await session.publish(topics.cmd("hh001", "ev"), b"over TLS")
        assert await asyncio.wait_for(inbox.get(), 5) == b"over TLS"
    with pytest.raises(MqttUnavailable, match="refused"):  # anonymous
        async with MqttSession(deployment.plain, "stranger"):
            pass
    with pytest.raises(MqttUnavailable, match="refused"):  # a part hh001 has no login for
        async with MqttSession(deployment.as_user("hh001"), "x", part="toaster"):
            pass
    with pytest.raises(MqttUnavailable, match="refused"):  # another household's password
        async with MqttSession(deployment.as_user("hh001", password=deployment.passwords["hh002"]), "x"):
            pass


def _readings(n: int) -> list[dict[str, object]]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    return [
        {"ts": iso(start + timedelta(seconds=i)), "import_wh": 1000.0 + i, "export_wh": 0.0, "power_w": 500.0}
        for i in range(n)
    ]


async def _stored(storage: SQLiteStorage, n: int, household: str) -> bool:
    return await storage.count_readings(household) >= n
