"""The control loop against simulated devices on the real broker: commands are acknowledged, refreshed
and restored; a dead controller's commands expire so devices go back to normal by themselves; a device
that never answers is retried and reported, and the loop goes on."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from homeflex.control.loop import CommandOutcome, ControlSettings, HouseholdController
from homeflex.core import topics
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, FlexEvent, HouseholdSpec, Stage
from homeflex.core.timeutil import LONDON
from homeflex.mqtt import MqttSession
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.weather import LondonWeather

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)
BATTERY = DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000)


def spec(hh: str, *devices: DeviceSpec) -> HouseholdSpec:
    return HouseholdSpec(id=hh, category=Category.B, stage=Stage.FLEX, devices=devices)


def sim(hh: str) -> SimHousehold:
    return SimHousehold(
        hh, base_load=BaseLoad(seed=3), weather=LondonWeather(seed=3), devices={"battery": Battery(soc=0.9)}
    )


def event(clock: ScaledClock, minutes: float = 30, reduction_w: float = 3000) -> FlexEvent:
    return FlexEvent(
        event_id="e1",
        modification_number=0,
        start=clock.now() + timedelta(seconds=30),
        duration=timedelta(minutes=minutes),
        reduction_w=reduction_w,
        price_gbp_per_mwh=1000,
    )


async def watch_state(session: MqttSession, hh: str, device: str) -> dict[str, dict[str, object]]:
    latest: dict[str, dict[str, object]] = {}
    session.subscribe(topics.state(hh, device), lambda t, p: latest.__setitem__("state", json.loads(p)))
    await asyncio.sleep(0.2)
    return latest


async def until(predicate: object, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_curtail_refresh_and_restore(mqtt_url: str, uid: str) -> None:
    hh = f"loop{uid}"
    clock = ScaledClock(START, 120.0)
    settings = ControlSettings(command_ttl_s=120, refresh_s=60, recovery_stagger_s=30)
    async with (
        HouseholdSimulator(sim(hh), clock, mqtt_url),
        HouseholdController(spec(hh, BATTERY), clock, mqtt_url, settings) as controller,
    ):
        await until(lambda: "battery" in controller.states, 5)
        controller.schedule(event(clock, minutes=5))
        await until(lambda: any(o.phase == "restore" for o in controller.outcomes), 15)
    phases = [o.phase for o in controller.outcomes]
    assert phases[0] == "curtail" and phases[-1] == "restore"
    assert phases.count("refresh") >= 3  # a 5-minute event with a 60 s refresh
    assert all(o.ok and o.attempts == 1 for o in controller.outcomes)
    assert controller.states["battery"]["settings"] == {"power_w": None}


async def test_dead_controller_commands_expire(mqtt_url: str, uid: str) -> None:
    hh = f"dead{uid}"
    clock = ScaledClock(START, 120.0)
    settings = ControlSettings(command_ttl_s=120, refresh_s=60)
    async with HouseholdSimulator(sim(hh), clock, mqtt_url), MqttSession(mqtt_url, f"obs-{uid}") as observer:
        latest = await watch_state(observer, hh, "battery")
        controller = HouseholdController(spec(hh, BATTERY), clock, mqtt_url, settings)
        await controller.__aenter__()
        await until(lambda: "battery" in controller.states, 5)
        controller.schedule(event(clock))
        await until(lambda: (latest.get("state", {}).get("settings") or {}).get("power_w") is not None, 10)
        # The controller's link dies mid-event: no refresh, no restore reaches the device.
        await controller.session.__aexit__(None, None, None)
        curtailed_at = clock.now()
        await until(lambda: latest["state"]["settings"] == {"power_w": None}, 10)
        assert clock.now() - curtailed_at <= timedelta(seconds=settings.command_ttl_s + 30)
        await controller.__aexit__(None, None, None)


async def test_silent_device_is_retried_then_reported(mqtt_url: str, uid: str) -> None:
    hh = f"mute{uid}"
    clock = ScaledClock(START, 120.0)
    plug = DeviceSpec(id="plug", kind=DeviceKind.SMART_PLUG, max_power_w=2000)
    settings = ControlSettings(ack_timeout_s=0.2, ack_attempts=3, recovery_stagger_s=0)
    seen: list[CommandOutcome] = []
    # The battery answers; the plug has no device behind it (it has gone silent).
    async with (
        HouseholdSimulator(sim(hh), clock, mqtt_url),
        HouseholdController(spec(hh, BATTERY, plug), clock, mqtt_url, settings) as controller,
    ):
        controller.on_outcome = seen.append
        await until(lambda: "battery" in controller.states, 5)
        controller.states["plug"] = {"power_w": 1500, "on": True}
        controller.schedule(event(clock, minutes=1, reduction_w=20_000))
        await until(lambda: sum(o.phase == "curtail" for o in seen) == 2, 10)
    curtail = {o.device_id: o for o in seen if o.phase == "curtail"}
    assert curtail["battery"].ok
    assert not curtail["plug"].ok
    assert curtail["plug"].attempts == 3
    assert "no ack after 3 attempts" in (curtail["plug"].error or "")
