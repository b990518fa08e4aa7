"""A device that stops acknowledging: its commands are retried, it is marked unavailable (once), its
flexibility is no longer offered to events, and it is available again once it answers."""

from __future__ import annotations

from datetime import timedelta

from homeflex.control.loop import ControlSettings, HouseholdController
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, FlexEvent, HouseholdSpec, Stage
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.weather import LondonWeather
from homeflex.ven.decision import decide_opt
from tests.reliability.helpers import START, until

BATTERY = DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000)


def flex_event(clock: ScaledClock, event_id: str, after: timedelta) -> FlexEvent:
    return FlexEvent(
        event_id=event_id,
        modification_number=0,
        start=clock.now() + after,
        duration=timedelta(minutes=30),
        reduction_w=2000,
        price_gbp_per_mwh=1000,
    )


async def test_silent_device_is_retried_marked_unavailable_and_not_offered(mqtt_url: str, uid: str) -> None:
    hh = f"sil{uid}"
    clock = ScaledClock(START, 120.0)
    model = SimHousehold(
        hh, base_load=BaseLoad(seed=3), weather=LondonWeather(seed=3), devices={"battery": Battery(soc=0.9)}
    )
    spec = HouseholdSpec(id=hh, category=Category.B, stage=Stage.FLEX, devices=(BATTERY,))
    settings = ControlSettings(command_ttl_s=600, refresh_s=60, ack_timeout_s=0.2, ack_attempts=3)
    async with (
        HouseholdSimulator(model, clock, mqtt_url) as simulator,
        HouseholdController(spec, clock, mqtt_url, settings) as controller,
    ):
        await until(lambda: "battery" in controller.states and "meter" in controller.states, 5, "states")
        later = flex_event(clock, "later", timedelta(hours=2))
        answering = decide_opt(spec, later, clock.now(), controller.assess(later))
        assert answering.opt_in, answering.reason

        battery = simulator.devices["battery"]
        await battery.session.__aexit__(None, None, None)  # the battery goes silent
        controller.schedule_event(flex_event(clock, "now", timedelta(seconds=30)))
        await until(lambda: "battery" in controller.unavailable, 10, "the battery is marked unavailable")
        failed = [o for o in controller.outcomes if o.device_id == "battery" and not o.ok]
        assert failed[0].attempts == 3 and "no ack after 3 attempts" in (failed[0].error or "")

        silent = decide_opt(spec, later, clock.now(), controller.assess(later))
        assert not silent.opt_in
        assert silent.assessment is not None and silent.assessment.deliverable_kw == 0
        assert "can deliver only 0.00 of 2.00 kW" in silent.reason

        await battery.session.__aenter__()  # it is back (it says so) and answers again
        await until(lambda: "battery" not in controller.unavailable, 15, "the battery is available again")
        await until(lambda: controller.outcomes[-1].ok, 15, "a command to the battery is acknowledged")


async def test_a_silent_device_is_tried_again_after_a_growing_wait(mqtt_url: str, uid: str) -> None:
    """Not on every tick: a dead plug costs the loop a try after one tick, two, four... (an hour at most)."""
    hh = f"bko{uid}"
    clock = ScaledClock(START, 600.0)  # ten minutes a second
    model = SimHousehold(
        hh, base_load=BaseLoad(seed=3), weather=LondonWeather(seed=3), devices={"battery": Battery(soc=0.9)}
    )
    spec = HouseholdSpec(id=hh, category=Category.B, stage=Stage.FLEX, devices=(BATTERY,))
    settings = ControlSettings(command_ttl_s=600, refresh_s=60, ack_timeout_s=0.05, ack_attempts=1)
    async with (
        HouseholdSimulator(model, clock, mqtt_url) as simulator,
        HouseholdController(spec, clock, mqtt_url, settings) as controller,
    ):
        await until(lambda: "battery" in controller.states, 5, "states")
        await simulator.devices["battery"].session.__aexit__(None, None, None)  # silent from now on
        controller.schedule_event(flex_event(clock, "now", timedelta(seconds=30)))
        await until(lambda: "battery" in controller.unavailable, 10, "the battery is marked unavailable")
        first = clock.now()
        await until(lambda: clock.now() - first > timedelta(hours=1), 10, "an hour on")
        tries = [o for o in controller.outcomes if o.device_id == "battery" and not o.ok]
    # Every tick (60 s) would be 60 tries in the hour; 1 + 2 + 4 + 8 + 16 + 32 ticks is about six.
    assert 3 <= len(tries) <= 8, len(tries)
