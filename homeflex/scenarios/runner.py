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


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def batches(configs: list[SimHouseholdConfig], processes: int) -> list[list[SimHouseholdConfig]]:
    """Two batches per process (so a slow batch is not the last alone), of at most BATCH households
    (a fleet step costs about the same for 100 households as for 500: fewer, larger batches are faster)."""
    count = max(2 * max(processes, 1), math.ceil(len(configs) / BATCH))
    count = min(count, len(configs))
    size = math.ceil(len(configs) / count) if configs else 0
    return [configs[i : i + size] for i in range(0, len(configs), size)] if size else []


def _results(
    jobs: list[tuple[list[SimHouseholdConfig], Scenario]], processes: int
) -> Generator[list[HouseholdResult], None, None]:
    if processes <= 1:
        yield from map(run_batch, jobs)
        return
    with multiprocessing.get_context("fork").Pool(processes, initializer=_ignore_sigint) as pool:
        yield from pool.imap_unordered(run_batch, jobs)


def run_scenario(
    scenario: Scenario, *, processes: int = 2, progress: Progress | None = None
) -> ScenarioResult:
    configs = pick_population(scenario)
    walked = journeys(scenario, configs)
    installed = {o.household_id for o in walked if o.installed}
    if walked:
        configs = [c for c in configs if c.spec.id in installed]
    started = perf_seconds()
    done: list[HouseholdResult] = []
    results = _results([(b, scenario) for b in batches(configs, processes)], processes)
    try:
        for batch in results:
            done.extend(batch)
            if progress is not None:
                progress(len(done), len(configs), perf_seconds() - started)
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
