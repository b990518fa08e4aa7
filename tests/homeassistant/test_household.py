"""The household agent runs a heat pump that Home Assistant controls, from the household's
configuration: the control loop's setpoints reach the thermostat entity through an event (its curtail,
refresh and restore), the entity's state comes back to the loop, and when the agent stops nothing
restores the entity (the README says so: the expiry is emulated)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from homeflex.control.loop import ControlSettings, HouseholdController
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import FlexEvent
from homeflex.core.timeutil import LONDON
from homeflex.household import parse_config
from tests.homeassistant.harness import ENTITIES, HomeAssistant

pytestmark = pytest.mark.homeassistant

START = datetime(2026, 12, 2, 17, 0, tzinfo=LONDON)


async def until(predicate: Callable[[], object], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_the_agent_drives_a_home_assistant_heat_pump_through_an_event(
    ha: HomeAssistant, mqtt_url: str, uid: str
) -> None:
    # The thermostat's own target, one the loop never asks for (its comfort band is 19-22 °C).
    await asyncio.to_thread(ha.call, "climate", "set_temperature",
                            {"entity_id": ENTITIES["thermostat"], "temperature": 25})  # fmt: skip
    clock = ScaledClock(START, 60.0)  # a minute a second
    address = {"url": ha.url, "token": ha.token, "entity_id": ENTITIES["thermostat"],
               "power_entity_id": ENTITIES["heat_pump_power"], "timeout_s": 3.0}  # fmt: skip
    config = parse_config(
        {
            "household_id": f"ha{uid}",
            "version": 1,
            "category": "B",
            "stage": 3,
            "devices": [
                {
                    "id": "heat_pump",
                    "kind": "heat_pump",
                    "max_power_w": 3000,
                    "protocol": "home_assistant",
                    "address": address,
                }
            ],
            "equipment": {"building": {"htc_w_per_k": 180}},
            "preferences": {"comfort_min_c": 19.0, "comfort_max_c": 22.0},
        }
    )
    settings = ControlSettings(command_ttl_s=600, refresh_s=300)
    async with HouseholdController(config, clock, mqtt_url, settings) as controller:
        await until(lambda: controller.states.get("heat_pump", {}).get("indoor_c") == 19.5)
        controller.schedule_event(
            FlexEvent(
                event_id="e1",
                modification_number=0,
                start=clock.now() + timedelta(minutes=2),
                duration=timedelta(minutes=20),
                reduction_w=1500,
                price_gbp_per_mwh=1000,
            )
        )

        def phases() -> set[str]:
            return {o.phase for o in controller.outcomes if o.event_id == "e1" and o.device_id == "heat_pump"}

        await until(lambda: {"curtail", "restore"} <= phases(), 60)
        assert all(o.ok for o in controller.outcomes), [o for o in controller.outcomes if not o.ok]
        target = (await asyncio.to_thread(ha.state, ENTITIES["thermostat"]))["attributes"]["temperature"]
        assert 19.0 <= target <= 22.0  # the comfort band, said as the thermostat's target
        assert controller.states["heat_pump"]["setpoint_c"] == target  # read back from state_changed
    # The agent is gone: nothing restores the entity (emulated expiry), the last command stays.
    await asyncio.sleep(1)
    assert (await asyncio.to_thread(ha.state, ENTITIES["thermostat"]))["attributes"]["temperature"] == target
