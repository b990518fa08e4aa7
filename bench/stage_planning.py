"""Planning speed: one household's stage-2 plan (build_problem + make_schedule, 36 h of half-hours) from
real states, per household and for a thousand households on two cores, beside a bare HiGHS solve of the
same LP (the reference: what the solver alone costs).

States are those of simulated households after 14 observed days (the profile they learned gives the base
load), taken at several times of one day so EVs, batteries and houses are in different states.

`python -m bench planning [--households 100] [--instants 10] [--seed 2]`
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import highspy

from bench.stage_control import bounded_map, local_midnight, machine_lines, observed, write
from bench.stats import Summary, summarise
from homeflex.control.devices import States
from homeflex.control.forecast import Forecast
from homeflex.control.planner.model import build
from homeflex.control.planner.solve import _solve
from homeflex.control.schedule import HORIZON_H, STEP_H, build_problem, horizon_start, make_schedule, n_steps
from homeflex.control.setup import HouseholdSetup
from homeflex.core.clock import WallClock, perf_seconds
from homeflex.core.domain import HouseholdSpec
from homeflex.scenarios.setup import forecast_for, setup_for
from homeflex.sim.population import SimHouseholdConfig, make_population

CHUNK = 25  # plans per task sent to a worker


@dataclass(frozen=True, kw_only=True)
class Options:
    households: int = 100
    instants: int = 10  # states taken per household over one day
    seed: int = 2
    day: date = date(2026, 1, 7)
    processes: int = 2
    time_limit_s: float = 600.0  # per phase
    goal_s: float = 20.0
    results: Path | None = None


@dataclass(frozen=True, kw_only=True)
class PlanInput:
    """What the loop hands the planner: no simulator inside, so it crosses to a worker process."""

    spec: HouseholdSpec
    setup: HouseholdSetup
    forecast: Forecast
    states: States
    now: datetime
    forecast_s: float  # how long the forecast took (not part of the plan time)


def snapshots(job: tuple[SimHouseholdConfig, Options]) -> list[PlanInput]:
    """The household's states at ``instants`` times spread over the day after its 14 observed days."""
    config, options = job
    household, profile = observed(config, options.day)
    setup = setup_for(config, household)
    source = forecast_for(household, profile)
    out = []
    for k in range(options.instants):
        household.advance_to(
            local_midnight(options.day) + timedelta(hours=24 * k / options.instants, minutes=7)
        )
        assert household.time is not None
        states: dict[str, dict[str, object]] = {d: household.device_state(d) for d in household.devices}
        states["meter"] = {"power_w": round(household.power_w, 1)}
        started = perf_seconds()
        forecast = source.forecast(horizon_start(household.time), n_steps(), STEP_H)
        took = perf_seconds() - started
        out.append(
            PlanInput(
                spec=config.spec,
                setup=setup,
                forecast=forecast,
                states=states,
                now=household.time,
                forecast_s=took,
            )
        )
    return out


def plan_one(item: PlanInput) -> tuple[bool, int]:
    """Our planning path: the problem from what the loop knows, then the schedule (with fallbacks)."""
    problem = build_problem(item.spec, item.setup, item.forecast, item.states, item.now)
    schedule = make_schedule(problem)
    return schedule.ok, len(schedule.fallbacks)


def bare_one(item: PlanInput) -> bool:
    """The reference: the same LP built and handed to HiGHS, nothing else."""
    problem = build_problem(item.spec, item.setup, item.forecast, item.states, item.now)
    return _solve(build(problem))[0] == highspy.HighsModelStatus.kOptimal


@dataclass(frozen=True, kw_only=True)
class Timings:
    plan: list[float]  # build_problem + make_schedule
    problem: list[float]  # build_problem alone
    lp: list[float]  # model.build (the LP arrays) alone
    solve: list[float]  # _solve: HiGHS on the prebuilt arrays
    ok: int
    fallbacks: int
    bare_optimal: int
    complete: bool


def time_each(items: Sequence[PlanInput], time_limit_s: float) -> Timings:
    """Every input planned our way, then the same LP built and solved bare, in this process."""
    plan_s: list[float] = []
    problem_s: list[float] = []
    lp_s: list[float] = []
    solve_s: list[float] = []
    ok = fallbacks = optimal = 0
    deadline = perf_seconds() + time_limit_s
    for item in items[:5]:  # warm-up: imports, HiGHS's first instance
        plan_one(item)
    for item in items:
        if perf_seconds() > deadline:
            break
        t0 = perf_seconds()
        problem = build_problem(item.spec, item.setup, item.forecast, item.states, item.now)
        t1 = perf_seconds()
        schedule = make_schedule(problem)
        t2 = perf_seconds()
        arrays = build(problem)
        t3 = perf_seconds()
        status, _ = _solve(arrays)
        t4 = perf_seconds()
        plan_s.append(t2 - t0)
        problem_s.append(t1 - t0)
        lp_s.append(t3 - t2)
        solve_s.append(t4 - t3)
        ok += schedule.ok
        fallbacks += bool(schedule.fallbacks)
        optimal += status == highspy.HighsModelStatus.kOptimal
    return Timings(
        plan=plan_s,
        problem=problem_s,
        lp=lp_s,
        solve=solve_s,
        ok=ok,
        fallbacks=fallbacks,
        bare_optimal=optimal,
        complete=len(plan_s) == len(items),
    )


