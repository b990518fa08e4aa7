"""An S2 heat pump under FRBC (tests/drivers/s2_rm.py: OFF 0 W, ON 900..3000 W, ten-minute minimum on
and off times as S2 timers): the ceiling becomes the mode and factor under it, a mode a running timer
forbids is never instructed (the RM's own check would reject it) and follows when the timer ends, the
expiry goes back to its own behaviour, a command holding when the connection drops is instructed again
when the RM is back; and the simulated S2 heat pump behind the household's physics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from homeflex.core.clock import ManualClock
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DeviceLink, DeviceRefused
from homeflex.drivers.s2 import S2Address, S2Driver
from homeflex.drivers.s2_cem import Cem, CemSettings
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.heat_pump import HeatPump
from homeflex.sim.physics.weather import LondonWeather
from homeflex.sim.protocols.s2 import MIN_OFF, S2ResourceManager
from tests.drivers.rigs import Seen
from tests.drivers.s2_rm import MIN_OFF as RM_MIN_OFF
from tests.drivers.s2_rm import MIN_ON, NOW, OFF, ON, ResourceManager, connected, heat_pump

HEAT_PUMP = {"kind": DeviceKind.HEAT_PUMP, "system": heat_pump(), "active": ON, "factor": 1.0}


@pytest.fixture
async def cem() -> AsyncIterator[Cem]:
    async with Cem(CemSettings(port=0, response_timeout_s=1.0)) as server:
        yield server


def last(rm: ResourceManager) -> tuple[uuid.UUID, float]:
    sent = rm.instructions[-1]
    return sent.operation_mode, round(sent.operation_mode_factor, 4)


async def test_a_ceiling_is_the_mode_under_it_and_the_thermostat_setpoint_is_not_sent(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock, **HEAT_PUMP) as (driver, seen, rm):  # type: ignore[arg-type]
        await driver.send({"setpoint_c": 21.5, "max_power_w": 2000}, None)
        assert last(rm) == (ON, round(1100 / 2100, 4))  # 900 + f * 2100 = 2000 W
        assert seen.states[-1]["setpoint_w"] == 2000
        await driver.send({"setpoint_c": 19.0, "max_power_w": 500}, None)  # under ON's 900 W: OFF
        assert last(rm) == (OFF, 0.0)
        with pytest.raises(DeviceRefused, match="setpoint_c"):
            await driver.send({"setpoint_c": "warm", "max_power_w": 500}, None)
        assert rm.violations == [] and len(rm.instructions) == 2


async def test_a_mode_a_running_timer_forbids_is_not_instructed_until_the_timer_ends(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock, **HEAT_PUMP) as (driver, seen, rm):  # type: ignore[arg-type]
        await driver.send({"max_power_w": 0}, NOW + timedelta(hours=1))  # ON -> OFF starts MIN_OFF
        assert last(rm) == (OFF, 0.0)
        await clock.advance(60)
        # The plan wants heat again a minute later: ON is ten minutes away, so OFF it stays.
        await driver.send({"max_power_w": 3000}, NOW + timedelta(hours=1))
        assert last(rm) == (OFF, 0.0) and seen.states[-1]["setpoint_w"] == 0
        assert rm.violations == []
        await clock.advance(9 * 60 + 1)  # MIN_OFF over: the driver instructs ON itself
        await rm.until(lambda: last(rm) == (ON, 1.0))
        assert rm.violations == [] and rm.timers[RM_MIN_OFF] <= clock.now()


async def test_the_rms_own_timer_status_is_honoured_and_nothing_follows_an_expired_command(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock, **HEAT_PUMP) as (driver, _seen, rm):  # type: ignore[arg-type]
        # It started its compressor on its own two minutes ago: MIN_ON runs for eight more.
        await rm.timer_started(MIN_ON, NOW + timedelta(minutes=8))
        await rm.until(lambda: any(str(MIN_ON) in (s.timers or {}) for s in driver.actuators.values()))
        await driver.send({"max_power_w": 0}, NOW + timedelta(minutes=5))
        assert last(rm) == (ON, 0.0)  # the least it can do while it must stay on: 900 W
        # The command expires before MIN_ON ends: back to its own behaviour, ON at full power.
        await clock.advance(5 * 60)
        await rm.until(lambda: last(rm) == (ON, 1.0))
        count = len(rm.instructions)
        await clock.advance(5 * 60)  # no OFF after MIN_ON: the command it was for has expired
        await asyncio.sleep(0.05)
        assert len(rm.instructions) == count and rm.violations == []


async def test_a_command_holding_when_the_connection_drops_is_instructed_again(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock, **HEAT_PUMP) as (driver, seen, rm):  # type: ignore[arg-type]
        await driver.send({"max_power_w": 1500}, NOW + timedelta(minutes=30))
        held = last(rm)
        await rm.stop()
        await rm.until(lambda: seen.availability[-1] == (False, "RM disconnected"))
        # It comes back in its own behaviour (ON, full power): the command, still holding, is sent again.
        back = ResourceManager(rm.url, rm.resource_id, rm.secret, clock=clock, system=heat_pump(),
                               active=ON, factor=1.0)  # fmt: skip
        await back.start()
        try:
            await back.until(lambda: back.instructions and last(back) == held)
            assert seen.availability[-1] == (True, "RM connected") and back.violations == []
        finally:
            await back.stop()


async def test_the_simulated_s2_heat_pump_keeps_its_minimum_off_time(mqtt_url: str, uid: str) -> None:
    """homeflex's simulated RM (sim/protocols/s2.py) behind the heat pump's physics."""
    clock = ManualClock(NOW)
    household = SimHousehold(f"s2hp{uid}", base_load=BaseLoad(seed=4), weather=LondonWeather(seed=4),
                             devices={"heat_pump": HeatPump(indoor_c=17.0)})  # fmt: skip
    rid, secret, seen = str(uuid.uuid4()), f"heat-pump-{uid}-0123456789", Seen()
    async with Cem(CemSettings(port=0, response_timeout_s=2.0)) as cem:
        link = DeviceLink(household_id=household.id, device_id="heat_pump", kind=DeviceKind.HEAT_PUMP,
                          max_power_w=3300, clock=clock, mqtt=None, services={"s2": cem},
                          report=seen.report, availability=seen.available)  # fmt: skip
        driver = S2Driver(link, S2Address(resource_id=rid, token=secret, fill_level_is="indoor_c"))
        await driver.start()
        wiring = {"heat_pump": {"protocol": "s2", "url": cem.url, "resource_id": rid, "token": secret}}
        async with HouseholdSimulator(household, clock, mqtt_url, wiring=wiring) as simulator:
            rm = simulator.devices["heat_pump"]
            assert isinstance(rm, S2ResourceManager)
            async with asyncio.timeout(10):
                while driver.description is None or not driver.actuators:
                    await asyncio.sleep(0.02)
            settings = household.device("heat_pump").settings.values
            # Its storage is the house's heat: the fill level is the indoor temperature the planner needs.
            assert any(s.get("indoor_c") == pytest.approx(17.0, abs=0.5) for s in seen.states)
            await driver.send({"setpoint_c": 18.0, "max_power_w": 0}, NOW + timedelta(hours=1))
            assert settings.get("max_power_w") == 0
            await driver.send({"setpoint_c": 21.0, "max_power_w": 2500}, NOW + timedelta(hours=1))
            assert settings.get("max_power_w") == 0 and rm.rejected == []  # MIN_OFF holds it off
            await clock.advance(MIN_OFF.total_seconds() + 1)
            async with asyncio.timeout(10):
                while settings.get("max_power_w") != 2500:
                    await asyncio.sleep(0.02)
            assert rm.rejected == []
            await simulator.devices["heat_pump"].__aexit__(None, None, None)  # the CEM is gone for it
            assert settings.get("max_power_w") is None  # its own thermostat again
        await driver.stop()


async def test_at_expiry_its_own_mode_follows_when_the_minimum_off_time_allows(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock, **HEAT_PUMP) as (driver, _seen, rm):  # type: ignore[arg-type]
        await driver.send({"max_power_w": 0}, NOW + timedelta(minutes=5))  # ON -> OFF: MIN_OFF, 10 min
        assert last(rm) == (OFF, 0.0)
        await clock.advance(5 * 60)  # expired: its own behaviour (ON, full power) is 5 minutes away
        await rm.until(lambda: len(rm.instructions) >= 2)
        assert last(rm) == (OFF, 0.0) and rm.violations == []
        await clock.advance(5 * 60 + 1)
        await rm.until(lambda: last(rm) == (ON, 1.0))
        assert rm.violations == [] and driver.holding is None
