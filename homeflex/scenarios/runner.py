"""Run a scenario's households in a process pool, reporting progress; an interrupt keeps what finished.

The households are split into a few batches, each run as one community (scenarios/community.py: all
its households' physics stepped together); a process runs one batch at a time. Ctrl-C
(KeyboardInterrupt) in the parent stops the pool and returns the batches finished so far with
``complete=False``; workers ignore SIGINT so only the parent handles it.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.sharedctypes import Synchronized

from homeflex.core.clock import perf_seconds
from homeflex.core.domain import Category
from homeflex.scenarios.community import run_batch
from homeflex.scenarios.household import HouseholdResult, local_midnight
from homeflex.scenarios.journey import DAYS, JourneyOutcome, walk
from homeflex.scenarios.spec import Scenario, apportion
from homeflex.sim.population import CATEGORY_SHARES, SimHouseholdConfig, make_population

Progress = Callable[[int, int, float], None]  # (done, total, elapsed s)
BATCH = 500


@dataclass(frozen=True, kw_only=True)
class ScenarioResult:
    scenario: Scenario
    households: tuple[HouseholdResult, ...]
    planned: int
    complete: bool
    elapsed_s: float
    journeys: tuple[JourneyOutcome, ...] = ()  # every household's journey; () when the scenario has none


def pick_population(scenario: Scenario) -> list[SimHouseholdConfig]:
    """``households`` configs in the scenario's mix: the first of each category from one population
    drawn large enough (devices, tariffs and vulnerability as ``make_population`` draws them)."""
    wanted = apportion(scenario.households, scenario.mix)
    size = max(int(n / CATEGORY_SHARES[c]) + 2 for c, n in wanted.items())
    population = make_population(max(size, scenario.households), scenario.seed, realistic=True)
    taken: dict[Category, int] = dict.fromkeys(wanted, 0)
    chosen = []
    for config in population:
        category = config.spec.category
        if taken.get(category, 0) < wanted.get(category, 0):
            taken[category] += 1
            chosen.append(config)
    return chosen


def journeys(scenario: Scenario, configs: list[SimHouseholdConfig]) -> list[JourneyOutcome]:
    """Each household's journey, from an interest date early enough to be installed by stage 1."""
    if scenario.journey_scale is None:
        return []
    lead = timedelta(days=scenario.observe_days + 2 * sum(DAYS))
    interest_at = local_midnight(scenario.first_day) - lead
    return [
        walk(
            c.spec.id,
            c.spec.category,
            c.spec.vulnerable,
            interest_at=interest_at,
            seed=c.seed,
            scale=scenario.journey_scale,
        )
        for c in configs
    ]


# Household-days simulated so far by every worker: batches report each simulated day through it, so
# progress moves while a batch of hundreds of households runs. Set in the parent before the pool forks.
_days_done: Synchronized[float] | None = None


def _init_worker(days_done: Synchronized[float]) -> None:
    global _days_done
    _days_done = days_done
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the parent handles Ctrl-C


_report: Callable[[], None] | None = None  # in process only: report progress after each simulated day


def _day_done(households: int) -> None:
    if _days_done is not None:
        with _days_done.get_lock():
            _days_done.value += households
    if _report is not None:
        _report()


def _run_batch(job: tuple[list[SimHouseholdConfig], Scenario]) -> list[HouseholdResult]:
    return run_batch(job, on_day=_day_done)


def batches(
    configs: list[SimHouseholdConfig], processes: int, batch_size: int = BATCH
) -> list[list[SimHouseholdConfig]]:
    """One batch per process, of at most ``batch_size`` households: a fleet step costs about the same
    for 100 households as for 500, so fewer, larger batches are faster (progress is reported within
    them; an interrupted run keeps the batches finished)."""
    count = min(max(processes, 1, math.ceil(len(configs) / batch_size)), len(configs))
    # Dealt like cards, heaviest first, so each process gets the same work (a batch's wall time is its
    # households' control: plans are most of it, and households with more devices plan more).
    split: list[list[SimHouseholdConfig]] = [[] for _ in range(count)]
    for i, config in enumerate(sorted(configs, key=_weight, reverse=True)):
        turn, seat = divmod(i, count)
        split[seat if turn % 2 == 0 else count - 1 - seat].append(config)
    return [b for b in split if b]


def _weight(config: SimHouseholdConfig) -> int:
    planned = sum(p is not None for p in (config.ev, config.heat_pump, config.battery))
    return 2 * planned + int(config.spec.stage)  # stage 3 households also assess events


def _results(
    jobs: list[tuple[list[SimHouseholdConfig], Scenario]],
    processes: int,
    days_done: Synchronized[float],
    report: Callable[[], None],
) -> Generator[list[HouseholdResult] | None, None, None]:
    """Each batch's results as it finishes; None about every half-second in between (to report). In
    process, ``report`` is called after each simulated day instead."""
    if processes <= 1:
        global _days_done, _report
        _days_done, _report = days_done, report
        try:
            yield from map(_run_batch, jobs)
        finally:
            _days_done = _report = None
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_init_worker, initargs=(days_done,)) as pool:
        finished = pool.imap_unordered(_run_batch, jobs)
        while True:
            try:
                yield finished.next(timeout=0.5)
            except multiprocessing.TimeoutError:
                yield None
            except StopIteration:
                return


def run_scenario(
    scenario: Scenario, *, processes: int = 2, progress: Progress | None = None, batch_size: int = BATCH
) -> ScenarioResult:
    configs = pick_population(scenario)
    walked = journeys(scenario, configs)
    installed = {o.household_id for o in walked if o.installed}
    if walked:
        configs = [c for c in configs if c.spec.id in installed]
    started = perf_seconds()
    done: list[HouseholdResult] = []
    days_done = multiprocessing.get_context("fork").Value("d", 0.0)
    days_each = scenario.observe_days + 2 * scenario.days  # observed, managed, unmanaged
    jobs = [(b, scenario) for b in batches(configs, processes, batch_size)]

    def report() -> None:
        if progress is not None and configs:
            simulated = min(int(days_done.value / days_each), len(configs) - 1)  # all: when reported
            progress(max(len(done), simulated), len(configs), perf_seconds() - started)

    results = _results(jobs, processes, days_done, report)
    try:
        for batch in results:
            done.extend(batch or [])
            report()
    except KeyboardInterrupt:
        pass
    finally:
        results.close()  # leaves the pool's context: terminates the workers
    order = {c.spec.id: i for i, c in enumerate(configs)}
    return ScenarioResult(
        scenario=scenario,
        households=tuple(sorted(done, key=lambda r: order[r.household_id])),
        planned=len(configs),
        complete=len(done) == len(configs),
        elapsed_s=perf_seconds() - started,
        journeys=tuple(walked),
    )
