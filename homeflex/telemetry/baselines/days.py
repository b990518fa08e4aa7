"""Day types and wall-clock matching for baselines, judged on UK local dates.

"Same time of day" means the same local wall-clock time, so a 17:30 event compares with 17:30 on earlier
days whatever the clock changes did in between. Holidays count as weekend (non-working) days
(settlement.md §3); `holidays=None` means the computed England & Wales bank holidays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from homeflex.core.timeutil import LONDON, PERIOD, period_start
from homeflex.telemetry.calendar_uk import bank_holidays_between


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


def is_weekend_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    """Day type of a UK local date; holidays count as weekend days (settlement.md §3)."""
    return day.weekday() >= 5 or day in holidays


def eligible_days(
    period: datetime,
    *,
    lookback_days: int,
    excluded_days: frozenset[date] = frozenset(),
    holidays: frozenset[date] | None = None,
) -> list[date]:
    """Local dates of the period's day type in the `lookback_days` before its local date, newest first."""
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be at least 1, got {lookback_days}")
    today = local(period).date()
    hols = uk_holidays(holidays, today, lookback_days)
    weekend = is_weekend_day(today, hols)
    days = (today - timedelta(days=n) for n in range(1, lookback_days + 1))
    return [d for d in days if d not in excluded_days and is_weekend_day(d, hols) == weekend]


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
