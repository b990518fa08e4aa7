"""Baseline registry and methods: day types, wall-clock matching over clock changes, X of Y vectors."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from homeflex.core.timeutil import LONDON
from homeflex.settlement.baselines import (
    METHODS,
    Registry,
    compute_baseline,
    eligible_days,
    register,
    same_day_type,
    same_local_period,
    x_of_y,
    x_of_y_value,
)

HH = timedelta(minutes=30)
WED = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # Wednesday, GMT: local time = UTC
SAT = datetime(2026, 11, 28, 17, 30, tzinfo=UTC)


def local_period(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def flat_history(first: date, last: date, value: Callable[[datetime], float]) -> dict[datetime, float]:
    """Every UTC half-hour from `first` to `last` (UTC dates), valued by `value(period)`."""
    t = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    out = {}
    while t < end:
        out[t] = value(t)
        t += HH
    return out


# --- registry -----------------------------------------------------------------------------------------


def test_registry_lists_builtin_methods() -> None:
    assert METHODS.names() == ["n_in_n", "pjm_match_day", "pjm_same_day", "same_day_type", "x_of_y"]
    assert METHODS.get("same_day_type") is same_day_type
    assert METHODS.get("x_of_y") is x_of_y


def test_unknown_method_lists_valid_choices() -> None:
    valid = "n_in_n, pjm_match_day, pjm_same_day, same_day_type, x_of_y"
    with pytest.raises(ValueError, match=rf"unknown baseline method 'nope'; known: {valid}"):
        METHODS.get("nope")


def test_duplicate_name_is_an_error_and_keeps_the_first() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register("same_day_type")(x_of_y)
    assert METHODS.get("same_day_type") is same_day_type

    fresh = Registry()
    fresh.register("a")(same_day_type)
    with pytest.raises(ValueError, match="'a' is already registered"):
        fresh.register("a")(x_of_y)
    assert fresh.names() == ["a"]


def test_compute_baseline_passes_params_and_rejects_unknown_ones() -> None:
    history = flat_history(date(2026, 10, 1), date(2026, 11, 24), lambda p: 1.0)
    assert compute_baseline("same_day_type", WED, history, weeks=2) == 1.0
    with pytest.raises(ValueError, match=r"unknown parameters \['week'\]; accepted: .*'weeks'"):
        compute_baseline("same_day_type", WED, history, week=2)
    with pytest.raises(ValueError, match=r"known: .*same_day_type, x_of_y"):
        compute_baseline("powershaper", WED, history)


# --- eligible days ------------------------------------------------------------------------------------


def test_powershaper_window_weekday_and_weekend() -> None:
    weekdays = eligible_days(WED, lookback_days=21)
    assert len(weekdays) == 15
    assert weekdays[0] == date(2026, 11, 24)  # most recent first
    assert weekdays[-1] == date(2026, 11, 4)  # 21 days back is Wednesday 4 Nov
    assert all(d.weekday() < 5 for d in weekdays)
    weekends = eligible_days(SAT, lookback_days=21)
    assert weekends == [
        date(2026, 11, 22),
        date(2026, 11, 21),
        date(2026, 11, 15),
        date(2026, 11, 14),
        date(2026, 11, 8),
        date(2026, 11, 7),
    ]


def test_excluded_days_and_holidays() -> None:
    monday = date(2026, 11, 23)
    assert monday not in eligible_days(WED, lookback_days=21, excluded_days=frozenset({monday}))
    # a holiday is gone from the weekday set; by default from the weekend set too, unless the
    # programme counts holidays as weekend days
    holiday = frozenset({monday})
    assert monday not in eligible_days(WED, lookback_days=21, holidays=holiday)
    assert monday not in eligible_days(SAT, lookback_days=21, holidays=holiday)
    assert monday in eligible_days(SAT, lookback_days=21, holidays=holiday, bank_holidays="weekend")


def test_day_type_uses_the_uk_local_date() -> None:
    # 23:30 UTC on Friday 2 Oct 2026 is 00:30 BST on Saturday: a weekend period.
    period = datetime(2026, 10, 2, 23, 30, tzinfo=UTC)
    assert all(d.weekday() >= 5 for d in eligible_days(period, lookback_days=21))


@pytest.mark.parametrize(
    "bad", [datetime(2026, 11, 25, 17, 30), WED + timedelta(minutes=10), WED + timedelta(microseconds=1)]
)
def test_period_must_be_an_aware_half_hour_start(bad: datetime) -> None:
    with pytest.raises(ValueError, match="half-hour"):
        same_day_type(bad, {})


# --- same local wall-clock time over clock changes ----------------------------------------------------


def test_autumn_clock_change_matches_local_time_not_utc() -> None:
    # Monday 26 Oct 2026, the day after clocks go back: 17:30 GMT = 17:30 UTC. On the 15 weekdays before
    # (all BST) 17:30 local is 16:30 UTC.
    event = local_period(date(2026, 10, 26), 17, 30)
    assert event == datetime(2026, 10, 26, 17, 30, tzinfo=UTC)
    history = flat_history(date(2026, 10, 1), date(2026, 10, 25), lambda p: 1.0 if p.hour == 16 else 9.0)
    assert same_day_type(event, history) == 1.0
    assert same_local_period(event, date(2026, 10, 23)) == datetime(2026, 10, 23, 16, 30, tzinfo=UTC)


def test_spring_clock_change_matches_local_time_not_utc() -> None:
    # Monday 30 Mar 2026, the day after clocks go forward: 17:30 BST = 16:30 UTC; before, 17:30 UTC.
    event = local_period(date(2026, 3, 30), 17, 30)
    assert event == datetime(2026, 3, 30, 16, 30, tzinfo=UTC)
    history = flat_history(date(2026, 3, 1), date(2026, 3, 29), lambda p: 2.0 if p.hour == 17 else 9.0)
    assert same_day_type(event, history) == 2.0


def test_wall_clock_time_missing_on_spring_forward_day_is_skipped() -> None:
    # Saturday 4 Apr 2026 01:30 BST. Sunday 29 Mar has no 01:30 (01:00 -> 02:00), so only 5 of the 6
    # weekend days can contribute, plus Good Friday 3 Apr where the programme counts bank holidays as
    # weekend days (by default a bank holiday is in no baseline's days).
    event = local_period(date(2026, 4, 4), 1, 30)
    assert same_local_period(event, date(2026, 3, 29)) is None
    history = flat_history(date(2026, 3, 1), date(2026, 4, 3), lambda p: float(p.day))
    # 01:30 GMT on 14, 15, 21, 22, 28 Mar is 01:30 UTC on those dates; 01:30 BST on 3 Apr is 00:30 UTC
    as_weekend = same_day_type(event, history, bank_holidays="weekend")
    assert as_weekend == pytest.approx((14 + 15 + 21 + 22 + 28 + 3) / 6)
    assert same_day_type(event, history) == pytest.approx((14 + 15 + 21 + 22 + 28) / 5)
    no_holidays = same_day_type(event, history, holidays=frozenset())
    assert no_holidays == pytest.approx((14 + 15 + 21 + 22 + 28) / 5)


def test_ambiguous_wall_clock_time_on_fall_back_day() -> None:
    fall_back = date(2026, 10, 25)  # 01:00-02:00 happens twice
    after = local_period(date(2026, 10, 31), 1, 30)  # Saturday, 01:30 GMT, fold 0
    assert same_local_period(after, fall_back) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # first (BST)
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    assert first.astimezone(LONDON).fold == 0
    assert second.astimezone(LONDON).fold == 1
    saturday = date(2026, 10, 24)
    expected = datetime(2026, 10, 24, 0, 30, tzinfo=UTC)
    assert same_local_period(first, saturday) == expected
    assert same_local_period(second, saturday) == expected


# --- same_day_type: exclusions and data sufficiency ---------------------------------------------------


def test_same_day_type_mean_and_exclusions() -> None:
    # value = day of month at 17:30, so the mean tells which days were used
    history = flat_history(date(2026, 11, 1), date(2026, 11, 24), lambda p: float(p.day))
    days = eligible_days(WED, lookback_days=21)
    assert same_day_type(WED, history) == pytest.approx(sum(d.day for d in days) / 15)
    excluded = frozenset({date(2026, 11, 24), date(2026, 11, 23)})
    assert same_day_type(WED, history, excluded_days=excluded) == pytest.approx(
        sum(d.day for d in days if d not in excluded) / 13
    )


def test_same_day_type_skips_missing_and_nan_days() -> None:
    history = {local_period(d, 17, 30): 1.0 for d in eligible_days(WED, lookback_days=21)}
    history[local_period(date(2026, 11, 24), 17, 30)] = math.nan
    history[local_period(date(2026, 11, 23), 17, 30)] = 4.0
    del history[local_period(date(2026, 11, 20), 17, 30)]
    assert same_day_type(WED, history) == pytest.approx((12 * 1.0 + 4.0) / 13)


@pytest.mark.parametrize(
    ("days_with_data", "min_days", "expected_nan"),
    [
        (8, None, False),  # default: half of 15 eligible days, rounded up = 8
        (7, None, True),
        (0, None, True),
        (3, 3, False),
        (2, 3, True),
        (1, 1, False),
    ],
)
def test_same_day_type_data_sufficiency(
    days_with_data: int, min_days: int | None, expected_nan: bool
) -> None:
    days = eligible_days(WED, lookback_days=21)[:days_with_data]
    history = {local_period(d, 17, 30): 1.5 for d in days}
    value = same_day_type(WED, history, min_days=min_days)
    assert math.isnan(value) is expected_nan
    if not expected_nan:
        assert value == 1.5


def test_same_day_type_weeks_parameter() -> None:
    history = flat_history(date(2026, 10, 1), date(2026, 11, 24), lambda p: 1.0 if p.day > 17 else 5.0)
    assert same_day_type(WED, history, weeks=1) == 1.0  # 18-24 Nov only
    with pytest.raises(ValueError, match="weeks"):
        same_day_type(WED, history, weeks=0)


# --- X of Y (settlement.md §7 vectors) -----------------------------------------------------------------

VECTOR = [1.20, 0.90, 1.50, 1.10, 0.80, 1.30, 1.00, 1.40, 0.95, 1.05]  # most recent first
VECTOR_CASES = [
    ("mid", 4, 6, 1.125),
    ("high", 4, 5, 1.175),
    ("high", 10, 10, 1.12),
    ("mid", 10, 10, 1.12),
    ("high", 5, 10, 1.30),
    ("mid", 6, 10, 1.10),
    ("low", 2, 3, 1.05),  # 0.90, 1.20 of 1.20 0.90 1.50
]


@pytest.mark.parametrize(("kind", "x", "y", "expected"), VECTOR_CASES)
def test_x_of_y_vectors(kind: str, x: int, y: int, expected: float) -> None:
    assert x_of_y_value(VECTOR, x=x, y=y, kind=kind) == pytest.approx(expected, abs=1e-12)  # type: ignore[arg-type]


def dated_vector_history(skip: frozenset[date] = frozenset()) -> dict[datetime, float]:
    """VECTOR on the most recent weekdays before WED at 17:30, skipping `skip` days (left without data)."""
    days = [d for d in eligible_days(WED, lookback_days=30) if d not in skip]
    return {local_period(d, 17, 30): v for d, v in zip(days, VECTOR, strict=False)}


@pytest.mark.parametrize(("kind", "x", "y", "expected"), VECTOR_CASES)
def test_x_of_y_method_on_dated_history(kind: str, x: int, y: int, expected: float) -> None:
    history = dated_vector_history()
    got = compute_baseline("x_of_y", WED, history, x=x, y=y, kind=kind)
    assert got == pytest.approx(expected, abs=1e-12)


def test_x_of_y_goes_further_back_past_excluded_and_missing_days() -> None:
    event_day = date(2026, 11, 24)
    no_data = date(2026, 11, 19)
    history = dated_vector_history(skip=frozenset({event_day, no_data}))
    history[local_period(event_day, 17, 30)] = 50.0  # an event day's own consumption must not count
    got = x_of_y(WED, history, excluded_days=frozenset({event_day}), x=10, y=10, kind="high")
    assert got == pytest.approx(1.12)


def test_x_of_y_insufficient_data_is_nan() -> None:
    history = dated_vector_history()
    assert math.isnan(x_of_y(WED, history, x=10, y=11, kind="high"))
    assert math.isnan(x_of_y(WED, history, x=10, y=10, kind="high", lookback_days=10))


@pytest.mark.parametrize(
    ("x", "y", "kind", "n", "match"),
    [
        (5, 4, "high", 10, "x <= y"),
        (0, 4, "high", 10, "x <= y"),
        (3, 6, "mid", 10, "even"),
        (4, 6, "median", 10, "high, mid or low"),
        (4, 6, "high", 5, "need 6 values"),
    ],
)
def test_x_of_y_value_rejects(x: int, y: int, kind: str, n: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        x_of_y_value(VECTOR[:n], x=x, y=y, kind=kind)  # type: ignore[arg-type]
