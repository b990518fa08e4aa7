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
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from homeflex.control.core import ControlCore
from homeflex.scenarios.household import (
    HouseholdResult,
    Runs,
    household_result,
    local_midnight,
    offered_events,
)
from homeflex.scenarios.metered import COLD_SLACK_C, Metered
from homeflex.scenarios.spec import Scenario
from homeflex.sim.closedloop import Controlled, profile_from
from homeflex.sim.fleet.fleet import Fleet
from homeflex.sim.fleet.grid import STEP_US, to_us
from homeflex.sim.fleet.recorder import PhaseRecord
from homeflex.sim.population import SimHouseholdConfig, build_household
from homeflex.sim.setup import forecast_for, setup_for

TICK_S = 300.0  # the live loop's refresh (control/loop.py LoopSettings.refresh_s)


def run_batch(job: tuple[Sequence[SimHouseholdConfig], Scenario]) -> list[HouseholdResult]:
    """Stage 1 over the observe days, then the scenario's days managed (with events in stage 3) and
    unmanaged from the same observed state, for every household of the batch together."""
    configs, scenario = job
    start = local_midnight(scenario.first_day)
    end = start + timedelta(days=scenario.days)
    fleet = Fleet(configs, start - timedelta(days=scenario.observe_days))
    fleet.record()
    fleet.advance_to(start)
    observed = fleet.stop_recording()
    setups = [setup_for(c, now=start) for c in configs]  # a dynamic tariff's prices start here
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
    drive(fleet, controls, end, tick_s=scenario.tick_s)
    managed = fleet.stop_recording()
    unmanaged_fleet.record(floors)
    unmanaged_fleet.advance_to(end)
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


def drive(fleet: Fleet, controls: Sequence[Controlled], end: datetime, *, tick_s: float = TICK_S) -> None:
    """Step the fleet to ``end``, waking each household's control when it is due (see the module)."""
    wake = np.full(fleet.n, fleet.time_us, dtype=np.int64)  # every core decides at the start
    plugged = fleet.ev.plugged.copy()
    while fleet.now < end:
        now, now_us = fleet.now, fleet.time_us
        due = np.flatnonzero((wake <= now_us) | (fleet.ev.plugged != plugged))
        plugged = fleet.ev.plugged.copy()
        for i in due.tolist():
            control = controls[i]
            control.tick(now, fleet.states(i), functools.partial(fleet.apply, i))
            wake[i] = -(-to_us(control.next_wake(now, tick_s)) // STEP_US) * STEP_US  # up to the minute
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
