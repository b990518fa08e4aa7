"""A batch of a scenario's households run as one community: every household's physics is stepped at once
(homeflex/sim/fleet, numpy over households, a minute at a time), while each household keeps its own
control core and VEN rule (``closedloop.Controlled``, the code the scalar closed loop and the live
controller drive), woken as the live loop wakes: when its core asks, when its car comes or goes, and
when an event's notice arrives. Then each household is settled alone, as ``household.run_household``
settles it.

Wake-ups fall on the minute grid: a core asking for 18:32:17 is woken at 18:33, where the scalar closed
loop would step a part-minute to meet it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np

from homeflex.control.core import ControlCore
from homeflex.control.setup import HouseholdSetup
from homeflex.scenarios.closedloop import Controlled, profile_from
from homeflex.scenarios.household import (
    HouseholdResult,
    Runs,
    household_result,
    local_midnight,
    offered_events,
)
from homeflex.scenarios.metered import COLD_SLACK_C, Metered
from homeflex.scenarios.setup import forecast_for, household_config_for
from homeflex.scenarios.spec import Scenario
from homeflex.sim.fleet.fleet import Fleet
from homeflex.sim.fleet.grid import STEP_US, to_us
from homeflex.sim.fleet.recorder import PhaseRecord
from homeflex.sim.population import SimHouseholdConfig, build_household

TICK_S = 300.0  # the live loop's refresh (control/loop.py LoopSettings.refresh_s)


DayDone = Callable[[int], None]  # called with the batch's household count after each simulated day


def run_batch(
    job: tuple[Sequence[SimHouseholdConfig], Scenario], on_day: DayDone | None = None
) -> list[HouseholdResult]:
    """Stage 1 over the observe days, then the scenario's days managed (with events in stage 3) and
    unmanaged from the same observed state, for every household of the batch together."""
    configs, scenario = job
    start = local_midnight(scenario.first_day)
    end = start + timedelta(days=scenario.days)
    fleet = Fleet(configs, start - timedelta(days=scenario.observe_days))
    day_done = functools.partial(on_day or (lambda _: None), len(configs))
    fleet.record()
    by_day(fleet, start, fleet.advance_to, day_done)
    observed = fleet.stop_recording()
    # Each household's configuration document, as a real one has it from the portal (a dynamic tariff's
    # prices start here).
    setups = [HouseholdSetup.of(household_config_for(c, now=start)) for c in configs]
    floors = np.array([s.preferences.comfort_min_c for s in setups]) - COLD_SLACK_C
    unmanaged_fleet = fleet.copy()
    controls, histories = [], [metered(observed, i, devices=True) for i in range(len(configs))]
    for config, setup, history in zip(configs, setups, histories, strict=True):
        profile = profile_from(
            config.spec.id, history.net_kw, history.device_kw, history.outdoor_c, as_of=start
        )
        core = ControlCore(
            household=config.spec,
            setup=setup,
            forecast=forecast_for(build_household(config), profile),
            seed=config.seed,
            replan_every=timedelta(hours=scenario.replan_h),
        )
        controls.append(Controlled(core, offered_events(config, scenario)))
    fleet.record(floors)
    by_day(fleet, end, Driver(fleet, controls, tick_s=scenario.tick_s).until, day_done)
    managed = fleet.stop_recording()
    unmanaged_fleet.record(floors)
    by_day(unmanaged_fleet, end, unmanaged_fleet.advance_to, day_done)
    unmanaged = unmanaged_fleet.stop_recording()
    return [
        household_result(
            config,
            scenario,
            Runs(
                events=[e for _, e in offered_events(config, scenario)],
                history=histories[i],
                managed=metered(managed, i),
                unmanaged=metered(unmanaged, i),
                decisions=controls[i].decisions,
                setup=setups[i],
            ),
        )
        for i, config in enumerate(configs)
    ]


def by_day(
    fleet: Fleet, end: datetime, advance: Callable[[datetime], None], day_done: Callable[[], None]
) -> None:
    """``advance`` the fleet to ``end`` a day at a time, saying so after each day (for progress)."""
    while fleet.now < end:
        advance(min(fleet.now + timedelta(days=1), end))
        day_done()


class Driver:
    """Steps a fleet, waking each household's control when it is due (see the module); every core
    decides at the first step. Kept between calls, so a run can go a day at a time."""

    def __init__(self, fleet: Fleet, controls: Sequence[Controlled], *, tick_s: float = TICK_S) -> None:
        self.fleet, self.controls, self.tick_s = fleet, controls, tick_s
        self.wake = np.zeros(fleet.n, dtype=np.int64)  # µs since the epoch: 0 is due now
        self.plugged = fleet.ev.plugged.copy()

    def until(self, end: datetime) -> None:
        fleet = self.fleet
        while fleet.now < end:
            now, now_us = fleet.now, fleet.time_us
            due = np.flatnonzero((self.wake <= now_us) | (fleet.ev.plugged != self.plugged))
            self.plugged = fleet.ev.plugged.copy()
            for i in due.tolist():
                control = self.controls[i]
                control.tick(now, fleet.states(i), functools.partial(fleet.apply, i))
                wake = to_us(control.next_wake(now, self.tick_s))
                self.wake[i] = -(-wake // STEP_US) * STEP_US  # up to the minute
            fleet.step()


def metered(record: PhaseRecord, i: int, *, devices: bool = False) -> Metered:
    """Household ``i``'s column of a fleet phase, as ``metered.from_trace`` summarises a scalar trace;
    ``devices``: with each of its devices' and the outdoor means (for learning its profile)."""
    owned = {d: s for d, s in record.device_kw.items() if devices and not np.isnan(s[:, i]).all()}
    return Metered(
        net_kw=record.half_hourly(record.net_kw, i),
        import_kwh=record.half_hourly(record.import_kwh, i),
        export_kwh=record.half_hourly(record.export_kwh, i),
        cold_minutes=int(record.indoor_below_minutes[i]),
        ev_departures=tuple(record.ev_departures[i]),
        device_kw={d: record.half_hourly(s, i) for d, s in owned.items()},
        outdoor_c=dict(zip(record.periods, record.outdoor_c.tolist(), strict=True)) if devices else {},
    )
