"""The vectorised community physics (homeflex.sim.fleet) against the scalar SimHousehold, in one run.

`python -m bench.fleet_physics [--households 1000] [--days 1] [--seed 1] [--scalar-households 20]
[--scalar-minutes 360] [--full]`

Single process. The fleet runs `--days` January days with no commands, recording half-hours (exogenous
precompute timed apart from the steps), then one more day as twins both ways (a `copy()` and a doubled
fleet). The scalar households run the same minutes with closedloop's own recording loop. `--full` also
runs the issue-6 schedule for real: 14 observed days, then 7 managed and 7 unmanaged twin days.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.stage_control import machine_lines
from homeflex.scenarios.closedloop import Trace, _physics_until
from homeflex.sim.fleet import Fleet
from homeflex.sim.population import SimHouseholdConfig, build_household, make_population

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; London is on UTC in January
DAY = timedelta(days=1)
MINUTES_PER_DAY = 1440
TARGET_S_PER_HOUSEHOLD_28_DAYS = 0.01  # issue 6: 1,000 households x 28 simulated days in about 10 s


@dataclass(frozen=True, kw_only=True)
class Options:
    households: int = 1000
    days: int = 1
    seed: int = 1
    scalar_households: int = 20
    scalar_minutes: int = 360
    full: bool = False


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of `action`."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def scalar_us_per_household_minute(options: Options) -> tuple[float, float]:
    """CPU µs per household-minute of SimHousehold: stepping alone, and stepping with closedloop's Trace."""
    configs = make_population(options.households, options.seed, realistic=True)[: options.scalar_households]
    households = [build_household(c) for c in configs]
    for hh in households:
        hh.advance_to(START)
    end = START + timedelta(minutes=options.scalar_minutes)
    later = end + timedelta(minutes=options.scalar_minutes)

    def plain_steps() -> None:
        for hh in households:
            hh.advance_to(end)

    def traced_steps() -> None:
        for hh in households:
            _physics_until(hh, Trace(), later)

    _, plain = timed(plain_steps)
    _, traced = timed(traced_steps)
    count = len(households) * options.scalar_minutes
    return plain / count * 1e6, traced / count * 1e6


def run(options: Options) -> list[str]:
    n, days = options.households, options.days
    configs = make_population(n, options.seed, realistic=True)
    fleet_box: list[Fleet] = []
    build_wall, build_cpu = timed(lambda: fleet_box.append(Fleet(configs, START)))
    fleet = fleet_box[0]
    floors = [c.heat_pump.setpoint_c - 1.0 if c.heat_pump else float("nan") for c in configs]
    fleet.record(floors)
    end = START + days * DAY
    before = fleet.inputs.compute_s
    wall, cpu = timed(lambda: fleet.advance_to(end))
    fleet.stop_recording()
    precompute = fleet.inputs.compute_s - before
    minutes = n * days * MINUTES_PER_DAY
    fleet_us = cpu / minutes * 1e6
    scalar_us, scalar_traced_us = scalar_us_per_household_minute(options)

    # Twins for one more day from the same state: one fleet of 2n rows, or the fleet and its copy
    # (the copy finds the day's inputs already computed).
    doubled = fleet.doubled()
    _, doubled_cpu = timed(lambda: twin_day(doubled, end + DAY))
    twin = fleet.copy()
    before = fleet.inputs.compute_s

    def both() -> None:
        twin_day(fleet, end + DAY)
        twin_day(twin, end + DAY)

    _, copy_cpu = timed(both)
    copy_precompute = fleet.inputs.compute_s - before

    projected = 14 * cpu / days + 7 * min(copy_cpu, doubled_cpu)
    lines = [
        f"## Fleet physics: {n} households x {days} simulated day(s) at 60 s, single process",
        *machine_lines(options.seed),
        f"- build Fleet ({n} x build_household + arrays): {build_wall:.2f} s wall, {build_cpu:.2f} s CPU",
        f"- {days} day(s), no commands, recording half-hours: {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"(exogenous precompute {precompute:.2f} s, steps + recorder {cpu - precompute:.2f} s)",
        f"- per household-minute: fleet {fleet_us:.3f} µs CPU; scalar SimHousehold {scalar_us:.2f} µs "
        f"({scalar_traced_us:.2f} µs with closedloop's Trace), {options.scalar_households} households x "
        f"{options.scalar_minutes} min each; fleet/scalar speed-up x{scalar_traced_us / fleet_us:.0f}",
        f"- one twin day: the fleet and its copy() {copy_cpu:.2f} s CPU (precompute {copy_precompute:.2f} s, "
        f"once for both); doubled() fleet of {2 * n} rows {doubled_cpu:.2f} s CPU",
        f"- projected 14 observed + 7 twin days: {projected:.1f} s CPU = "
        f"{projected / n:.4f} s per household (target {TARGET_S_PER_HOUSEHOLD_28_DAYS} s)",
    ]
    if options.full:
        lines.append(full_schedule(configs, floors))
    return lines


def twin_day(fleet: Fleet, end: datetime) -> None:
    fleet.record()
    fleet.advance_to(end)
    fleet.stop_recording()


def full_schedule(configs: Sequence[SimHouseholdConfig], floors: Sequence[float]) -> str:
    """Issue 6's schedule for real: 14 observed days, then managed and unmanaged twins for 7 days, the
    twins a day at a time each (so the copy reuses the day's inputs); no commands."""

    def schedule() -> None:
        fleet = Fleet(configs, START)
        fleet.record(floors)
        fleet.advance_to(START + 14 * DAY)
        fleet.stop_recording()
        twin = fleet.copy()
        for fleet_ in (fleet, twin):
            fleet_.record(floors)
        for day in range(15, 22):
            fleet.advance_to(START + day * DAY)
            twin.advance_to(START + day * DAY)
        fleet.stop_recording()
        twin.stop_recording()

    wall, cpu = timed(schedule)
    n = len(configs)
    return (
        f"- full schedule, measured (build + 14 observed days + 2 x 7 twin days, recording): "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU = {cpu / n:.4f} s per household "
        f"(target {TARGET_S_PER_HOUSEHOLD_28_DAYS} s)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_physics", description=__doc__)
    parser.add_argument("--households", type=int, default=Options.households)
    parser.add_argument("--days", type=int, default=Options.days)
    parser.add_argument("--seed", type=int, default=Options.seed)
    parser.add_argument("--scalar-households", type=int, default=Options.scalar_households)
    parser.add_argument("--scalar-minutes", type=int, default=Options.scalar_minutes)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args(argv)
    print("\n".join(run(Options(**vars(args)))))


if __name__ == "__main__":
    main()
