"""One household through a scenario: stage 1 (observe and learn), then the scenario's days managed (with
the DSO's events if it is in stage 3) and unmanaged (the reference for its bill), then settlement.

``run_household`` runs one household alone through the scalar closed loop: the reference the community
engine (scenarios/community.py, every household of a batch stepped together) is compared against in
tests and in bench simulate. ``household_result`` turns either engine's ``Runs`` into the report's row.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from homeflex.control.setup import HouseholdSetup
from homeflex.core.domain import FlexEvent, Stage
from homeflex.core.timeutil import LONDON
from homeflex.scenarios.closedloop import observe_with_trace, run
from homeflex.scenarios.metered import Metered, bill_gbp, from_trace
from homeflex.scenarios.settle import (
    PERIOD_H,
    Settled,
    energy_kwh,
    pre_event_periods,
    settle_all,
    with_extra_load,
)
from homeflex.scenarios.setup import household_config_for
from homeflex.scenarios.spec import Scenario
from homeflex.sim.population import SimHouseholdConfig, build_household
from homeflex.ven.decision import OptDecision

EV_SLACK_SOC = 0.01  # a departure this far below target (or below what the unmanaged car reached) is short
GAMING_PRICE_AT = timedelta(minutes=15)  # price a half-hour's extra load at its middle


@dataclass(frozen=True, kw_only=True)
class HouseholdResult:
    household_id: str
    category: str
    vulnerable: bool
    stage: int
    devices: str
    unmanaged_gbp: float  # energy bill over the scenario days
    managed_gbp: float
    events_offered: int
    events_opted_in: int
    opt_out_reasons: tuple[str, ...]
    cold_minutes: int  # managed run, minutes below the comfort floor - COLD_SLACK_C
    cold_minutes_unmanaged: int
    ev_departures: int
    ev_short: int  # departures short of min(target, the unmanaged car's state then) - EV_SLACK_SOC
    settled: dict[str, Settled]  # per variant name
    gamed: dict[str, Settled]  # per variant, with the gaming load before each event opted in to; {} if none
    gaming_cost_gbp: float  # what the gaming load costs at the household's import price

    @property
    def bill_change(self) -> float:
        """Managed energy bill against unmanaged, as a fraction (negative: cheaper); NaN if no bill."""
        return (
            (self.managed_gbp - self.unmanaged_gbp) / abs(self.unmanaged_gbp)
            if self.unmanaged_gbp
            else math.nan
        )


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LONDON)


def ev_short(managed: Metered, unmanaged: Metered) -> int:
    reached = {when: soc for when, soc, _ in unmanaged.ev_departures}
    return sum(
        min(target, reached.get(when, target)) - soc > EV_SLACK_SOC
        for when, soc, target in managed.ev_departures
    )


@dataclass(frozen=True, kw_only=True)
class Runs:
    """What one household's simulation gives settlement and the report, from either engine."""

    events: list[FlexEvent]  # offered
    history: Metered  # stage 1, observed
    managed: Metered
    unmanaged: Metered
    decisions: Mapping[str, OptDecision]  # per offered event
    setup: HouseholdSetup


def simulate(config: SimHouseholdConfig, scenario: Scenario) -> Runs:
    """One household alone (the scalar closed loop): stage 1 over the observe days, then the scenario's
    days managed (with events in stage 3) and unmanaged, both from the same observed state."""
    household = build_household(config)
    start = local_midnight(scenario.first_day)
    observe_start = start - timedelta(days=scenario.observe_days)
    profile, history = observe_with_trace(household, observe_start, scenario.observe_days)
    # The household's configuration document, as a real one has it from the portal; after observing, so
    # that a dynamic tariff's prices start here.
    setup = HouseholdSetup.of(household_config_for(config, household))
    end = start + timedelta(days=scenario.days)
    offered = offered_events(config, scenario)
    twin = copy.deepcopy(household)
    managed = run(
        config.spec,
        twin,
        setup,
        end,
        profile=profile,
        events=offered,
        seed=config.seed,
        replan_every=timedelta(hours=scenario.replan_h),
    )
    unmanaged = run(config.spec, household, setup, end, profile=None, managed=False)
    floor = setup.preferences.comfort_min_c if config.heat_pump else None
    return Runs(
        events=[e for _, e in offered],
        history=from_trace(history),
        managed=from_trace(managed, floor),
        unmanaged=from_trace(unmanaged, floor),
        decisions=managed.decisions,
        setup=setup,
    )


def offered_events(config: SimHouseholdConfig, scenario: Scenario) -> list[tuple[datetime, FlexEvent]]:
    """(notice time, event) for a household in stage 3; none for the others."""
    if config.spec.stage < Stage.FLEX:
        return []
    return scenario.policy.events(scenario.first_day, scenario.days)


def settle_variants(
    household_id: str, runs: Runs, scenario: Scenario, energy: dict[datetime, float]
) -> dict[str, Settled]:
    opted = {event_id: d.opt_in for event_id, d in runs.decisions.items()}
    return {
        v.name: settle_all(household_id, runs.events, opted, energy, v.rules()) for v in scenario.variants
    }


def run_household(job: tuple[SimHouseholdConfig, Scenario]) -> HouseholdResult:
    config, scenario = job
    return household_result(config, scenario, simulate(config, scenario))


def household_result(config: SimHouseholdConfig, scenario: Scenario, runs: Runs) -> HouseholdResult:
    spec, managed, unmanaged, setup = config.spec, runs.managed, runs.unmanaged, runs.setup
    energy = energy_kwh({**runs.history.net_kw, **managed.net_kw})
    # A gamer raises its load only before the events it opted in to: it is paid for no others.
    opted_in = [e for e in runs.events if (d := runs.decisions.get(e.event_id)) is not None and d.opt_in]
    gaming = pre_event_periods(opted_in, scenario.gaming_h) if scenario.gaming_kw > 0 else []
    gamed = with_extra_load(energy, gaming, scenario.gaming_kw)
    decisions = runs.decisions.values()
    return HouseholdResult(
        household_id=spec.id,
        category=str(spec.category),
        vulnerable=spec.vulnerable,
        stage=int(spec.stage),
        devices="+".join(d.id for d in spec.devices) or "none",
        unmanaged_gbp=bill_gbp(setup.tariff, unmanaged),
        managed_gbp=bill_gbp(setup.tariff, managed),
        events_offered=len(runs.events),
        events_opted_in=sum(d.opt_in for d in decisions),
        opt_out_reasons=tuple(d.reason for d in decisions if not d.opt_in),
        cold_minutes=managed.cold_minutes,
        cold_minutes_unmanaged=unmanaged.cold_minutes,
        ev_departures=len(managed.ev_departures),
        ev_short=ev_short(managed, unmanaged),
        settled=settle_variants(spec.id, runs, scenario, energy),
        gamed=settle_variants(spec.id, runs, scenario, gamed) if gaming else {},
        gaming_cost_gbp=sum(
            scenario.gaming_kw * PERIOD_H * setup.tariff.import_price(p + GAMING_PRICE_AT) for p in gaming
        ),
    )
