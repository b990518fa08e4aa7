"""A household whose meter is a Shelly Pro 3EM and whose plug is a Shelly Plus Plug S, both simulated as
the products speak MQTT RPC: the household agent reads the plug's status at start, reports the meter's
power as state "meter" (what the VEN reports to the VTN), and forwards the meter's readings to telemetry
on the household's meter/reading topic in homeflex's reading format (accepted by telemetry's parser)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

from homeflex.control.loop import HouseholdController
from homeflex.core import topics
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import DeviceKind, MeterReading
from homeflex.core.timeutil import LONDON
from homeflex.drivers.shelly import ShellyAddress
from homeflex.household import DeviceConfig, HouseholdConfig, MeterConfig
from homeflex.metering.validate import parse_reading
from homeflex.mqtt import MqttSession
from homeflex.sim.devices import HouseholdSimulator
from tests.drivers.rigs.plugs import plug_household

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)


async def until(predicate: object, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_a_pro3em_meter_feeds_the_agent_and_telemetry(mqtt_url: str, uid: str) -> None:
    hh = f"em{uid}"
    clock = ScaledClock(START, 60.0)
    plug, meter = f"shellyplusplugs-{uid}", f"shellypro3em-{uid}"
    config = HouseholdConfig(
        household_id=hh,
        devices=(
            DeviceConfig(
                id="plug",
                kind=DeviceKind.SMART_PLUG,
                max_power_w=1500,
                protocol="shelly",
                address=ShellyAddress(topic_prefix=plug),
            ),
        ),
        meter=MeterConfig(protocol="shelly_pro3em", address=ShellyAddress(topic_prefix=meter)),
    )
    wiring = {
        "plug": {"protocol": "shelly", "topic_prefix": plug},
        "meter": {"protocol": "shelly_pro3em", "topic_prefix": meter},
    }
    household = plug_household(hh)
    readings: list[MeterReading] = []
    async with MqttSession(mqtt_url, f"telemetry-{hh}") as telemetry:
        telemetry.subscribe(
            topics.meter_reading(hh), lambda _t, p: readings.append(parse_reading(hh, p, clock.now()))
        )
        await asyncio.sleep(0.2)
        async with (
            HouseholdSimulator(household, clock, mqtt_url, wiring=wiring, meter_interval_s=60),
            HouseholdController(config, clock, mqtt_url) as agent,
        ):
            await until(lambda: len(readings) >= 3, 15)
            await until(lambda: "on" in agent.states.get("plug", {}), 5)
            meter_power = agent.states[topics.METER]["power_w"]
    assert agent.states["plug"]["on"] is True  # read with Shelly.GetStatus at start
    assert isinstance(meter_power, float)
    assert [r.import_wh for r in readings] == sorted(r.import_wh for r in readings)
    assert readings[-1].import_wh > 0  # the evening's base load, counted by the simulated meter
    assert abs(readings[-1].import_wh - household.import_wh) < 50


async def test_a_new_configuration_version_brings_the_new_meter(mqtt_url: str, uid: str) -> None:
    hh = f"em2{uid}"
    clock = ScaledClock(START, 60.0)
    meter = f"shellypro3em-{uid}"
    first = HouseholdConfig(household_id=hh)  # homeflex's simulated meter, which this house does not have
    second = replace(
        first,
        version=2,
        meter=MeterConfig(protocol="shelly_pro3em", address=ShellyAddress(topic_prefix=meter)),
    )
    wiring = {"meter": {"protocol": "shelly_pro3em", "topic_prefix": meter}}
    async with (
        HouseholdSimulator(plug_household(hh), clock, mqtt_url, wiring=wiring),
        HouseholdController(first, clock, mqtt_url) as agent,
    ):
        await asyncio.sleep(0.5)
        assert topics.METER not in agent.states
        await agent.apply_config(second)
        await until(lambda: topics.METER in agent.states, 5)  # read at the new meter driver's start
        assert agent.meter is not None
