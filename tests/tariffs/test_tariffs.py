"""Tariff adapters and their registry: configs, local-time windows (wrapping midnight, BST), dynamic
prices across clock changes, and the planner's per-step prices (export never above import)."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homeflex.control.prices import horizon_prices
from homeflex.core.timeutil import LONDON, PERIOD, period_start
from homeflex.tariffs import register, registered, tariff_from_config
from homeflex.tariffs.dynamic import Dynamic, agile_like_prices
from tests.control.households import tariff_configs

EXAMPLES: dict[str, dict[str, Any]] = {
    "flat": {"type": "flat", "import_gbp_per_kwh": 0.25},
    "two_rate": {"type": "two_rate", "night_hours": [23.5, 5.5]},
    "three_rate": {"type": "three_rate", "peak_gbp_per_kwh": 0.4},
    "dynamic": {"type": "dynamic", "prices": {"2026-01-14T00:00:00Z": 0.2}},
}


def local(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=LONDON)


# --- registry ---------------------------------------------------------------------------------------


def test_registry_lists_every_builtin_type() -> None:
    assert registered() == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_registered_type_builds_from_its_example(name: str) -> None:
    source = tariff_from_config(EXAMPLES[name])
    when = datetime(2026, 1, 14, 12, tzinfo=UTC)
    assert source.name == name
    assert -1 <= source.import_price(when) <= 10
    assert -1 <= source.export_price(when) <= 10


@pytest.mark.parametrize(
    "config",
    [{"type": "agile"}, {"type": None}, {}, {"type": 3}, {"type": "FLAT"}],
    ids=["unknown", "none", "missing", "not-a-string", "wrong-case"],
)
def test_unknown_type_lists_valid_choices(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown tariff type") as err:
        tariff_from_config(config)
    for name in EXAMPLES:
        assert name in str(err.value)


@pytest.mark.parametrize(
    ("config", "bad"),
    [
        ({"type": "flat", "import_price": 0.2}, "import_price"),
        ({"type": "two_rate", "peak_gbp_per_kwh": 0.4}, "peak_gbp_per_kwh"),
        ({"type": "dynamic", "prices": {"2026-01-14T00:00:00Z": 0.2}, "cap": 1}, "cap"),
    ],
)
def test_unknown_keys_list_valid_keys(config: dict[str, Any], bad: str) -> None:
    with pytest.raises(ValueError, match="unknown keys") as err:
        tariff_from_config(config)
    assert bad in str(err.value)
    assert "export_gbp_per_kwh" in str(err.value)  # the valid keys are listed


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"type": "flat", "import_gbp_per_kwh": 11.0}, "between -1 and 10"),
        ({"type": "flat", "export_gbp_per_kwh": -2.0}, "between -1 and 10"),
        ({"type": "flat", "import_gbp_per_kwh": math.nan}, "between -1 and 10"),
        ({"type": "two_rate", "night_hours": (1.0, 1.0)}, "two different local hours"),
        ({"type": "two_rate", "night_hours": (0.0, 25.0)}, "two different local hours"),
        ({"type": "two_rate", "night_hours": (1.0, 2.0, 3.0)}, "two different local hours"),
        ({"type": "two_rate", "night_hours": ("a", "b")}, "two_rate"),
        ({"type": "three_rate", "peak_hours": (-1.0, 3.0)}, "peak_hours"),
        ({"type": "three_rate", "peak_gbp_per_kwh": 20.0}, "peak_gbp_per_kwh"),
        ({"type": "dynamic", "prices": {}}, "must not be empty"),
        ({"type": "dynamic", "prices": {"2026-01-14T00:00:00": 0.2}}, "no UTC offset"),
        ({"type": "dynamic", "prices": {datetime(2026, 1, 14): 0.2}}, "no offset"),
        ({"type": "dynamic", "prices": {"2026-01-14T00:10:00Z": 0.2}}, "not the start of a half-hour"),
        ({"type": "dynamic", "prices": {"2026-01-14T00:00:00Z": 12.0}}, "between -1 and 10"),
        ({"type": "dynamic"}, "prices"),
    ],
)
def test_bad_values_rejected(config: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tariff_from_config(config)


def test_duplicate_registration_is_an_error() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register("flat")(type("Other", (), {}))


# --- fixed rates by local time ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "night"),
    [
        (local(2026, 1, 14, 23, 29), False),
        (local(2026, 1, 14, 23, 30), True),  # the window wraps midnight
        (local(2026, 1, 15, 0, 0), True),
        (local(2026, 1, 15, 5, 29), True),
        (local(2026, 1, 15, 5, 30), False),  # end is exclusive
        (local(2026, 1, 15, 12, 0), False),
        (local(2026, 7, 14, 23, 45), True),  # BST: 22:45 UTC, still night by the local clock
        (datetime(2026, 7, 14, 23, 0, tzinfo=UTC), True),  # 00:00 BST
        (datetime(2026, 7, 14, 5, 0, tzinfo=UTC), False),  # 06:00 BST
        (datetime(2026, 1, 14, 5, 0, tzinfo=UTC), True),  # 05:00 GMT
    ],
)
def test_two_rate_night_window_wraps_midnight(when: datetime, night: bool) -> None:
    tariff = tariff_from_config(
        {"type": "two_rate", "night_hours": [23.5, 5.5], "day_gbp_per_kwh": 0.3, "night_gbp_per_kwh": 0.07}
    )
    assert tariff.import_price(when) == (0.07 if night else 0.3)
    assert tariff.export_price(when) == 0.15


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(0.0, 0.1), (2.0, 0.1), (4.99, 0.1), (5.0, 0.25), (15.99, 0.25), (16.0, 0.4), (18.5, 0.4), (19.0, 0.25)],
)
def test_three_rate_peak_night_and_day(hour: float, expected: float) -> None:
    tariff = tariff_from_config(
        {
            "type": "three_rate",
            "night_hours": (0, 5),
            "day_gbp_per_kwh": 0.25,
            "night_gbp_per_kwh": 0.1,
            "peak_gbp_per_kwh": 0.4,
        }
    )
    when = local(2026, 1, 14, 0) + timedelta(hours=hour)
    assert tariff.import_price(when) == expected


def test_three_rate_peak_wins_where_windows_overlap() -> None:
    tariff = tariff_from_config({"type": "three_rate", "night_hours": (15, 17), "peak_gbp_per_kwh": 0.5})
    assert tariff.import_price(local(2026, 1, 14, 16, 30)) == 0.5
    assert tariff.import_price(local(2026, 1, 14, 15, 30)) == 0.085


# --- dynamic prices ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "slots"),
    [(date(2026, 1, 14), 48), (date(2026, 3, 29), 46), (date(2026, 10, 25), 50), (date(2026, 7, 1), 48)],
    ids=["winter", "spring-forward", "fall-back", "summer"],
)
def test_agile_like_prices_cover_each_local_day(day: date, slots: int) -> None:
    prices = agile_like_prices(day, 1, seed=4)
    times = sorted(prices)
    assert len(prices) == slots
    assert times[0] == datetime(day.year, day.month, day.day, tzinfo=LONDON)  # local midnight
    assert times[-1] + PERIOD == datetime.combine(day + timedelta(days=1), datetime.min.time(), LONDON)
    assert all(b - a == PERIOD for a, b in itertools.pairwise(times))
    assert all(period_start(t) == t for t in times)
    assert all(v <= 1.0 for v in prices.values())


def test_agile_like_prices_are_reproducible_and_peak_in_the_evening() -> None:
    prices = agile_like_prices(date(2026, 1, 12), 5, seed=9)
    assert prices == agile_like_prices(date(2026, 1, 12), 5, seed=9)
    assert prices != agile_like_prices(date(2026, 1, 12), 5, seed=10)
    by_hour: dict[int, list[float]] = {}
    for t, p in prices.items():
        by_hour.setdefault(t.astimezone(LONDON).hour, []).append(p)
    assert np.mean(by_hour[17]) > np.mean(by_hour[3]) + 0.1


def test_dynamic_uses_published_prices_then_the_latest_days_slot() -> None:
    prices = agile_like_prices(date(2026, 1, 14), 2, seed=2)
    tariff = Dynamic(prices=dict[str | datetime, float](prices.items()))
    for t, p in prices.items():
        assert tariff.import_price(t + timedelta(minutes=29)) == p
    later = local(2026, 1, 17, 18, 10)
    assert tariff.import_price(later) == prices[local(2026, 1, 15, 18, 0)]


def test_dynamic_slot_fallback_follows_the_local_clock_across_bst() -> None:
    prices = agile_like_prices(date(2026, 3, 27), 1, seed=3)  # GMT day
    tariff = Dynamic(prices=dict[str | datetime, float](prices.items()))
    # 09:00 BST on Monday is 08:00 UTC; it takes Friday's 09:00 local (= 09:00 UTC) price.
    assert tariff.import_price(local(2026, 3, 30, 9)) == prices[local(2026, 3, 27, 9)]


def test_dynamic_slot_missing_on_a_spring_forward_day_falls_back_to_an_earlier_day() -> None:
    prices = agile_like_prices(date(2026, 3, 28), 2, seed=3)  # the 29th has no 01:00-02:00 local
    tariff = Dynamic(prices=dict[str | datetime, float](prices.items()))
    assert tariff.import_price(local(2026, 3, 30, 1, 15)) == prices[local(2026, 3, 28, 1, 0)]
    assert tariff.import_price(local(2026, 3, 30, 3, 0)) == prices[local(2026, 3, 29, 3, 0)]


def test_dynamic_fall_back_day_prices_both_one_oclocks() -> None:
    prices = agile_like_prices(date(2026, 10, 25), 1, seed=5)
    tariff = Dynamic(prices=dict[str | datetime, float](prices.items()))
    first = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)  # 01:00 BST
    second = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 01:00 GMT
    assert tariff.import_price(first) == prices[first]
    assert tariff.import_price(second) == prices[second]


def test_dynamic_with_nothing_to_go_on_assumes_the_cap() -> None:
    tariff = Dynamic(prices={"2026-01-14T12:00:00+00:00": 0.2}, cap_gbp_per_kwh=0.9)
    assert tariff.import_price(datetime(2026, 1, 14, 12, 15, tzinfo=UTC)) == 0.2
    assert tariff.import_price(datetime(2026, 1, 14, 13, 0, tzinfo=UTC)) == 0.9
    assert tariff.import_price(datetime(2026, 1, 15, 12, 0, tzinfo=UTC)) == 0.2  # same local slot


def test_dynamic_accepts_offsets_and_negative_prices() -> None:
    tariff = tariff_from_config(
        {"type": "dynamic", "prices": {"2026-07-01T13:00:00+01:00": -0.05}, "export_gbp_per_kwh": 0.1}
    )
    when = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert tariff.import_price(when) == -0.05
    assert tariff.export_price(when) == -0.05  # never above import


# --- horizon prices ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(tariff_configs(), st.integers(1, 96))
def test_horizon_prices_export_never_above_import(config: dict[str, Any], n: int) -> None:
    source = tariff_from_config(config)
    start = datetime(2026, 1, 14, 18, 0, tzinfo=UTC)
    prices = horizon_prices(source, start, n, 0.5)
    assert prices.import_gbp_per_kwh.shape == prices.export_gbp_per_kwh.shape == (n,)
    assert (prices.export_gbp_per_kwh <= prices.import_gbp_per_kwh).all()
    for i in (0, n // 2, n - 1):
        when = start + timedelta(hours=0.5 * i)
        assert prices.import_gbp_per_kwh[i] == source.import_price(when)
        assert prices.export_gbp_per_kwh[i] == min(source.export_price(when), source.import_price(when))


def test_horizon_prices_over_a_clock_change_follow_local_time() -> None:
    source = tariff_from_config({"type": "two_rate", "night_hours": (0.5, 5.5), "night_gbp_per_kwh": 0.05})
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # 23:00 BST; the clocks go back at 02:00 BST
    prices = horizon_prices(source, start, 20, 0.5)
    night = [
        i for i, p in enumerate(prices.import_gbp_per_kwh) if p == 0.05
    ]  # 00:30 BST (23:30 UTC) to 05:30 GMT (05:30 UTC)
    assert night == list(range(3, 15))
