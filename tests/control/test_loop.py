"""The control loop against simulated devices on the real broker: stage 2 commands the plan, stage 3 curtails
for an event, refreshes, holds and restores; stage 1 never commands; a dead controller's commands expire so
devices go back to normal by themselves; a device that never answers is retried and reported."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import pytest

from homeflex.control.loop import CommandOutcome, ControlSettings, HouseholdController
from homeflex.control.setup import HouseholdSetup
from homeflex.control.tariffs import tariff_from_config
from homeflex.core import topics
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, FlexEvent, HouseholdSpec, Stage
from homeflex.core.timeutil import LONDON
from homeflex.mqtt import MqttSession
from homeflex.profiles import profile_to_json
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.weather import LondonWeather

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)
BATTERY = DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000)


def spec(hh: str, *devices: DeviceSpec, stage: Stage = Stage.FLEX) -> HouseholdSpec:
    return HouseholdSpec(id=hh, category=Category.B, stage=stage, devices=devices)


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


async def test_stage2_commands_the_plan_with_expiry(mqtt_url: str, uid: str) -> None:
    hh = f"plan{uid}"
    clock = ScaledClock(START, 120.0)
    peak = HouseholdSetup(tariff=tariff_from_config({"type": "three_rate"}))  # 16:00-19:00 is dear
    settings = ControlSettings(command_ttl_s=600, refresh_s=120)
    async with (
        HouseholdSimulator(sim(hh), clock, mqtt_url),
        HouseholdController(
            spec(hh, BATTERY, stage=Stage.AUTOMATIC), clock, mqtt_url, settings, setup=peak
        ) as controller,
    ):
        await until(lambda: (controller.states.get("battery", {}).get("settings") or {}).get("power_w"), 10)
        sent = controller._sent["battery"]
    power = controller.states["battery"]["settings"]["power_w"]
    assert power < 0  # 18:00 on a peak rate with a full battery: discharge
    assert sent.expires is not None and sent.expires > START
    assert {o.phase for o in controller.outcomes} == {"plan"}
    assert all(o.ok for o in controller.outcomes)
    assert controller.schedule is not None and controller.schedule.ok
    assert controller.core.replans[0][1] == "start"


async def test_event_curtail_refresh_hold_and_restore(mqtt_url: str, uid: str) -> None:
    hh = f"loop{uid}"
    clock = ScaledClock(START, 120.0)
    settings = ControlSettings(command_ttl_s=120, refresh_s=60, recovery_stagger_s=30)
    async with (
        HouseholdSimulator(sim(hh), clock, mqtt_url),
        HouseholdController(spec(hh, BATTERY), clock, mqtt_url, settings) as controller,
    ):
        await until(lambda: "battery" in controller.states and "meter" in controller.states, 5)
        flex = event(clock, minutes=5)
        assessment = controller.assess(flex)
        assert assessment is not None and assessment.share == 1.0
        controller.schedule_event(flex)
        await until(lambda: any(o.phase == "curtail" for o in controller.outcomes), 10)
        during = controller.states["battery"]
        await until(lambda: any(o.phase == "restore" for o in controller.outcomes), 20)
    phases = [o.phase for o in controller.outcomes if o.event_id == "e1"]
    assert phases[0] == "curtail" and phases[-1] == "restore"
    assert phases.count("refresh") >= 2  # a 5-minute event, commands of 120 s refreshed every 60 s
    assert all(o.ok and o.attempts == 1 for o in controller.outcomes)
    # 3 kW asked of a house taking well under that: the battery covers it and exports the rest.
    assert during["settings"]["power_w"] <= -2500


async def test_stage1_observes_and_never_commands(mqtt_url: str, uid: str) -> None:
    from homeflex.profiles import learn_profile

    hh = f"obs{uid}"
    clock = ScaledClock(START, 120.0)
    profile = learn_profile(hh, {}, as_of=START, version=3)
    async with (
        HouseholdSimulator(sim(hh), clock, mqtt_url),
        HouseholdController(spec(hh, BATTERY, stage=Stage.MANUAL), clock, mqtt_url) as controller,
        MqttSession(mqtt_url, f"pub-{uid}") as publisher,
    ):
        body = {
            "version": 3,
            "ready": False,
            "reasons": ["0 of 14 days observed"],
            "profile": profile_to_json(profile),
        }
        await publisher.publish(topics.profile(hh), body, retain=True)
        await until(lambda: controller.readiness is not None, 5)
        await asyncio.sleep(2.0)  # four simulated minutes
        await publisher.publish(topics.profile(hh), b"", retain=True)
    assert controller.outcomes == []
    assert controller.states["battery"]["settings"] == {"power_w": None}
    assert controller.readiness is not None and not controller.readiness.ready
    assert controller.readiness.reasons == ["0 of 14 days observed"]
    assert controller.profile is not None and controller.profile.version == 3


async def test_dead_controller_commands_expire(mqtt_url: str, uid: str) -> None:
    hh = f"dead{uid}"
    clock = ScaledClock(START, 120.0)
    settings = ControlSettings(command_ttl_s=120, refresh_s=60)
    async with HouseholdSimulator(sim(hh), clock, mqtt_url), MqttSession(mqtt_url, f"obs-{uid}") as observer:
        latest = await watch_state(observer, hh, "battery")
        controller = HouseholdController(spec(hh, BATTERY), clock, mqtt_url, settings)
        await controller.__aenter__()
        await until(lambda: "battery" in controller.states and "meter" in controller.states, 5)
        controller.schedule_event(event(clock))
        await until(lambda: any(o.phase == "curtail" for o in controller.outcomes), 10)
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
        await until(lambda: "battery" in controller.states and "meter" in controller.states, 5)
        controller.schedule_event(event(clock, minutes=1, reduction_w=2000))
        await until(lambda: sum(o.phase == "curtail" for o in seen) == 2, 10)
    curtail = {o.device_id: o for o in seen if o.phase == "curtail"}
    assert curtail["battery"].ok
    assert not curtail["plug"].ok
    assert curtail["plug"].attempts == 3
    assert "no ack after 3 attempts" in (curtail["plug"].error or "")


async def test_broker_dies_and_devices_fall_back_by_themselves(uid: str) -> None:
    """The broker itself stops mid-event: nothing reaches the devices any more, yet their commands expire
    on the devices' own clocks and every device is back to its own behaviour."""
    from homeflex.mqtt.broker import find_mosquitto, mosquitto

    binary = find_mosquitto()
    if binary is None:
        pytest.skip("needs mosquitto on PATH to start a broker it can stop")
    hh = f"brk{uid}"
    clock = ScaledClock(START, 120.0)
    settings = ControlSettings(command_ttl_s=120, refresh_s=60, ack_timeout_s=0.3, ack_attempts=1)
    model = sim(hh)
    broker = mosquitto(binary)
    url = await broker.__aenter__()
    simulator = HouseholdSimulator(model, clock, url)
    controller = HouseholdController(spec(hh, BATTERY), clock, url, settings)
    await simulator.__aenter__()
    await controller.__aenter__()
    try:
        await until(lambda: "battery" in controller.states and "meter" in controller.states, 5)
        controller.schedule_event(event(clock, minutes=30))
        await until(lambda: any(o.phase == "curtail" and o.ok for o in controller.outcomes), 10)
        assert model.device_state("battery")["settings"]["power_w"] is not None
        await broker.__aexit__(None, None, None)  # the broker is gone
        stopped_at = clock.now()
        await until(lambda: model.device_state("battery")["settings"] == {"power_w": None}, 10)
        assert clock.now() - stopped_at <= timedelta(seconds=settings.command_ttl_s + 30)
    finally:
        await controller.__aexit__(None, None, None)
        await simulator.__aexit__(None, None, None)
