"""The registry contract over every method, bank holidays by default, n_in_n and the PJM same-day methods."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from homeflex.core.timeutil import LONDON
from homeflex.settlement.baselines import (
    METHODS,
    EventWindow,
    compute_baseline,
    eligible_days,
    match_days,
    n_in_n,
    pjm_match_day,
    pjm_same_day,
    same_day_type,
    x_of_y,
)

HH = timedelta(minutes=30)
WED = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # GMT: local time = UTC
VECTOR = [1.20, 0.90, 1.50, 1.10, 0.80, 1.30, 1.00, 1.40, 0.95, 1.05]  # settlement.md §7, newest first


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def history(first: date, last: date, value: Callable[[datetime], float]) -> dict[datetime, float]:
    t, end = at(first, 0), at(last + timedelta(days=1), 0)
    out = {}
    while t < end:
        out[t] = value(t)
        t += HH
    return out


def event_at(period: datetime, n: int = 1) -> EventWindow:
    return EventWindow(start=period, end=period + n * HH)


# --- the contract ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_follows_the_contract(name: str) -> None:
    fn = METHODS.get(name)
    params = inspect.signature(fn).parameters
    assert [p.kind for p in params.values()][:2] == [inspect.Parameter.POSITIONAL_ONLY] * 2
    keyword = [p for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert [p.name for p in keyword][:2] == ["excluded_days", "event"]
    assert all(p.default is not inspect.Parameter.empty for p in keyword)  # every param configurable
    # flat 1.0 kWh everywhere, on weekdays and weekends: every method's baseline is 1.0
    flat = history(date(2026, 9, 1), date(2026, 11, 30), lambda p: 1.0)
    assert compute_baseline(name, WED, flat, event=event_at(WED)) == pytest.approx(1.0)
    assert math.isnan(compute_baseline(name, WED, {}, event=event_at(WED)))


def test_params_lists_only_the_method_own_keywords() -> None:
    assert METHODS.params("n_in_n") == ("holidays", "bank_holidays", "n", "lookback_days", "min_days")
    assert METHODS.params("pjm_same_day") == ("before", "skip_before", "after", "skip_after", "min_periods")


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        (datetime(2026, 11, 25, 17, 30), datetime(2026, 11, 25, 18, 0, tzinfo=UTC), "timezone-aware"),
        (WED, WED, "after its start"),
        (WED, WED - HH, "after its start"),
    ],
)
def test_event_window_is_validated(start: datetime, end: datetime, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EventWindow(start=start, end=end)


def test_event_window_periods_cover_partial_half_hours() -> None:
    window = EventWindow(start=WED + timedelta(minutes=10), end=WED + timedelta(minutes=40))
    assert window.periods() == [WED, WED + HH]


# --- UK bank holidays by default ---------------------------------------------------------------------

TUE_AFTER_EASTER = at(date(2026, 4, 7), 17, 30)  # Good Friday 3 Apr, Easter Monday 6 Apr 2026


def test_weekday_methods_skip_bank_holidays_by_default() -> None:
    values = history(
        date(2026, 2, 1),
        date(2026, 4, 6),
        lambda p: 50.0 if p.date() in (date(2026, 4, 3), date(2026, 4, 6)) else 1.0,
    )
    for name in ("same_day_type", "x_of_y", "n_in_n"):
        assert compute_baseline(name, TUE_AFTER_EASTER, values) == 1.0, name
        with_holidays = compute_baseline(name, TUE_AFTER_EASTER, values, holidays=frozenset())
        assert with_holidays > 1.0, name
    days = eligible_days(TUE_AFTER_EASTER, lookback_days=7)
    assert days == [date(2026, 4, 2), date(2026, 4, 1), date(2026, 3, 31)]


def test_a_bank_holiday_event_compares_with_weekends_and_holidays() -> None:
    monday = at(date(2026, 8, 31), 17, 30)  # Summer bank holiday
    days = eligible_days(monday, lookback_days=21)
    assert all(d.weekday() >= 5 for d in days)
    assert len(days) == 6
    easter_monday = at(date(2026, 4, 6), 12)
    # Good Friday: by default in no baseline's days; a weekend day where the programme says so.
    assert date(2026, 4, 3) not in eligible_days(easter_monday, lookback_days=7)
    assert date(2026, 4, 3) in eligible_days(easter_monday, lookback_days=7, bank_holidays="weekend")


SAT_AFTER_EASTER = at(date(2026, 4, 11), 17, 30)


@pytest.mark.parametrize(
    ("rule", "tuesday", "saturday"),
    [
        # default: bank holidays in no baseline's days (NESO DFS working days, PJM, CAISO 10-in-10)
        ("exclude", [date(2026, 4, 2), date(2026, 4, 1)], [date(2026, 4, 5), date(2026, 4, 4)]),
        # before this setting, always: a bank holiday joined the weekend days
        (
            "weekend",
            [date(2026, 4, 2), date(2026, 4, 1)],
            [date(2026, 4, 6), date(2026, 4, 5), date(2026, 4, 4)],
        ),
        # the weekday it falls on
        (
            "working",
            [date(2026, 4, 6), date(2026, 4, 3), date(2026, 4, 2), date(2026, 4, 1)],
            [date(2026, 4, 5)],
        ),
    ],
)
def test_the_bank_holiday_rule_is_a_programme_setting(
    rule: str, tuesday: list[date], saturday: list[date]
) -> None:
    tue_days = eligible_days(TUE_AFTER_EASTER, lookback_days=6, bank_holidays=rule)  # type: ignore[arg-type]
    sat_days = eligible_days(SAT_AFTER_EASTER, lookback_days=7, bank_holidays=rule)  # type: ignore[arg-type]
    assert tue_days == tuesday and sat_days[: len(saturday)] == saturday
    values = history(
        date(2026, 2, 1), date(2026, 4, 10), lambda p: 50.0 if p.date() == date(2026, 4, 6) else 1.0
    )
    expected = 1.0 if rule != "working" else pytest.approx((50 + 9) / 10)
    assert compute_baseline("n_in_n", TUE_AFTER_EASTER, values, bank_holidays=rule) == expected


def test_a_programme_names_its_bank_holiday_rule_or_is_refused() -> None:
    from homeflex.settlement.programme import rules_from_record
    from homeflex.storage.records import ProgrammeRecord

    def record(**params: object) -> ProgrammeRecord:
        return ProgrammeRecord(id="p", name="p", baseline_method="n_in_n", baseline_params=params)

    assert rules_from_record(record(bank_holidays="weekend")).params == {"bank_holidays": "weekend"}
    with pytest.raises(ValueError, match="bank_holidays must be one of exclude, weekend, working"):
        rules_from_record(record(bank_holidays="sometimes"))


def test_explicit_holidays_replace_the_uk_calendar() -> None:
    custom = frozenset({date(2026, 11, 24)})
    assert date(2026, 11, 24) not in eligible_days(WED, lookback_days=7, holidays=custom)
    assert date(2026, 11, 24) in eligible_days(WED, lookback_days=7)


# --- n_in_n ------------------------------------------------------------------------------------------


def dated(values: list[float], skip: frozenset[date] = frozenset()) -> dict[datetime, float]:
    days = [d for d in eligible_days(WED, lookback_days=60) if d not in skip]
    return {at(d, 17, 30): v for d, v in zip(days, values, strict=False)}


def test_n_in_n_is_the_10_in_10_vector() -> None:
    assert n_in_n(WED, dated(VECTOR)) == pytest.approx(1.12)
    assert compute_baseline("n_in_n", WED, dated(VECTOR), n=5) == pytest.approx(
        (1.2 + 0.9 + 1.5 + 1.1 + 0.8) / 5
    )


def test_n_in_n_searches_back_past_event_days_and_gaps() -> None:
    event_day, gap = date(2026, 11, 24), date(2026, 11, 20)
    values = dated(VECTOR, skip=frozenset({event_day, gap}))
    values[at(event_day, 17, 30)] = 99.0
    assert n_in_n(WED, values, excluded_days=frozenset({event_day})) == pytest.approx(1.12)


@pytest.mark.parametrize(
    ("available", "min_days", "expect"),
    [
        (10, None, 1.12),
        (9, None, math.nan),  # default minimum is n
        (9, 9, sum(VECTOR[:9]) / 9),
        (3, 3, (1.2 + 0.9 + 1.5) / 3),
        (2, 3, math.nan),
    ],
)
def test_n_in_n_minimum(available: int, min_days: int | None, expect: float) -> None:
    got = n_in_n(WED, dated(VECTOR[:available]), min_days=min_days)
    assert got == pytest.approx(expect, nan_ok=True)


def test_n_in_n_lookback_limits_the_search() -> None:
    # 10 weekdays need 14 calendar days back from a Wednesday
    assert math.isnan(n_in_n(WED, dated(VECTOR), lookback_days=13))
    assert n_in_n(WED, dated(VECTOR), lookback_days=14) == pytest.approx(1.12)


@pytest.mark.parametrize(("n", "min_days"), [(10, 0), (10, 11), (0, None)])
def test_n_in_n_rejects_bad_minimum(n: int, min_days: int | None) -> None:
    with pytest.raises(ValueError, match="min_days"):
        n_in_n(WED, {}, n=n, min_days=min_days)


# --- pjm_same_day ------------------------------------------------------------------------------------

DAY = date(2026, 11, 25)  # GMT
PJM_EVENT = EventWindow(start=at(DAY, 12), end=at(DAY, 17))  # hours ending 13-17


def test_pjm_same_day_uses_he_9_11_and_19_20() -> None:
    # RTO Insider's example: an event in HE 13-17 uses HE 9-11 and HE 19-20; half-hourly that is
    # 08:00-11:00 and 18:00-20:00, skipping 11:00-12:00 and 17:00-18:00.
    used = {at(DAY, 8) + k * HH for k in range(6)} | {at(DAY, 18) + k * HH for k in range(4)}
    values = history(DAY, DAY, lambda p: 1.0 + (p.minute == 30) if p in used else 100.0)
    for p in PJM_EVENT.periods():
        assert pjm_same_day(p, values, event=PJM_EVENT) == pytest.approx(1.5)


def test_pjm_same_day_hourly_parameters() -> None:
    values = history(DAY, DAY, lambda p: float(p.hour))
    got = pjm_same_day(at(DAY, 12), values, event=PJM_EVENT, before=2, skip_before=0, after=1, skip_after=4)
    assert got == pytest.approx((11 + 11 + 19) / 3)  # 11:00, 11:30 and 19:00


def test_pjm_same_day_missing_data() -> None:
    values = history(DAY, DAY, lambda p: 1.0)
    del values[at(DAY, 8)]
    values[at(DAY, 19, 30)] = math.inf
    assert math.isnan(pjm_same_day(at(DAY, 12), values, event=PJM_EVENT))
    assert pjm_same_day(at(DAY, 12), values, event=PJM_EVENT, min_periods=8) == 1.0


@pytest.mark.parametrize(
    ("period", "event", "params", "match"),
    [
        (at(DAY, 12), None, {}, "needs the event window"),
        (at(DAY, 11, 30), PJM_EVENT, {}, "not in the event window"),
        (at(DAY, 12), PJM_EVENT, {"before": -1}, "counts"),
        (at(DAY, 12), PJM_EVENT, {"before": 0, "after": 0}, "counts"),
        (at(DAY, 12) + timedelta(minutes=5), PJM_EVENT, {}, "half-hour"),
    ],
)
def test_pjm_same_day_rejects(
    period: datetime, event: EventWindow | None, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        compute_baseline("pjm_same_day", period, {}, event=event, **params)


# --- pjm_match_day -----------------------------------------------------------------------------------

MATCH_EVENT = EventWindow(start=at(DAY, 17), end=at(DAY, 19))
OFFSETS = {
    date(2026, 11, 24): 0.3,
    date(2026, 11, 23): -0.1,
    date(2026, 11, 20): 0.2,
    date(2026, 11, 19): 0.05,
}


def shape(p: datetime) -> float:
    return 1.0 + math.sin(p.hour / 3.0)


def match_history(offsets: dict[date, float]) -> dict[datetime, float]:
    """Every earlier day is the event day's shape shifted by its offset (default 1.0); the event day has
    a deep cut in the event and garbage within an hour of it, neither of which may affect the match."""

    def value(p: datetime) -> float:
        day = p.astimezone(LONDON).date()
        if day == DAY:
            if MATCH_EVENT.start <= p < MATCH_EVENT.end:
                return 0.0
            if MATCH_EVENT.start - 2 * HH <= p < MATCH_EVENT.end + 2 * HH:
                return 1000.0
            return shape(p)
        return shape(p) + offsets.get(day, 1.0)

    return history(DAY - timedelta(days=50), DAY, value)


def test_match_days_are_the_least_squared_difference() -> None:
    values = match_history(OFFSETS)
    assert match_days(MATCH_EVENT, values) == [date(2026, 11, 19), date(2026, 11, 23), date(2026, 11, 20)]
    p = MATCH_EVENT.start
    expected = shape(p) + (0.05 - 0.1 + 0.2) / 3
    assert pjm_match_day(p, values, event=MATCH_EVENT) == pytest.approx(expected)


def test_match_day_margin_keeps_the_hour_around_the_event_out() -> None:
    # Without the margin the event day's 1000s next to the event enter the match and the days shifted
    # furthest up (the default +1.0) win instead of the closest shapes.
    values = match_history(OFFSETS)
    assert not set(match_days(MATCH_EVENT, values, margin_periods=0)) & set(OFFSETS)


def test_match_day_ties_go_to_the_more_recent_day() -> None:
    values = match_history({date(2026, 11, 24): 0.1, date(2026, 11, 17): 0.1, date(2026, 11, 10): 0.1})
    assert match_days(MATCH_EVENT, values, days=2) == [date(2026, 11, 24), date(2026, 11, 17)]


def test_match_day_skips_excluded_incomplete_weekend_and_holiday_days() -> None:
    values = match_history(OFFSETS)
    del values[at(date(2026, 11, 19), 3)]  # a gap in the compared hours
    del values[at(date(2026, 11, 20), 18)]  # a gap in the event hours
    excluded = frozenset({date(2026, 11, 23)})
    values.update({p: shape(p) for p in history(date(2026, 11, 21), date(2026, 11, 22), shape)})  # weekend
    got = match_days(MATCH_EVENT, values, excluded_days=excluded)
    assert got[0] == date(2026, 11, 24)
    assert not {date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23)} & set(got)
    assert all(d.weekday() < 5 for d in got)
    anyday = match_days(MATCH_EVENT, values, excluded_days=excluded, same_day_type=False)
    assert anyday[:2] == [date(2026, 11, 22), date(2026, 11, 21)]  # the weekend matches exactly


def test_match_day_too_few_days_is_nan() -> None:
    values = match_history(OFFSETS)
    assert math.isnan(pjm_match_day(MATCH_EVENT.start, values, event=MATCH_EVENT, lookback_days=2, days=3))
    event_day_only = {p: v for p, v in values.items() if p.astimezone(LONDON).date() == DAY}
    assert match_days(MATCH_EVENT, event_day_only) == []
    no_event_day = {p: v for p, v in values.items() if p.astimezone(LONDON).date() != DAY}
    assert match_days(MATCH_EVENT, no_event_day) == []


def test_match_day_rejects() -> None:
    with pytest.raises(ValueError, match="needs the event window"):
        pjm_match_day(MATCH_EVENT.start, {})
    with pytest.raises(ValueError, match="days must be >= 1"):
        match_days(MATCH_EVENT, {}, days=0)


def test_day_methods_ignore_the_event() -> None:
    values = dated(VECTOR)
    for fn in (same_day_type, x_of_y, n_in_n):
        assert fn(WED, values) == fn(WED, values, event=event_at(WED))