def ms(s: float) -> str:
    return "n/a" if math.isnan(s) else f"{s * 1000:.2f}"


def row(label: str, summary: Summary) -> str:
    return f"| {label} | {summary.count} | {ms(summary.p50_s)} | {ms(summary.p99_s)} | {ms(summary.max_s)} |"


def main(options: Options) -> int:
    configs = make_population(options.households, options.seed, realistic=True)
    started = perf_seconds()
    batches, complete = bounded_map(
        snapshots,
        [(c, options) for c in configs],
        processes=options.processes,
        time_limit_s=options.time_limit_s,
    )
    items = [item for batch in batches for item in batch]
    prepared_s = perf_seconds() - started
    timings = time_each(items, options.time_limit_s)
    walls: dict[str, float] = {}
    counts: dict[str, int] = {}
    for name, fn in (("plan", plan_one), ("bare", bare_one)):
        t0 = perf_seconds()
        done, in_time = bounded_map(
            fn, items, processes=options.processes, time_limit_s=options.time_limit_s, chunksize=CHUNK
        )
        walls[name] = perf_seconds() - t0 if in_time else math.nan
        counts[name] = len(done)
    sequential = sum(timings.plan)
    kinds: dict[str, int] = {}
    for item in items:
        key = "+".join(sorted(d.id for d in item.spec.devices)) or "none"
        kinds[key] = kinds.get(key, 0) + 1
    n = len(items)
    met = walls["plan"] < options.goal_s * n / 1000
    lines = [
        f"### planning — {WallClock().now():%Y-%m-%d %H:%M} UTC",
        "",
        f"`python -m bench planning --households {options.households} --instants {options.instants} "
        f"--seed {options.seed}`",
        "",
        *machine_lines(options.seed),
        f"- inputs: {n} plans = {len(batches)} households x {options.instants} states, taken every "
        f"{24 / options.instants:g} h from {options.day} 00:07 local after 14 observed days (profile "
        f"learned); horizon {HORIZON_H:g} h of {STEP_H * 60:.0f}-min steps ({n_steps()} steps); tariffs as "
        "scenarios/setup (two-rate, three-rate, Agile-like dynamic, flat)"
        f"{'' if complete else '; STOPPED at the time limit'}; prepared in {prepared_s:.0f} s",
        f"- plans optimal {timings.ok} of {len(timings.plan)}, with a device left to its default "
        f"{timings.fallbacks}; bare HiGHS optimal {timings.bare_optimal}",
        f"- forecast (profile base load, PV, weather; not in the plan time) p50 "
        f"{ms(summarise([i.forecast_s for i in items]).p50_s)} ms",
        "",
        "Per household, one process (sequential, after 5 warm-up plans):",
        "",
        "| measure | count | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        row("plan: build_problem + make_schedule", summarise(timings.plan)),
        row("  of which build_problem (prices, EV, heating, battery)", summarise(timings.problem)),
        row("reference: model.build (LP arrays) alone", summarise(timings.lp)),
        row("reference: bare HiGHS, _solve(prebuilt arrays)", summarise(timings.solve)),
        row(
            "reference: build + bare HiGHS",
            summarise([a + b for a, b in zip(timings.lp, timings.solve, strict=True)]),
        ),
        "",
        f"{n} households on {options.processes} processes (multiprocessing Pool, fork, inputs pickled to "
        f"the workers in chunks of {CHUNK}, pool start included):",
        "",
        "| path | plans | wall s | plans/s |",
        "|---|---:|---:|---:|",
        f"| plan: build_problem + make_schedule | {counts['plan']} | {walls['plan']:.2f} | "
        f"{counts['plan'] / walls['plan']:.0f} |",
        f"| reference: build_problem + model.build + bare HiGHS | {counts['bare']} | {walls['bare']:.2f} | "
        f"{counts['bare'] / walls['bare']:.0f} |",
        f"| one process, sum of the per-household plan times | {len(timings.plan)} | {sequential:.2f} | "
        f"{len(timings.plan) / sequential:.0f} |",
        "",
        f"- 1,000 households on {options.processes} cores: {walls['plan'] * 1000 / n:.1f} s (scaled from "
        f"{n}); goal under {options.goal_s:g} s: {'MET' if met else 'MISSED'}; our wrapping over build + "
        f"bare HiGHS: p50 {_over(timings):.2f}x",
        f"- households by devices: {', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}",
    ]
    write(lines, options.results)
    return 0 if met and complete and timings.complete else 1


def _over(t: Timings) -> float:
    ref = summarise([a + b for a, b in zip(t.lp, t.solve, strict=True)]).p50_s
    return summarise(t.plan).p50_s / ref if ref > 0 else math.nan
