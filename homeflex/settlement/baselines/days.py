"""Day types and wall-clock matching for baselines, judged on UK local dates.

"Same time of day" means the same local wall-clock time, so a 17:30 event compares with 17:30 on earlier
days whatever the clock changes did in between. The day type is calendar_uk.day_type; what a bank
holiday counts as is the programme's `bank_holidays` setting (HolidayRule); `holidays=None` means the
computed England & Wales bank holidays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args

from homeflex.core.calendar_uk import DayType, bank_holidays_between, day_type
from homeflex.core.timeutil import LONDON, PERIOD, period_start

# What a bank holiday counts as in a baseline's days (settlement.md §3):
# - "exclude" (default): in no baseline's days, as NESO's DFS "working days", PJM and CAISO 10-in-10
#   build a weekday baseline; an event on a bank holiday is baselined on weekend days;
# - "weekend": a weekend day, so it also joins a weekend event's days (PJM's "weekends and holidays");
# - "working": the weekday it falls on (a programme that does not treat holidays apart).
HolidayRule = Literal["exclude", "weekend", "working"]
HOLIDAY_RULES: tuple[str, ...] = get_args(HolidayRule)


def local(period: datetime) -> datetime:
    """The period start in UK local time; rejects anything but an aware half-hour start."""
    if period.tzinfo is None or period_start(period) != period:
        raise ValueError(f"period {period!r} is not an aware half-hour period start")
    return period.astimezone(LONDON)


def uk_holidays(holidays: frozenset[date] | None, day: date, lookback_days: int) -> frozenset[date]:
    """`holidays`, or when None the bank holidays from `lookback_days` before `day` to `day`."""
    if holidays is not None:
        return holidays
    return bank_holidays_between(day - timedelta(days=lookback_days), day)


def baseline_day_type(day: date, holidays: frozenset[date], rule: HolidayRule = "exclude") -> DayType | None:
    """The day type whose baseline `day` may be one of the days of; None: of no baseline's."""
    kind = day_type(day, holidays)
    if kind is not DayType.BANK_HOLIDAY:
        return kind
    if rule not in HOLIDAY_RULES:
        raise ValueError(f"bank_holidays must be one of {', '.join(HOLIDAY_RULES)}, got {rule!r}")
    return {"exclude": None, "weekend": DayType.WEEKEND, "working": DayType.WORKING}[rule]


def eligible_days(
    period: datetime,
    *,
    lookback_days: int,
    excluded_days: frozenset[date] = frozenset(),
    holidays: frozenset[date] | None = None,
    bank_holidays: HolidayRule = "exclude",
) -> list[date]:
    """Local dates of the period's day type in the `lookback_days` before its local date, newest first.
    An event on a day of no baseline's type (a bank holiday under "exclude") takes weekend days."""
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be at least 1, got {lookback_days}")
    today = local(period).date()
    hols = uk_holidays(holidays, today, lookback_days)
    kind = baseline_day_type(today, hols, bank_holidays) or DayType.WEEKEND
    days = (today - timedelta(days=n) for n in range(1, lookback_days + 1))
    return [d for d in days if d not in excluded_days and baseline_day_type(d, hols, bank_holidays) is kind]


def calendar_days(
    period: datetime,
    lookback_days: int,
    excluded_days: frozenset[date],
    holidays: frozenset[date] | None,
    bank_holidays: HolidayRule,
) -> list[date]:
    """eligible_days with the calendar parameters every day-based method takes, in their order."""
    return eligible_days(
        period,
        lookback_days=lookback_days,
        excluded_days=excluded_days,
        holidays=holidays,
        bank_holidays=bank_holidays,
    )


def same_local_period(period: datetime, day: date) -> datetime | None:
    """The UTC period starting at `period`'s local wall-clock time on local date `day`.

    None when that wall-clock time does not exist on `day` (spring-forward gap). When it occurs twice
    (autumn fold), the occurrence with the same fold as `period` is taken.
    """
    at = local(period)
    candidate = datetime.combine(day, at.time(), tzinfo=LONDON).replace(fold=at.fold)
    utc = candidate.astimezone(UTC)
    if utc.astimezone(LONDON).replace(tzinfo=None) != candidate.replace(tzinfo=None):
        return None
    return utc


def known(history: Mapping[datetime, float], key: datetime | None) -> float:
    """The finite value at `key`, else NaN (absent, NaN, inf and a nonexistent time are all unknown)."""
    value = history.get(key, math.nan) if key is not None else math.nan
    return value if math.isfinite(value) else math.nan


def day_values(period: datetime, days: Sequence[date], history: Mapping[datetime, float]) -> list[float]:
    """History values for the period's local time on each day, in order; days without finite data skipped."""
    values = (known(history, same_local_period(period, day)) for day in days)
    return [v for v in values if not math.isnan(v)]


def local_day_periods(day: date) -> list[datetime]:
    """UTC starts of the half-hours of UK local date `day`: 46, 48 or 50 of them."""
    first = datetime.combine(day, time(), tzinfo=LONDON).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=LONDON).astimezone(UTC)
    return [first + k * PERIOD for k in range(int((end - first) / PERIOD))]
