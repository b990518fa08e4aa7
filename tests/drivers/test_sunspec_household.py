"""The household agent runs a battery and a PV inverter that speak SunSpec, from the household's
configuration document: it reads their state, and an event's command reaches the battery as storage
controls with the command's expiry in InOutWRte_RvrtTms."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from homeflex.control.loop import ControlSettings, HouseholdController
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import FlexEvent
from homeflex.core.timeutil import LONDON
from homeflex.household import parse_config
from tests.drivers.rigs.sunspec import FAST, power, sunspec_device, until

START = datetime(2026, 12, 2, 17, 0, tzinfo=LONDON)


async def test_the_agent_drives_a_sunspec_battery_for_an_event(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 60.0)
    async with sunspec_device(mqtt_url, uid, clock) as device:

        def address(device_id: str) -> dict[str, object]:
            return {"host": "127.0.0.1", "port": device.wiring[device_id]["port"], **FAST}

        config = parse_config(
            {
                "household_id": device.household.id,
                "version": 1,
                "category": "B",
                "stage": 3,
                "devices": [
                    {"id": "battery", "kind": "battery", "max_power_w": 5000, "protocol": "sunspec",
                     "address": address("battery"), "product": "Fronius GEN24 Plus"},
                    {"id": "pv", "kind": "pv", "max_power_w": 3680, "protocol": "sunspec",
                     "address": address("pv")},
                ],
            }
        )  # fmt: skip
        settings = ControlSettings(command_ttl_s=600, refresh_s=300)
        async with HouseholdController(config, clock, mqtt_url, settings) as controller:
            await until(lambda: "soc" in controller.states.get("battery", {}) and "pv" in controller.states)
            soc = device.household.device("battery").soc  # ChaState has 0.1 % steps; the SoC moves
            assert controller.states["battery"]["soc"] == pytest.approx(soc, abs=0.005)
            controller.schedule_event(
                FlexEvent(
                    event_id="e1",
                    modification_number=0,
                    start=clock.now() + timedelta(minutes=2),
                    duration=timedelta(minutes=30),
                    reduction_w=2000,
                    price_gbp_per_mwh=1000,
                )
            )

            def curtails() -> list[object]:
                return [o for o in controller.outcomes if o.phase == "curtail" and o.device_id == "battery"]

            await until(curtails, 20)
            (curtail,) = curtails()
            assert curtail.ok, curtail
            endpoint = device.endpoint("battery")
            assert endpoint.get(124, "StorCtl_Mod") == 3
            assert isinstance(power(device.household), float)
            timeout_s = endpoint.get(124, "InOutWRte_RvrtTms")
            assert isinstance(timeout_s, int) and 0 < timeout_s <= 600  # the command's expiry, on the device
