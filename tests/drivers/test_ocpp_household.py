"""A household whose configuration document says its EV charger speaks OCPP: the household agent's control
loop (HouseholdController) with the central system from driver_services curtails the car for an event
through a charging profile with the command's expiry, and reads the car back from the charger. A running
agent whose new configuration version adds the charger starts the central system for it (and stops it
when a later version drops the charger), without a restart."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeflex.control.loop import ControlSettings, HouseholdController
from homeflex.core import topics
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import FlexEvent
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DriverServices, driver_services
from homeflex.household import HouseholdConfig, parse_config
from homeflex.household.follow import ConfigFollower, protocols_of
from homeflex.mqtt import MqttSession
from homeflex.settings import load_settings
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.protocols.ocpp import OcppCharger
from tests.drivers.rigs.ocpp import PASSWORD, ev_household, limit, until

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)


def ocpp_config(hh: str, cp_id: str, version: int = 1, *, charger: bool = True) -> HouseholdConfig:
    ev = {
        "id": "ev",
        "kind": "ev_charger",
        "max_power_w": 7400,
        "protocol": "ocpp",
        "address": {"charge_point_id": cp_id, "password": PASSWORD},
        "product": "Wallbox",
    }
    return parse_config(
        {
            "household_id": hh,
            "version": version,
            "category": "B",
            "stage": 3,
            "devices": [ev] if charger else [],
        }
    )


async def test_the_control_loop_curtails_an_ocpp_charger_for_an_event(mqtt_url: str, uid: str) -> None:
    hh, cp_id = f"hhocpp{uid}", f"cp-{uid}"
    config = ocpp_config(hh, cp_id)
    clock = ScaledClock(START, 60.0)
    settings = ControlSettings(command_ttl_s=600, refresh_s=300)
    async with driver_services(["ocpp"], load_settings(path=None, env={}, ocpp_port=0)) as services:
        wiring = {
            "ev": {
                "protocol": "ocpp",
                "url": services["ocpp"].url,
                "charge_point_id": cp_id,
                "password": PASSWORD,
            }
        }
        async with (
            HouseholdController(config, clock, mqtt_url, settings, services=services) as controller,
            HouseholdSimulator(ev_household(hh), clock, mqtt_url, wiring=wiring) as simulator,
        ):
            charger = simulator.devices["ev"]
            assert isinstance(charger, OcppCharger)
            await until(
                lambda: controller.states.get("ev", {}).get("plugged") and "meter" in controller.states
            )
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
            await until(
                lambda: any(o.phase == "curtail" and o.device_id == "ev" for o in controller.outcomes), 20
            )
            (curtail,) = [o for o in controller.outcomes if o.phase == "curtail" and o.device_id == "ev"]
            assert curtail.ok, curtail
            (command,) = [p for p in charger.stack.profiles if p.stack_level == 1]
            assert command.valid_to is not None and command.valid_to > clock.now()  # the command's expiry
            assert limit(simulator.household) == command.periods[0].limit < 7400


async def test_a_new_version_adding_an_ocpp_charger_starts_the_central_system_without_restart(
    mqtt_url: str, uid: str
) -> None:
    hh, cp_id = f"hhocppnew{uid}", f"cp-new-{uid}"
    first = ocpp_config(hh, cp_id, charger=False)  # no charger yet: no central system
    clock = ScaledClock(START, 60.0)
    platform = load_settings(path=None, env={}, ocpp_port=0)
    async with (
        DriverServices(platform, protocols_of(first)) as services,
        HouseholdController(first, clock, mqtt_url, services=services.running) as controller,
        ConfigFollower(controller, services) as follower,
        MqttSession(mqtt_url, f"portal-{uid}") as portal,
    ):
        assert services.running == {}
        try:
            await portal.publish(topics.config(hh), ocpp_config(hh, cp_id, 2).to_json(), retain=True)
            await until(lambda: follower.applied == [2])
            central = services.running["ocpp"]
            # The charger dials the central system the new version started; the agent reads the car.
            wiring = {
                "ev": {"protocol": "ocpp", "url": central.url, "charge_point_id": cp_id, "password": PASSWORD}
            }
            async with HouseholdSimulator(ev_household(hh), clock, mqtt_url, wiring=wiring):
                await until(lambda: controller.states.get("ev", {}).get("plugged") is True)
                assert "ev" not in controller.unavailable
                # Stage 3 with the car plugged in: the loop commands it through the new central system.
                await until(lambda: any(o.device_id == "ev" and o.ok for o in controller.outcomes), 20)
            # A later version without the charger stops the central system it no longer needs.
            await portal.publish(
                topics.config(hh), ocpp_config(hh, cp_id, 3, charger=False).to_json(), retain=True
            )
            await until(lambda: follower.applied == [2, 3])
            assert services.running == {} and "ocpp" not in controller.services and not controller.drivers
        finally:
            await portal.publish(topics.config(hh), b"", retain=True)
