"""`homeflex simulate`'s speed: households x days of 1-minute physics with the live control core, beside
the physics alone (the unmanaged run) in the same run, and projected to the goal of 1,000 households x
7 days in under 60 s on 2 cores (issue 6)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.stage_control import bounded_map, machine_lines, write
from bench.stats import summarise
from homeflex.control.core import ControlCore
from homeflex.core.clock import perf_seconds
from homeflex.core.domain import Stage
from homeflex.scenarios.household import local_midnight, observe, run_unmanaged
from homeflex.scenarios.report import summarise as summarise_group
from homeflex.scenarios.runner import ScenarioResult, pick_population, run_scenario
from homeflex.scenarios.spec import Scenario
from homeflex.sim.closedloop import run
from homeflex.sim.population import SimHouseholdConfig, build_household
from homeflex.sim.setup import forecast_for, setup_for

GOAL_HOUSEHOLDS = 1000
GOAL_S = 60.0


@dataclass(frozen=True, kw_only=True)
class Options:
    households: int = 40
    days: int = 7
    seed: int = 1
    processes: int = 2
    breakdown: int = 8  # households timed part by part in one process
    time_limit_s: float = 900.0
    cadences_h: tuple[float, ...] = (4.0,)  # plan cadences run beside the live one (0.5 h)
    results: Path | None = None


@dataclass(frozen=True, kw_only=True)
class Parts:
    """One household's seconds per part, and how many plans its managed week made."""

    observe_s: float
    managed_s: float
    unmanaged_s: float
    replans: int


def parts(job: tuple[SimHouseholdConfig, Scenario]) -> Parts:
    config, scenario = job
    household = build_household(config)
    start = local_midnight(scenario.first_day)
    t0 = perf_seconds()
    profile, _ = observe(
        config, household, start - timedelta(days=scenario.observe_days), scenario.observe_days
    )
    t1 = perf_seconds()
    setup = setup_for(config, household)
    end = start + timedelta(days=scenario.days)
    offered = (
        scenario.policy.events(scenario.first_day, scenario.days) if config.spec.stage >= Stage.FLEX else []
    )
    core = ControlCore(
        household=config.spec, setup=setup, forecast=forecast_for(household, profile), seed=config.seed
    )
    twin = copy.deepcopy(household)
    run(config.spec, twin, setup, end, profile=profile, events=offered, seed=config.seed, core=core)
    t2 = perf_seconds()
    run_unmanaged(config, household, end)
    t3 = perf_seconds()
    return Parts(observe_s=t1 - t0, managed_s=t2 - t1, unmanaged_s=t3 - t2, replans=len(core.replans))


def cadence_row(result: ScenarioResult, wall: float, days: int) -> str:
    """Speed and what the households got, for one plan cadence (all households)."""
    g = summarise_group(result.households, "all", result.scenario.variants[0].name)
    n = len(result.households)
    return (
        f"| {result.scenario.replan_h:g} h | {wall:.1f} | {n / wall:.2f} | "
        f"{wall * GOAL_HOUSEHOLDS / n * 7 / days:.0f} | {100 * g.bill_change:+.1f} % | "
        f"{100 * g.delivery_ratio:.0f} % | {g.payment_median:.2f} | {g.cold_minutes} | "
        f"{g.ev_short}/{g.ev_departures} |"
    )


def main(options: Options) -> int:
    scenario = Scenario(households=options.households, days=options.days, seed=options.seed)
    started = perf_seconds()
    result = run_scenario(scenario, processes=options.processes)
    wall = perf_seconds() - started
    cadences = [cadence_row(result, wall, options.days)]
    for hours in options.cadences_h:
        coarse = Scenario(households=options.households, days=options.days, seed=options.seed, replan_h=hours)
        t0 = perf_seconds()
        other = run_scenario(coarse, processes=options.processes)
        cadences.append(cadence_row(other, perf_seconds() - t0, options.days))
    sample = [(c, scenario) for c in pick_population(scenario)[: options.breakdown]]
    timed, complete = bounded_map(parts, sample, processes=1, time_limit_s=options.time_limit_s)
    n = len(result.households)
    projected = wall * GOAL_HOUSEHOLDS / n * 7 / options.days
    per_part = {
        "stage 1: observe (physics + learn profile)": [p.observe_s for p in timed],
        "managed days (physics + control core + plans)": [p.managed_s for p in timed],
        "reference: unmanaged days (physics alone)": [p.unmanaged_s for p in timed],
    }
    lines = [
        f"### simulate — {scenario.households} households x {scenario.days} days",
        "",
        f"`python -m bench simulate --households {options.households} --days {options.days} "
        f"--seed {options.seed}`",
        "",
        *machine_lines(options.seed),
        f"- scenario: default mix, {scenario.observe_days} observed days then {scenario.days} days managed "
        f"and unmanaged at 1-minute physics; weekday events {scenario.policy.start:%H:%M} for stage-3 "
        f"households; {options.processes} worker processes",
        f"- whole run (`run_scenario`, settlement included): {n} households in {wall:.1f} s = "
        f"{n / wall:.2f} households/s{'' if result.complete else ' (INCOMPLETE)'}",
        f"- projected 1,000 households x 7 days on {options.processes} cores (scaled linearly in households "
        f"and days): {projected:.0f} s; goal under "
        f"{GOAL_S:g} s: {'MET' if projected < GOAL_S else 'MISSED'}",
        "",
        f"Per household, one process, first {len(timed)} households"
        f"{'' if complete else ' (time limit hit)'}:",
        "",
        "| part | p50 s | max s |",
        "|---|---:|---:|",
        *(
            f"| {label} | {summarise(v).p50_s:.2f} | {summarise(v).max_s:.2f} |"
            for label, v in per_part.items()
            if v
        ),
        f"| plans per household (count) | {summarise([float(p.replans) for p in timed]).p50_s:.0f} | "
        f"{max((p.replans for p in timed), default=0)} |",
        "",
        "Plan cadence: the live one (a new plan every half-hour) beside coarser ones (a new plan when the",
        "last is this old, and on every change: a deviation, an event); same population, same run:",
        "",
        "| cadence | wall s | households/s | 1,000 x 7 days s | bill vs unmanaged | delivered/requested "
        "| £/hh median | cold min | EV short |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *cadences,
    ]
    write(lines, options.results)
    return 0
