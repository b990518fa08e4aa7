"""The simulators against the real broker: commands, acks, state, expiry, meter readings, history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homeflex.core import topics
from homeflex.core.clock import ManualClock, ScaledClock
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, HouseholdSpec, Stage
from homeflex.core.timeutil import iso, parse_utc
from homeflex.mqtt import MqttSession
from homeflex.sim.devices import HouseholdSimulator, publish_history, run_population
from homeflex.sim.history import generate_history
from homeflex.sim.physics.battery import BatteryParams
from homeflex.sim.physics.ev import EvParams
from homeflex.sim.physics.smart_plug import SmartPlugParams
from homeflex.sim.population import SimHouseholdConfig, build_household, make_population

START = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
Message = tuple[str, Any]


class Listener:
    """Everything published under one household, in order, decoded from JSON where possible."""

    def __init__(self, session: MqttSession, household_id: str) -> None:
        self.household_id = household_id
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.seen_topics: set[str] = set()
        session.subscribe(f"{topics.PREFIX}/{household_id}/#", self._on_message)

    def _on_message(self, topic: str, payload: bytes) -> None:
        self.seen_topics.add(topic)
        try:
            self.messages.put_nowait((topic, json.loads(payload)))
        except ValueError:
            self.messages.put_nowait((topic, payload))

    async def expect(
        self, leaf: str, match: Callable[[Any], bool] = lambda _: True, timeout: float = 5.0
    ) -> Any:
        """The next message on `.../<leaf>` (e.g. "battery/ack") for which `match` holds."""
        topic = f"{topics.PREFIX}/{self.household_id}/{leaf}"
        async with asyncio.timeout(timeout):
            while True:
                got_topic, payload = await self.messages.get()
                if got_topic == topic and match(payload):
                    return payload


def config(household_id: str, *, battery: bool = True) -> SimHouseholdConfig:
    specs = [
        DeviceSpec(id="ev", kind=DeviceKind.EV_CHARGER, max_power_w=7400),
        DeviceSpec(id="plug", kind=DeviceKind.SMART_PLUG, max_power_w=1500),
    ]
    if battery:
        specs.append(DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000))
    spec = HouseholdSpec(id=household_id, category=Category.B, stage=Stage.FLEX, devices=tuple(specs))
    return SimHouseholdConfig(
        spec=spec,
        seed=1,
        ev=EvParams(random_delay_max_s=0),
        plug=SmartPlugParams(),
        battery=BatteryParams() if battery else None,
    )


async def clear_retained(url: str, household_id: str, devices: list[str]) -> None:
    """Leave the shared broker as we found it: retained state and availability are per test household."""
    async with MqttSession(url, f"test-clear-{household_id}") as s:
        for device in [*devices, topics.METER]:
            for leaf in ("state", "availability"):
                await s.publish(topics.device_topic(household_id, device, leaf), b"", retain=True)


@pytest.fixture
async def listener(mqtt_url: str, uid: str) -> AsyncIterator[Listener]:
    household_id = f"simtest-{uid}"
    async with MqttSession(mqtt_url, f"test-listener-{uid}") as session:
        yield Listener(session, household_id)
    await clear_retained(mqtt_url, household_id, ["ev", "battery", "plug"])


async def send(session: MqttSession, household_id: str, device: str, body: dict[str, Any] | bytes) -> None:
    await session.publish(topics.cmd(household_id, device), body)


async def test_command_ack_state_and_expiry(mqtt_url: str, listener: Listener) -> None:
    hh = listener.household_id
    clock = ScaledClock(START, speed=60.0)  # a sim minute per wall second
    async with (
        HouseholdSimulator(config(hh), clock, mqtt_url, state_interval_s=3600) as sim,
        MqttSession(mqtt_url, f"test-ctl-{hh}") as ctl,
    ):
        initial = await listener.expect("battery/state")
        assert initial["settings"] == {"power_w": None}
        assert initial["expires_at"] is None
        expires = clock.now() + timedelta(seconds=90)
        await send(ctl, hh, "battery", {"id": "c1", "set": {"power_w": -2000}, "expires_at": iso(expires)})
        assert await listener.expect("battery/ack") == {"id": "c1", "ok": True}
        state = await listener.expect("battery/state")
        assert state["settings"] == {"power_w": -2000.0}
        assert state["power_w"] == -2000.0
        assert parse_utc(state["expires_at"]) == expires
        assert sim.household.device_state("battery")["settings"] == {"power_w": -2000.0}

        # Back to default by itself once the command expires (sim clock), and says so.
        back = await listener.expect("battery/state", lambda s: s["settings"] == {"power_w": None}, timeout=5)
        assert back["expires_at"] is None
        assert parse_utc(back["ts"]) >= expires


async def test_a_retry_is_acknowledged_but_applied_once(mqtt_url: str, listener: Listener) -> None:
    hh = listener.household_id
    clock = ManualClock(START)
    async with (
        HouseholdSimulator(config(hh), clock, mqtt_url),
        MqttSession(mqtt_url, f"test-ctl-{hh}") as ctl,
    ):
        first = {"id": "c1", "set": {"on": False}, "expires_at": None}
        await send(ctl, hh, "plug", first)
        assert (await listener.expect("plug/ack"))["ok"] is True
        await send(ctl, hh, "plug", {"id": "c2", "set": {"on": True}})
        assert (await listener.expect("plug/ack", lambda a: a["id"] == "c2"))["ok"] is True
        assert (await listener.expect("plug/state", lambda s: s["on"]))["settings"] == {"on": True}
        await send(ctl, hh, "plug", first)  # a late retry of c1
        assert await listener.expect("plug/ack") == {"id": "c1", "ok": True}
        await send(ctl, hh, "plug", {"id": "probe", "set": {}})  # an empty command: reports state
        assert await listener.expect("plug/ack") == {"id": "probe", "ok": True}
        assert (await listener.expect("plug/state"))["settings"] == {"on": True}


@pytest.mark.parametrize(
    ("body", "ack_id", "error"),
    [
        (b"{oops", None, "malformed JSON"),
        ({"set": {"power_w": 1}}, None, "missing or empty command id"),
        ({"id": "b1", "set": {"watts": 1}}, "b1", "unknown setting 'watts' (valid: power_w)"),
        ({"id": "b2", "set": {"power_w": 9000}}, "b2", "power_w must be between -5000 and 5000 W"),
        (
            {"id": "b3", "set": {"power_w": 1}, "expires_at": "2026-11-24T16:00:00Z"},
            "b3",
            "command expired at",
        ),
    ],
)
async def test_bad_commands_get_ok_false_with_a_reason(
    mqtt_url: str, listener: Listener, body: dict[str, Any] | bytes, ack_id: str | None, error: str
) -> None:
    hh = listener.household_id
    clock = ManualClock(START)
    async with (
        HouseholdSimulator(config(hh), clock, mqtt_url) as sim,
        MqttSession(mqtt_url, f"t-{hh}") as ctl,
    ):
        await send(ctl, hh, "battery", body)
        reply = await listener.expect("battery/ack")
        assert reply["id"] == ack_id
        assert reply["ok"] is False
        assert error in reply["error"]
        assert sim.household.device_state("battery")["settings"] == {"power_w": None}


async def test_meter_readings_arrive_on_their_cadence_and_registers_climb(
    mqtt_url: str, listener: Listener
) -> None:
    hh = listener.household_id
    clock = ManualClock(START)
    async with HouseholdSimulator(config(hh, battery=False), clock, mqtt_url, meter_interval_s=10):
        assert await listener.expect("meter/availability") == b"online"
        readings = []
        for _ in range(3):
            await clock.advance(10)
            readings.append(await listener.expect("meter/reading"))
    assert [parse_utc(r["ts"]) for r in readings] == [START + timedelta(seconds=s) for s in (10, 20, 30)]
    assert readings[0]["import_wh"] < readings[1]["import_wh"] < readings[2]["import_wh"]
    assert all(set(r) == {"ts", "import_wh", "export_wh", "power_w"} for r in readings)
    assert await listener.expect("meter/availability") == b"offline"  # said on a clean stop


async def test_history_backlog_then_live_readings_continue(mqtt_url: str, uid: str) -> None:
    cfg = make_population(1, seed=8)[0]
    hh = f"simhist-{uid}"
    household = build_household(cfg)
    household.id = hh
    history = generate_history([(hh, household)], START - timedelta(days=1), START)[hh]
    async with MqttSession(mqtt_url, f"test-hist-{uid}") as session:
        listener = Listener(session, hh)
        await publish_history(mqtt_url, hh, history, chunk=10)
        chunks = [await listener.expect("meter/history") for _ in range(5)]
        assert [len(c) for c in chunks] == [10, 10, 10, 10, 9]
        assert [r for c in chunks for r in c] == history
        clock = ManualClock(START)
        async with HouseholdSimulator(household, clock, mqtt_url):
            await clock.advance(10)
            live = await listener.expect("meter/reading")
        assert live["import_wh"] >= history[-1]["import_wh"]
    await clear_retained(mqtt_url, hh, list(household.devices))


async def test_run_population_starts_every_household(mqtt_url: str, uid: str) -> None:
    configs = make_population(3, seed=2)
    households = [build_household(c) for c in configs]
    for household in households:
        household.id = f"{household.id}-{uid}"
    clock = ManualClock(START)
    async with MqttSession(mqtt_url, f"test-pop-{uid}") as session:
        listeners = [Listener(session, h.id) for h in households]
        async with run_population(households, clock, mqtt_url, meter_interval_s=30) as sims:
            assert len(sims) == 3
            await clock.advance(30)
            for listener in listeners:
                assert parse_utc((await listener.expect("meter/reading"))["ts"]) == START + timedelta(
                    seconds=30
                )
    for household in households:
        await clear_retained(mqtt_url, household.id, list(household.devices))
