from __future__ import annotations

from collections import Counter

import pytest

from homeflex.core.domain import Category, DeviceKind, Stage
from homeflex.sim.population import FLEXIBLE, build_household, make_population


def test_twenty_households_have_the_intended_mix() -> None:
    population = make_population(20, seed=42)
    specs = [c.spec for c in population]
    assert [s.id for s in specs] == [f"hh{i:03d}" for i in range(1, 21)]
    assert Counter(s.category for s in specs) == {Category.A: 2, Category.B: 6, Category.C: 8, Category.D: 4}
    assert all(s.stage == (Stage.AUTOMATIC if s.category == Category.D else Stage.FLEX) for s in specs)
    assert sorted(s.category for s in specs if s.vulnerable) == [Category.C, Category.D]


def test_device_shares_and_every_flex_household_can_flex() -> None:
    population = make_population(20, seed=42)
    owned = Counter(d.id for c in population for d in c.spec.devices)
    assert owned["ev"] == 10
    assert owned["heat_pump"] == 8
    assert owned["battery"] == 6
    assert owned["pv"] == 8
    assert 6 <= owned["plug"] <= 12  # 30 %, plus one for any flex household left without a device
    for config in population:
        if config.spec.category != Category.D:
            assert any(d.id in FLEXIBLE for d in config.spec.devices), config.spec.id


@pytest.mark.parametrize("n", [1, 7, 50])
def test_other_sizes_are_proportional(n: int) -> None:
    population = make_population(n, seed=1)
    counts = Counter(c.spec.category for c in population)
    assert sum(counts.values()) == n
    for category, share in {Category.A: 0.1, Category.B: 0.3, Category.C: 0.4, Category.D: 0.2}.items():
        assert abs(counts[category] - share * n) < 1


def test_same_seed_same_population_and_specs_match_the_physics() -> None:
    assert make_population(20, seed=5) == make_population(20, seed=5)
    assert make_population(20, seed=5) != make_population(20, seed=6)
    for config in make_population(20, seed=5):
        household = build_household(config)
        assert household.id == config.spec.id
        assert set(household.devices) == {d.id for d in config.spec.devices}
        for spec in config.spec.devices:
            assert household.devices[spec.id].kind == spec.kind
            # the platform's limit is the largest value the device accepts
            key = {
                "ev": "max_power_w",
                "heat_pump": "max_power_w",
                "battery": "power_w",
                "pv": "export_limit_w",
            }
            if spec.kind != DeviceKind.SMART_PLUG:
                household.apply(spec.id, {key[spec.id]: spec.max_power_w})
        assert 2700 <= config.base_load.annual_kwh <= 4200
