"""A stage-3 household's home, running for real beside the portal stack: a simulated full battery, the
household's control loop and its openleadr VEN on a real broker; and the household's smart meter,
which the test plays itself over MQTT (as tests/e2e/test_event_end_to_end.py does)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeflex.control.loop import ControlSettings, HouseholdController
from homeflex.core import topics
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, HouseholdSpec, Stage
from homeflex.core.timeutil import iso
from homeflex.mqtt import MqttSession
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.weather import LondonWeather
from homeflex.ven.agent import VenAgent
from tests.portal.conftest import Stack


async def until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> None:
    """Wait for `check()` (or its awaited result) to be true; AssertionError naming `what` if not."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                done = check()
                if inspect.isawaitable(done):
                    done = await done
                if done:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"waited {timeout} s for {what}") from None


@dataclass
class Home:
    household_id: str
    controller: HouseholdController
    ven: VenAgent


@asynccontextmanager
async def running_home(stack: Stack, mqtt_url: str, household_id: str) -> AsyncIterator[Home]:
    """The household's devices (a full 5 kW battery; the meter is the test's), its control loop and
    its VEN on the stack's VTN, in real time from the stack's clock. The household's retained
    skips are cleared on exit (the broker may be shared)."""
    clock = ScaledClock(stack.clock.now(), 1.0)
    spec = HouseholdSpec(
        id=household_id,
        category=Category.B,
        stage=Stage.FLEX,
        devices=(DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000),),
    )
    sim = SimHousehold(
        household_id,
        base_load=BaseLoad(seed=0),
        weather=LondonWeather(seed=1),
        devices={"battery": Battery(soc=0.95)},
    )
    async with AsyncExitStack() as es:
        await es.enter_async_context(HouseholdSimulator(sim, clock, mqtt_url, meter_interval_s=1e9))
        controller = await es.enter_async_context(
            HouseholdController(spec, clock, mqtt_url, ControlSettings(recovery_stagger_s=60))
        )
        await until(lambda: "battery" in controller.states, "the battery's state")
        ven = await es.enter_async_context(VenAgent(controller, clock, stack.openadr_url))
        try:
            yield Home(household_id=household_id, controller=controller, ven=ven)
        finally:
            async with MqttSession(mqtt_url, f"clear-{household_id}") as s:
                await s.publish(topics.skips(household_id), b"", retain=True)


def meter_readings(
    start: datetime, end: datetime, start_wh: float, kwh_at: Callable[[datetime], float]
) -> list[dict[str, Any]]:
    """A smart meter's half-hourly register readings from `start` (the register at `start_wh`) to
    `end`, using `kwh_at(t)` in the half-hour from t."""
    register, t = start_wh, start
    out = [{"ts": iso(t), "import_wh": round(register, 3), "export_wh": 0.0, "power_w": 0.0}]
    while t < end:
        kwh = kwh_at(t)
        register += kwh * 1000
        t += timedelta(minutes=30)
        out.append({"ts": iso(t), "import_wh": round(register, 3), "export_wh": 0.0, "power_w": kwh * 2000})
    return out


async def publish_meter(mqtt_url: str, household_id: str, readings: list[dict[str, Any]]) -> None:
    """As the household's meter: its backlog on meter/history, the last one live on meter/reading."""
    async with MqttSession(mqtt_url, f"meter-{household_id}") as s:
        for k in range(0, len(readings) - 1, 300):
            await s.publish(topics.meter_history(household_id), readings[k : min(k + 300, len(readings) - 1)])
        await s.publish(topics.meter_reading(household_id), readings[-1])
