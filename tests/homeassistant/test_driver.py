"""The home_assistant driver against a real Home Assistant (tests/homeassistant/harness.py): a heat
pump's thermostat followed through an event (homeflex's setpoint, the entity's state back, restored at
the expiry), the cap's mapping, a change made in Home Assistant meanwhile, the other entity kinds, and
hostile input: a wrong token, an unknown entity, junk and unavailable states."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from homeflex.core.clock import ScaledClock
from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DRIVERS, DeviceLink, DeviceRefused, DeviceUnreachable
from homeflex.drivers.home_assistant import HomeAssistantDriver
from tests.drivers.rigs import Seen
from tests.homeassistant.harness import ENTITIES, HomeAssistant

pytestmark = pytest.mark.homeassistant

INFO = DRIVERS.get("home_assistant")
START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)
THERMOSTAT = ENTITIES["thermostat"]


async def until(predicate: Callable[[], object], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def state(ha: HomeAssistant, entity_id: str) -> dict[str, Any]:
    return await asyncio.to_thread(ha.state, entity_id)


async def target(ha: HomeAssistant) -> object:
    return (await state(ha, THERMOSTAT))["attributes"].get("temperature")


async def eventually(ha: HomeAssistant, entity_id: str, check: Callable[[dict[str, Any]], bool]) -> None:
    async with asyncio.timeout(10):
        while not check(await state(ha, entity_id)):
            await asyncio.sleep(0.05)


async def call(ha: HomeAssistant, domain: str, service: str, **data: Any) -> None:
    await asyncio.to_thread(ha.call, domain, service, data)


@asynccontextmanager
async def driver(
    ha: HomeAssistant, kind: DeviceKind, clock: ScaledClock | None = None, **address: Any
) -> AsyncIterator[tuple[HomeAssistantDriver, Seen]]:
    seen = Seen()
    link = DeviceLink(
        household_id="hatest",
        device_id=kind.value,
        kind=kind,
        max_power_w=3000,
        clock=clock or ScaledClock(START),
        mqtt=None,
        report=seen.report,
        availability=seen.available,
    )
    raw = {"url": ha.url, "token": ha.token, "timeout_s": 3.0, "retry_max_s": 0.5, **address}
    d = INFO.build(link, INFO.parse(raw))
    assert isinstance(d, HomeAssistantDriver)
    await d.start()
    try:
        yield d, seen
    finally:
        await d.stop()


async def test_a_heat_pump_is_followed_through_an_event_and_restored_at_expiry(ha: HomeAssistant) -> None:
    clock = ScaledClock(START, 60.0)  # a minute a second
    async with driver(ha, DeviceKind.HEAT_PUMP, clock, entity_id=THERMOSTAT,
                      power_entity_id=ENTITIES["heat_pump_power"],
                      energy_entity_id=ENTITIES["heat_pump_energy"]) as (d, seen):  # fmt: skip
        await until(lambda: seen.states)
        assert seen.states[-1] == {
            "setpoint_c": 20.0,
            "indoor_c": 19.5,
            "power_w": 0.0,
            "energy_wh": 1234500.0,
        }
        # The event: pre-heat to 22.5 °C for 4 minutes (the heat pump adapter's settings, no cap).
        assert (
            await d.send({"setpoint_c": 22.5, "max_power_w": None}, clock.now() + timedelta(minutes=4)) == 1
        )
        assert await target(ha) == 22.5
        await until(lambda: seen.states[-1].get("setpoint_c") == 22.5)  # state_changed came back
        # The pump runs: its power sensor moves, the driver reads it.
        await call(ha, "input_number", "set_value", entity_id="input_number.heat_pump_power", value=1800)
        await until(lambda: seen.states[-1].get("power_w") == 1800.0)
        # The expiry: the thermostat's own target again, said back by Home Assistant.
        await until(lambda: seen.states[-1].get("setpoint_c") == 20.0)
        assert await target(ha) == 20.0
        assert seen.availability == [(True, "Home Assistant answers")]


async def test_successive_commands_restore_the_value_from_before_the_first(ha: HomeAssistant) -> None:
    """An event's commands follow each other (each tick's plan): the expiry gives back the thermostat's
    own target, not the previous command's, and homeflex's own changes are not taken for someone's."""
    clock = ScaledClock(START, 60.0)
    async with driver(ha, DeviceKind.HEAT_PUMP, clock, entity_id=THERMOSTAT) as (d, seen):
        await d.send({"setpoint_c": 23.0, "max_power_w": None}, clock.now() + timedelta(minutes=30))
        await d.send({"setpoint_c": 21.5, "max_power_w": None}, clock.now() + timedelta(minutes=30))
        await d.send({"setpoint_c": 22.0, "max_power_w": None}, clock.now() + timedelta(minutes=3))
        assert await target(ha) == 22.0
        await until(lambda: seen.states[-1].get("setpoint_c") == 20.0)
        assert await target(ha) == 20.0


async def test_a_cap_pulls_the_target_towards_the_indoor_temperature(ha: HomeAssistant) -> None:
    async with driver(ha, DeviceKind.HEAT_PUMP, entity_id=THERMOSTAT) as (d, _):
        await d.send({"setpoint_c": 22.0, "max_power_w": 1500}, None)  # half of 3000 W: 19.5 + 1.25
        assert await target(ha) == 20.5  # down to the thermostat's 0.5 °C step
        await d.send({"setpoint_c": None, "max_power_w": None}, None)  # back to its own behaviour
        assert await target(ha) == 20.0


