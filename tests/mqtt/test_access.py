"""MQTT access control on a real mosquitto started with the platform's password and ACL files: a household
can neither read nor command another household's devices, services see only what they need, strangers are
refused. Denial on mosquitto is silent, so each test asserts that nothing arrives within a timeout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from homeflex.control.loop import ControlSettings, HouseholdController
from homeflex.core import topics
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, HouseholdSpec, Stage
from homeflex.mqtt import MqttSession, MqttUnavailable
from homeflex.mqtt.access import (
    OPERATOR,
    PORTAL,
    TELEMETRY,
    VTN_OADR3,
    acl_text,
    issue_passwords,
    with_credentials,
)
from homeflex.mqtt.broker import find_mosquitto, mosquitto
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.weather import LondonWeather

QUIET_S = 1.0  # how long "nothing arrives" is waited for


class Broker:
    def __init__(self, url: str, passwords: dict[str, str]) -> None:
        self.url = url
        self.passwords = passwords

    def as_user(self, user: str) -> str:
        return with_credentials(self.url, user, self.passwords[user])


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("needs mosquitto on PATH")
    passwords = issue_passwords(["hh001", "hh002", TELEMETRY, OPERATOR, PORTAL])
    async with mosquitto(binary, passwords) as url:
        yield Broker(url, passwords)


async def received(session: MqttSession, topic_filter: str) -> asyncio.Queue[tuple[str, bytes]]:
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    session.subscribe(topic_filter, lambda t, p: queue.put_nowait((t, p)))
    await asyncio.sleep(0.2)  # let the subscription reach the broker
    return queue


async def nothing_arrives(queue: asyncio.Queue[tuple[str, bytes]]) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(QUIET_S):
            await queue.get()


def test_the_acl_confines_households_to_their_subtree() -> None:
    text = acl_text()
    assert f"pattern readwrite {topics.PREFIX}/%u/#" in text
    assert f"user {TELEMETRY}\ntopic read {topics.PREFIX}/+/meter/reading" in text
    with pytest.raises(ValueError, match="bad or repeated"):
        issue_passwords(["hh001", "hh 002"])


async def test_a_household_cannot_command_another_households_device(broker: Broker) -> None:
    async with (
        MqttSession(broker.as_user("hh002"), "hh002-battery") as victim,
        MqttSession(broker.as_user("hh001"), "hh001-ctl") as attacker,
    ):
        commands = await received(victim, topics.cmd("hh002", "battery"))
        own = await received(attacker, topics.cmd("hh001", "battery"))
        await attacker.publish(topics.cmd("hh002", "battery"), {"id": "x", "set": {"power_w": -5000}})
        await attacker.publish(topics.cmd("hh001", "battery"), {"id": "y", "set": {"power_w": 0}})
        assert (await asyncio.wait_for(own.get(), 5))[0] == topics.cmd("hh001", "battery")  # its own: fine
        await nothing_arrives(commands)


async def test_a_household_cannot_read_another_households_state(broker: Broker) -> None:
    async with (
        MqttSession(broker.as_user("hh002"), "hh002-meter") as neighbour,
        MqttSession(broker.as_user("hh001"), "hh001-spy") as spy,
    ):
        snooped = await received(spy, f"{topics.PREFIX}/hh002/#")
        everything = await received(spy, f"{topics.PREFIX}/#")
        await neighbour.publish(topics.meter_reading("hh002"), {"power_w": 1234})
        await neighbour.publish(topics.state("hh002", "ev"), {"plugged": True}, retain=True)
        await nothing_arrives(snooped)
        await nothing_arrives(everything)
        await neighbour.publish(topics.state("hh002", "ev"), b"", retain=True)


async def test_telemetry_reads_every_meter_but_commands_nothing(broker: Broker) -> None:
    async with (
        MqttSession(broker.as_user("hh001"), "hh001-meter") as meter,
        MqttSession(broker.as_user("hh002"), "hh002-battery") as device,
        MqttSession(broker.as_user(TELEMETRY), "telemetry") as telemetry,
    ):
        readings = await received(telemetry, topics.READINGS_FILTER)
        commands = await received(device, topics.cmd("hh002", "battery"))
        await meter.publish(topics.meter_reading("hh001"), {"power_w": 500})
        topic, payload = await asyncio.wait_for(readings.get(), 5)
        assert topic == topics.meter_reading("hh001") and json.loads(payload) == {"power_w": 500}
        await telemetry.publish(topics.cmd("hh002", "battery"), {"id": "z", "set": {"power_w": 0}})
        await nothing_arrives(commands)


async def test_the_portal_tells_a_household_of_skips_but_commands_nothing(broker: Broker) -> None:
    async with (
        MqttSession(broker.as_user("hh001"), "hh001-ven", part="ctl") as ven,
        MqttSession(broker.as_user("hh001"), "hh001-battery", part="battery") as device,
        MqttSession(broker.as_user(PORTAL), "portal") as portal,
    ):
        skips = await received(ven, topics.skips("hh001"))
        commands = await received(device, topics.cmd("hh001", "battery"))
        await portal.publish(topics.skips("hh001"), {"skips": []})
        topic, payload = await asyncio.wait_for(skips.get(), 5)
        assert topic == topics.skips("hh001") and json.loads(payload) == {"skips": []}
        await portal.publish(topics.cmd("hh001", "battery"), {"id": "z", "set": {"power_w": 0}})
        await nothing_arrives(commands)


@pytest.mark.parametrize("user", ["hh001", None])
async def test_a_wrong_password_or_no_account_is_refused_at_once(broker: Broker, user: str | None) -> None:
    url = with_credentials(broker.url, user, "not-the-password") if user else broker.url
    started = asyncio.get_running_loop().time()
    with pytest.raises(MqttUnavailable, match="refused"):
        async with MqttSession(url, "stranger"):
            pass
    assert asyncio.get_running_loop().time() - started < 5  # no 15 s of retries for a permanent refusal


async def test_a_household_runs_its_own_loop_under_its_credentials(broker: Broker) -> None:
    """The controller, the devices and the meter of hh001 share hh001's account and work as before."""
    start = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
    clock = ScaledClock(start, 120.0)
    model = SimHousehold(
        "hh001",
        base_load=BaseLoad(seed=3),
        weather=LondonWeather(seed=3),
        devices={"battery": Battery(soc=0.9)},
    )
    spec = HouseholdSpec(
        id="hh001",
        category=Category.B,
        stage=Stage.AUTOMATIC,
        devices=(DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000),),
    )
    url = broker.as_user("hh001")
    async with (
        HouseholdSimulator(model, clock, url),
        HouseholdController(spec, clock, url, ControlSettings()) as controller,
    ):
        async with asyncio.timeout(10):
            while not (any(o.ok for o in controller.outcomes) and "meter" in controller.states):
                await asyncio.sleep(0.05)
    assert all(o.ok and o.attempts == 1 for o in controller.outcomes)
    assert "battery" in controller.states and "meter" in controller.states


def test_the_command_writes_hashed_credentials_and_refuses_bad_ids(tmp_path: Path) -> None:
    import shutil

    from homeflex.cli import main

    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("needs mosquitto_passwd")
    out = tmp_path / "access"
    assert main(["mqtt-access", "--out", str(out), "--ids", "hh001,hh002"]) == 0
    passwords = json.loads((out / "credentials.json").read_text())
    # the VTN's 3.1 notifier always has its account; 3.1 clients come from the database (not with --ids)
    assert set(passwords) == {"hh001", "hh002", TELEMETRY, OPERATOR, PORTAL, VTN_OADR3}
    hashed = (out / "passwd").read_text()
    assert all(pw not in hashed for pw in passwords.values())  # only hashes on the broker's side
    assert (out / "credentials.json").stat().st_mode & 0o077 == 0  # the plain passwords: owner only
    with pytest.raises(SystemExit) as refused:  # the household id, refused where it enters
        main(["mqtt-access", "--out", str(tmp_path / "bad"), "--ids", "hh 1"])
    assert refused.value.code == 2
