"""Stage 2 saving: a week's bill with the planner in charge against the same household unmanaged (the
reference, in the same run), per household type, with the preferences it must keep counted as violations.

Each household first runs unmanaged for 14 days while the platform learns its profile (stage 1,
``closedloop.observe``); it is then copied and both copies run the same 7 days, one managed and one not,
on real London 2019 weather and UK load shapes. Shared helpers for ``stage3`` and ``planning`` live here.

`python -m bench stage2 [--per-type 10] [--seed 1] [--weeks winter summer]`
"""

from __future__ import annotations

import copy
import math
import multiprocessing
import os
import platform
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import numpy as np

from bench.report import append_section, cpu_description
from homeflex.control.core import ControlCore, Decision
from homeflex.control.devices import Settings, States
from homeflex.control.schedule import Schedule
from homeflex.core.clock import WallClock, perf_seconds
from homeflex.core.timeutil import LONDON
from homeflex.profiles import HouseholdProfile
from homeflex.scenarios.closedloop import Trace, observe, run
from homeflex.scenarios.metered import bill_gbp, from_trace
from homeflex.scenarios.setup import forecast_for, setup_for
from homeflex.sim.household import SimHousehold
from homeflex.sim.population import SimHouseholdConfig, build_household, make_population

OBSERVE_DAYS = 14
WEEKS = {"winter": date(2026, 1, 5), "summer": date(2026, 7, 6)}  # Mondays, local
TYPES = ("EV", "heat pump", "PV + battery", "other")
EV_SLACK_SOC = 0.01
COLD_SLACK_C = 0.3
T = TypeVar("T")
R = TypeVar("R")


# --- shared with stage3 and planning ------------------------------------------------------------------


def household_type(config: SimHouseholdConfig) -> str:
    """The household's type as its tariff follows it (scenarios/setup.tariff_for): EV, then heat pump."""
    if config.ev is not None:
        return "EV"
    if config.heat_pump is not None:
        return "heat pump"
    if config.battery is not None and config.pv is not None:
        return "PV + battery"
    return "other"


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LONDON)


def observed(config: SimHouseholdConfig, first_day: date) -> tuple[SimHousehold, HouseholdProfile]:
    """The household after 14 unmanaged days ending at local midnight before ``first_day``, and the
    profile learned from them."""
    household = build_household(config)
    profile = observe(household, local_midnight(first_day - timedelta(days=OBSERVE_DAYS)), OBSERVE_DAYS)
    return household, profile


def bounded_map(
    fn: Callable[[T], R], items: Sequence[T], *, processes: int, time_limit_s: float, chunksize: int = 1
) -> tuple[list[R], bool]:
    """``fn`` over ``items`` in a pool, in order; stops at ``time_limit_s`` (True: all done in time).
    With ``chunksize`` 1 the results finished in time are kept; in chunks it is all or nothing."""
    deadline = perf_seconds() + time_limit_s
    out: list[R] = []
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        if chunksize > 1:
            try:
                return pool.map_async(fn, items, chunksize).get(timeout=time_limit_s), True
            except multiprocessing.TimeoutError:
                pool.terminate()
                return [], False
        results = pool.imap(fn, items)
        for _ in items:
            remaining = deadline - perf_seconds()
            if remaining <= 0:
                pool.terminate()
                return out, False
            try:
                out.append(results.next(timeout=remaining))
            except multiprocessing.TimeoutError:
                pool.terminate()
                return out, False
    return out, True


