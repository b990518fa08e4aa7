"""Data sufficiency (settlement.md §3): 80 % of HH in the last 20 days, with a configurable fallback."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from homeflex.core.timeutil import LONDON
from homeflex.settlement.baselines import (
    DataSufficiency,
    check_sufficiency,
    day_coverage,
    insufficient_days,
    local_day_periods,
)

EVENT_DAY = date(2026, 12, 20)  # the 45 days before it are all 48-HH days


def full(days: range, hh: int = 48) -> dict[datetime, float]:
    """`hh` half-hours of data on each of the days `days` before EVENT_DAY (1 = the day before)."""
    out = {}
    for n in days:
        for p in local_day_periods(EVENT_DAY - timedelta(days=n))[:hh]:
            out[p] = 0.5
    return out


def test_full_data_is_settleable() -> None:
    verdict = check_sufficiency(EVENT_DAY, full(range(1, 21)))
    assert (verdict.settleable, verdict.coverage, verdict.lookback_days) == (True, 1.0, 20)


@pytest.mark.parametrize(("days_with_data", "settleable"), [(16, True), (15, False), (0, False)])
def test_eighty_percent_boundary(days_with_data: int, settleable: bool) -> None:
    verdict = check_sufficiency(EVENT_DAY, full(range(1, days_with_data + 1)))
    assert verdict.settleable is settleable
    assert verdict.coverage == pytest.approx(days_with_data / 20)


def test_boundary_counts_half_hours_not_days() -> None:
    # 16 full days are exactly 80 %; one HH fewer is not
    history = full(range(1, 17))
    del history[local_day_periods(EVENT_DAY - timedelta(days=3))[10]]
    assert not check_sufficiency(EVENT_DAY, history).settleable
    history[local_day_periods(EVENT_DAY - timedelta(days=30))[0]] = 1.0  # outside the 20 days: no help
    assert not check_sufficiency(EVENT_DAY, history).settleable


def test_nan_and_inf_are_not_received() -> None:
    history = full(range(1, 21))
    for p in list(history)[: 48 * 5]:
        history[p] = math.nan if p.minute else math.inf
    assert check_sufficiency(EVENT_DAY, history).coverage == pytest.approx(15 / 20)


def test_extend_lookback_until_the_longer_window_passes() -> None:
    # the 6 most recent days are missing: 14 / 20 = 70 %. With complete older days, (14 + k) / (20 + k)
    # reaches 80 % at k = 10.
    history = full(range(7, 46))
    rule = DataSufficiency(fallback="extend_lookback", max_lookback_days=45)
    verdict = check_sufficiency(EVENT_DAY, history, rule)
    assert (verdict.settleable, verdict.lookback_days) == (True, 30)
    assert verdict.coverage == pytest.approx(24 / 30)
    assert not check_sufficiency(EVENT_DAY, history).settleable  # default fallback: not settleable


def test_extend_lookback_gives_up_at_the_maximum() -> None:
    rule = DataSufficiency(fallback="extend_lookback", max_lookback_days=29)
    verdict = check_sufficiency(EVENT_DAY, full(range(7, 46)), rule)
    assert (verdict.settleable, verdict.lookback_days) == (False, 20)
    assert verdict.coverage == pytest.approx(14 / 20)  # the figure of the rule's own window


def test_configurable_threshold_and_lookback() -> None:
    history = full(range(1, 8))
    assert check_sufficiency(EVENT_DAY, history, DataSufficiency(lookback_days=7)).settleable
    assert check_sufficiency(EVENT_DAY, history, DataSufficiency(min_fraction=0.35)).settleable
    assert not check_sufficiency(EVENT_DAY, history, DataSufficiency(min_fraction=0.36)).settleable


def test_day_coverage_on_clock_change_days() -> None:
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert len(local_day_periods(spring)) == 46
    assert len(local_day_periods(autumn)) == 50
    first = datetime.combine(autumn, time(), tzinfo=LONDON).astimezone(UTC)
    history = {first + k * timedelta(minutes=30): 1.0 for k in range(50)}
    assert day_coverage(history, autumn) == (50, 50)
    assert day_coverage(history, spring) == (0, 46)


def test_insufficient_days_calendar() -> None:
    history = full(range(1, 11))
    history.update(full(range(11, 12), hh=38))  # 38 / 48 = 79 %
    history.update(full(range(12, 13), hh=39))  # 81 %
    days = [EVENT_DAY - timedelta(days=n) for n in range(1, 14)]
    got = insufficient_days(history, days, min_fraction=0.8)
    assert got == {EVENT_DAY - timedelta(days=11), EVENT_DAY - timedelta(days=13)}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_fraction": 1.1}, "min_fraction"),
        ({"min_fraction": math.nan}, "min_fraction"),
        ({"lookback_days": 0}, "lookback_days"),
        ({"lookback_days": 50}, "lookback_days"),
        ({"fallback": "guess"}, "fallback"),
    ],
)
def test_rule_rejects(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DataSufficiency(**kwargs)  # type: ignore[arg-type]


def test_extending_never_lowers_the_verdict_property() -> None:
    rng = random.Random(3)
    every = [p for n in range(1, 46) for p in local_day_periods(EVENT_DAY - timedelta(days=n))]
    for _ in range(60):
        history = dict.fromkeys(rng.sample(every, rng.randrange(0, len(every))), 1.0)
        strict = check_sufficiency(EVENT_DAY, history)
        extended = check_sufficiency(EVENT_DAY, history, DataSufficiency(fallback="extend_lookback"))
        assert strict.settleable <= extended.settleable
        if strict.settleable:
            assert extended == strict
        if extended.settleable:
            assert extended.coverage >= 0.8
