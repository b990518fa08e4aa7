"""The community engine (every household's physics stepped at once) against the scalar closed loop (one
household alone), on real data: the same households fare the same."""

from __future__ import annotations

import dataclasses
import math

import pytest

from homeflex.scenarios.community import run_batch
from homeflex.scenarios.household import HouseholdResult, run_household
from homeflex.scenarios.runner import _weight, batches, pick_population
from homeflex.scenarios.spec import Scenario
from homeflex.sim.population import SimHouseholdConfig

SCENARIO = Scenario(households=10, days=2, observe_days=14, seed=3, replan_h=4.0)


@pytest.fixture(scope="module")
def configs() -> list[SimHouseholdConfig]:
    return pick_population(SCENARIO)


@pytest.fixture(scope="module")
def community(configs: list[SimHouseholdConfig]) -> list[HouseholdResult]:
    return run_batch((configs, SCENARIO))


@pytest.fixture(scope="module")
def alone(configs: list[SimHouseholdConfig]) -> list[HouseholdResult]:
    return [run_household((c, SCENARIO)) for c in configs]


def test_unmanaged_households_are_the_same_physics_to_the_penny(
    community: list[HouseholdResult], alone: list[HouseholdResult]
) -> None:
    kinds = {d for r in community for d in r.devices.split("+")}
    assert {"ev", "heat_pump", "battery", "pv"} <= kinds  # every controllable kind is in the comparison
    for a, b in zip(community, alone, strict=True):
        assert a.household_id == b.household_id
        assert math.isclose(a.unmanaged_gbp, b.unmanaged_gbp, rel_tol=1e-9), a.household_id
        assert a.cold_minutes_unmanaged == b.cold_minutes_unmanaged
        assert a.events_offered == b.events_offered


def test_managed_households_decide_and_fare_as_they_do_alone(
    community: list[HouseholdResult], alone: list[HouseholdResult]
) -> None:
    """The control core wakes on the minute grid and on a car's arrival in the community engine (within
    5 minutes of it alone): the same decisions, bills within a few per cent."""
    for a, b in zip(community, alone, strict=True):
        assert a.events_opted_in == b.events_opted_in, a.household_id
        assert a.opt_out_reasons == b.opt_out_reasons
        assert abs(a.managed_gbp - b.managed_gbp) <= 0.03 * abs(b.managed_gbp) + 0.05, a.household_id
        assert a.ev_departures == b.ev_departures
        assert a.ev_short == b.ev_short == 0
    saved = sum(r.unmanaged_gbp - r.managed_gbp for r in community)
    assert saved > 0  # managed homes pay less, together
    paid = [r.settled["programme"].payment_gbp for r in community]
    assert sum(paid) > 0
    assert sum(paid) == pytest.approx(sum(r.settled["programme"].payment_gbp for r in alone), rel=0.15)


def test_a_household_fares_the_same_whatever_batch_it_runs_in(
    configs: list[SimHouseholdConfig], community: list[HouseholdResult]
) -> None:
    """Households share nothing but the weather: a batch of one gives the same result as the batch."""
    for i in (0, len(configs) - 1):
        (single,) = run_batch(([configs[i]], SCENARIO))
        assert dataclasses.asdict(single) == dataclasses.asdict(community[i])


def test_batches_share_households_and_work_evenly_one_per_process_at_most_500() -> None:
    configs = pick_population(Scenario(households=25, seed=1))
    for processes in (1, 2, 3):
        split = batches(configs, processes)
        assert sorted(c.spec.id for b in split for c in b) == sorted(c.spec.id for c in configs)
        assert len(split) == processes and max(map(len, split)) - min(map(len, split)) <= 1
        work = [sum(_weight(c) for c in b) for b in split]
        assert max(work) - min(work) <= max(_weight(c) for c in configs)  # dealt heaviest first
    assert batches([], 2) == []
    assert sorted(len(b) for b in batches(configs, 1, batch_size=10)) == [8, 8, 9]
    many = [configs[0]] * 1201
    assert max(len(b) for b in batches(many, 2)) <= 500