def code_version() -> str:
    """The commit and whether homeflex/ had uncommitted changes (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "homeflex"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unknown ({err})"
    return f"{head or 'unknown'}" + (f" + {len(changed)} changed files in homeflex/" if changed else "")


def machine_lines(seed: int) -> list[str]:
    return [
        f"- date: {WallClock().now():%Y-%m-%d %H:%M} UTC; code: {code_version()}",
        f"- machine: {cpu_description()} ({os.cpu_count()} cores), {platform.machine()}",
        f"- python: {platform.python_implementation()} {platform.python_version()}, numpy {np.__version__}, "
        f"highspy {metadata.version('highspy')}",
        f"- population: make_population(seed={seed}, realistic=True): London 2019 weather (hisim NSRDB), "
        "UK half-hourly load shapes (eemeter samples)",
    ]


def write(lines: Sequence[str], results: Path | None) -> None:
    text = "\n".join(lines)
    print(text)
    if results is not None:
        append_section(results, text)


def gbp(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}"


# --- stage 2 ------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Options:
    per_type: int = 10
    seed: int = 1
    pool: int = 200  # households drawn to find ``per_type`` of each type
    weeks: tuple[str, ...] = ("winter", "summer")
    processes: int = 2
    time_limit_s: float = 1800.0  # per week
    results: Path | None = None


@dataclass
class PlanRecorder(ControlCore):
    """A ControlCore that keeps the first plan it made in each half-hour, for the planned cost."""

    first_plans: dict[datetime, Schedule] = field(default_factory=dict)

    def decide(self, now: datetime, states: States, held: Mapping[str, Settings]) -> Decision:
        decision = super().decide(now, states, held)
        if self.schedule is not None:
            self.first_plans.setdefault(self.schedule.problem.start, self.schedule)
        return decision


@dataclass(frozen=True, kw_only=True)
class WeekResult:
    household_id: str
    kind: str
    devices: str
    tariff: str
    vulnerable: bool
    unmanaged_gbp: float
    managed_gbp: float
    planned_gbp: float  # step 0 of the first plan in each half-hour; nan when some half-hour had no plan
    ev_departures: int
    ev_short: int  # departures below min(target, what unmanaged reached) - 0.01
    ev_worst_soc: float  # the largest shortfall against that (<= 0: none)
    cold_min_managed: int  # minutes below the comfort floor - 0.3 °C
    cold_min_unmanaged: int
    replans: int


def planned_cost(plans: Iterable[Schedule]) -> float:
    """What the plans in force expected each half-hour to cost: the first step of each."""
    total = 0.0
    for schedule in plans:
        if not schedule.ok:
            return math.nan
        p, plan = schedule.problem, schedule.plan
        total += p.step_h * (
            plan.grid_import_kw[0] * p.tariff.import_gbp_per_kwh[0]
            - plan.grid_export_kw[0] * p.tariff.export_gbp_per_kwh[0]
        )
    return float(total)


def ev_check(managed: Trace, unmanaged: Trace) -> tuple[int, float]:
    """Departures short of min(target, the unmanaged car's state at the same departure) - 0.01."""
    reached = {when: soc for when, soc, _ in unmanaged.ev_departures}
    short, worst = 0, -math.inf
    for when, soc, target in managed.ev_departures:
        gap = min(target, reached.get(when, target)) - soc
        worst = max(worst, gap)
        short += gap > EV_SLACK_SOC
    return short, worst


def cold_minutes(trace: Trace, floor_c: float) -> int:
    indoor = np.asarray(trace.indoor_c)
    return int(np.sum(indoor < floor_c - COLD_SLACK_C))  # NaN (no heat pump) compares False


def one_week(job: tuple[SimHouseholdConfig, date]) -> WeekResult:
    config, first_day = job
    household, profile = observed(config, first_day)
    setup = setup_for(config, household)  # after observing: a dynamic tariff's prices start here
    end = local_midnight(first_day + timedelta(days=7))
    twin = copy.deepcopy(household)
    core = PlanRecorder(household=config.spec, setup=setup, forecast=forecast_for(twin, profile))
    managed = run(config.spec, twin, setup, end, profile=profile, managed=True, core=core)
    unmanaged = run(config.spec, household, setup, end, profile=profile, managed=False)
    short, worst = ev_check(managed, unmanaged)
    floor = setup.preferences.comfort_min_c
    return WeekResult(
        household_id=config.spec.id,
        kind=household_type(config),
        devices="+".join(d.id for d in config.spec.devices) or "none",
        tariff=setup.tariff.name,
        vulnerable=config.spec.vulnerable,
        unmanaged_gbp=bill_gbp(setup.tariff, from_trace(unmanaged)),
        managed_gbp=bill_gbp(setup.tariff, from_trace(managed)),
        planned_gbp=planned_cost(core.first_plans.values()),
        ev_departures=len(managed.ev_departures),
        ev_short=short,
        ev_worst_soc=worst,
        cold_min_managed=cold_minutes(managed, floor) if config.heat_pump else 0,
        cold_min_unmanaged=cold_minutes(unmanaged, floor) if config.heat_pump else 0,
        replans=len(core.replans),
    )


def pick(options: Options) -> list[SimHouseholdConfig]:
    """The first ``per_type`` households of each type, in id order, from one drawn population."""
    chosen: dict[str, list[SimHouseholdConfig]] = {kind: [] for kind in TYPES}
    for config in make_population(options.pool, options.seed, realistic=True):
        group = chosen[household_type(config)]
        if len(group) < options.per_type:
            group.append(config)
    return [c for kind in TYPES for c in chosen[kind]]


def type_rows(results: Sequence[WeekResult]) -> list[str]:
    lines = [
        "| type | households | unmanaged £/week (mean) | optimised £/week (mean) | saving £/week (mean) | "
        "saving | households saving < 0 | EV departures short / all | minutes below floor - 0.3 °C "
        "(optimised / unmanaged) | planned £/week (mean) | achieved - planned |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in (*TYPES, "all"):
        group = [r for r in results if kind in ("all", r.kind)]
        if not group:
            continue
        unmanaged = sum(r.unmanaged_gbp for r in group)
        managed = sum(r.managed_gbp for r in group)
        planned = sum(r.planned_gbp for r in group)
        n = len(group)
        saving = f"{1 - managed / unmanaged:.1%}" if unmanaged > 0 else "n/a (net export)"
        lines.append(
            f"| {kind} | {n} | {unmanaged / n:.2f} | {managed / n:.2f} | {(unmanaged - managed) / n:.2f} | "
            f"{saving} | "
            f"{sum(r.managed_gbp > r.unmanaged_gbp + 0.005 for r in group)} | "
            f"{sum(r.ev_short for r in group)} / {sum(r.ev_departures for r in group)} | "
            f"{sum(r.cold_min_managed for r in group)} / {sum(r.cold_min_unmanaged for r in group)} | "
            f"{gbp(planned / n)} | {gbp((managed - planned) / n)} |"
        )
    return lines


def household_rows(results: Sequence[WeekResult]) -> list[str]:
    lines = [
        "| household | type | devices | tariff | unmanaged £ | optimised £ | planned £ | "
        "EV short / departures (worst soc gap) | cold min (opt / unm) | replans |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        worst = "" if r.ev_departures == 0 else f" ({r.ev_worst_soc:+.3f})"
        lines.append(
            f"| {r.household_id}{' (vulnerable)' if r.vulnerable else ''} | {r.kind} | {r.devices} | "
            f"{r.tariff} | {r.unmanaged_gbp:.2f} | {r.managed_gbp:.2f} | {gbp(r.planned_gbp)} | "
            f"{r.ev_short} / {r.ev_departures}{worst} | {r.cold_min_managed} / {r.cold_min_unmanaged} | "
            f"{r.replans} |"
        )
    return lines


def main(options: Options) -> int:
    configs = pick(options)
    lines = [
        f"### stage2 — {WallClock().now():%Y-%m-%d %H:%M} UTC",
        "",
        f"`python -m bench stage2 --per-type {options.per_type} --seed {options.seed} "
        f"--weeks {' '.join(options.weeks)}`",
        "",
        *machine_lines(options.seed),
        f"- households: the first {options.per_type} of each type in id order out of {options.pool} drawn; "
        "type as the tariff follows it: EV (two-rate, Go-like), else heat pump (three-rate, Cosy-like), "
        "else PV + battery (dynamic, Agile-like), else other (flat)",
        f"- each household: {OBSERVE_DAYS} days unmanaged to learn its profile (stage 1), then a deep copy "
        "runs the same 7 days managed (ControlCore, 5-min ticks, 1-min physics) beside the unmanaged "
        "original (the reference); bills on the household's tariff from the metered minute power",
        "- violations: an EV leaving below min(target, what the unmanaged car reached at the same departure) "
        f"- {EV_SLACK_SOC}; minutes indoors below the comfort floor (setpoint - 0.5 °C) - {COLD_SLACK_C} °C",
        "- planned: step 0 of the first plan of each half-hour (the LP's expected cost of what it then ran), "
        "with the profile's base-load forecast; achieved - planned is mostly base-load forecast error",
    ]
    status = 0
    for week in options.weeks:
        first_day = WEEKS[week]
        started = perf_seconds()
        results, complete = bounded_map(
            one_week,
            [(c, first_day) for c in configs],
            processes=options.processes,
            time_limit_s=options.time_limit_s,
        )
        took = perf_seconds() - started
        last = first_day + timedelta(days=6)
        lines += [
            "",
            f"#### {week} week: Monday {first_day} to Sunday {last} local (observed from "
            f"{first_day - timedelta(days=OBSERVE_DAYS)}); {len(results)} of {len(configs)} households"
            f"{'' if complete else f' (STOPPED at the {options.time_limit_s:.0f} s limit)'}, {took:.0f} s "
            f"on {options.processes} processes",
            "",
            *type_rows(results),
            "",
            "<details><summary>per household</summary>",
            "",
            *household_rows(results),
            "",
            "</details>",
        ]
        violations = sum(r.ev_short + r.cold_min_managed for r in results)
        if violations or not complete:
            status = 1
    write(lines, options.results)
    return status