async def test_a_setpoint_out_of_the_entity_range_is_refused_by_home_assistant(ha: HomeAssistant) -> None:
    async with driver(ha, DeviceKind.HEAT_PUMP, entity_id=THERMOSTAT) as (d, _):
        with pytest.raises(DeviceRefused, match="service_validation_error") as err:
            await d.send({"setpoint_c": 5.0, "max_power_w": None}, None)  # min_temp is 7
        assert not err.value.transient
        assert await target(ha) == 20.0


async def test_a_change_made_in_home_assistant_meanwhile_is_not_undone(
    ha: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock = ScaledClock(START, 60.0)
    async with driver(ha, DeviceKind.HEAT_PUMP, clock, entity_id=THERMOSTAT) as (d, _):
        await d.send({"setpoint_c": 23.0, "max_power_w": None}, clock.now() + timedelta(minutes=3))
        await call(ha, "climate", "set_temperature", entity_id=THERMOSTAT, temperature=21)  # the householder
        await until(lambda: any("left as is" in r.getMessage() for r in caplog.records))
        assert await target(ha) == 21.0


async def test_a_plug_an_ev_charger_and_a_battery_mode(ha: HomeAssistant) -> None:
    async with driver(ha, DeviceKind.SMART_PLUG, entity_id=ENTITIES["plug"],
                      power_entity_id=ENTITIES["plug_power"]) as (d, seen):  # fmt: skip
        await d.send({"on": False}, None)
        await eventually(ha, ENTITIES["plug"], lambda s: s["state"] == "off")
        await until(lambda: seen.states[-1] == {"on": False, "power_w": 0.0})
        await d.send({"on": None}, None)
        await eventually(ha, ENTITIES["plug"], lambda s: s["state"] == "on")
    async with driver(ha, DeviceKind.EV_CHARGER, entity_id=ENTITIES["ev_current"]) as (d, seen):
        await d.send({"max_power_w": 2300}, None)  # 10 A at 230 V
        await eventually(ha, ENTITIES["ev_current"], lambda s: s["state"] == "10.0")
        await until(lambda: seen.states[-1] == {"max_power_w": 2300.0})
        with pytest.raises(DeviceRefused, match="minimum"):
            await d.send({"max_power_w": 0}, None)
        await d.send({"max_power_w": None}, None)
        await eventually(ha, ENTITIES["ev_current"], lambda s: s["state"] == "16.0")
    async with driver(ha, DeviceKind.BATTERY, entity_id=ENTITIES["battery_mode"]) as (d, _):
        await d.send({"power_w": 2000}, None)
        await eventually(ha, ENTITIES["battery_mode"], lambda s: s["state"] == "charge")
        await d.send({"power_w": -1500}, None)
        await eventually(ha, ENTITIES["battery_mode"], lambda s: s["state"] == "discharge")
        await d.send({"power_w": None}, None)  # the mode before homeflex's first command
        await eventually(ha, ENTITIES["battery_mode"], lambda s: s["state"] == "auto")


async def test_a_wrong_token_is_refused_for_good_saying_what_to_do(ha: HomeAssistant) -> None:
    async with driver(ha, DeviceKind.HEAT_PUMP, entity_id=THERMOSTAT, token="not-a-valid-token") as (d, seen):
        await until(lambda: seen.availability)
        up, why = seen.availability[-1]
        assert not up and "refused the access token" in why
        with pytest.raises(DeviceRefused, match="make a new long-lived token") as err:
            await d.send({"setpoint_c": 22.0, "max_power_w": None}, None)
        assert not err.value.transient
        assert d._task is not None
        await asyncio.wait_for(asyncio.shield(d._task), 5)  # a refused token is not tried again
    assert await target(ha) == 20.0


async def test_an_unknown_entity_is_said_at_start_and_refused(
    ha: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with driver(ha, DeviceKind.HEAT_PUMP, entity_id="climate.no_such_pump") as (d, seen):
        assert any("unknown entity climate.no_such_pump" in r.getMessage() for r in caplog.records)
        assert seen.availability == [(False, seen.availability[0][1])]
        assert "unknown entity" in seen.availability[0][1]
        with pytest.raises(DeviceRefused, match=r"unknown entity climate\.no_such_pump"):
            await d.send({"setpoint_c": 22.0, "max_power_w": None}, None)


async def test_junk_and_unavailable_states_from_home_assistant(
    ha: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with driver(ha, DeviceKind.EV_CHARGER, entity_id=ENTITIES["ev_current"],
                      power_entity_id=ENTITIES["heat_pump_power"]) as (d, seen):  # fmt: skip
        await asyncio.to_thread(
            ha.set_state, ENTITIES["heat_pump_power"], "banana", {"unit_of_measurement": "W"}
        )
        await asyncio.to_thread(
            ha.set_state, ENTITIES["ev_current"], "16", {"unit_of_measurement": "parsecs"}
        )
        await until(lambda: sum("unreadable state" in r.getMessage() for r in caplog.records) >= 1)
        # Home Assistant says the charger is gone: unavailable (once), commands wait.
        await asyncio.to_thread(ha.set_state, ENTITIES["ev_current"], "unavailable", {})
        await until(lambda: seen.availability and not seen.availability[-1][0])
        with pytest.raises(DeviceUnreachable, match="unavailable"):
            await d.send({"max_power_w": 2300}, None)
        # It is back when its integration writes its state again.
        await call(ha, "input_number", "set_value", entity_id="input_number.ev_current", value=12)
        await until(lambda: seen.availability[-1][0])
        await d.send({"max_power_w": 2300}, None)
        await eventually(ha, ENTITIES["ev_current"], lambda s: s["state"] == "10.0")
        assert [up for up, _ in seen.availability] == [True, False, True]
