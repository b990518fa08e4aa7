"""Historical-day baselines: the same local half-hour on earlier days of the same day type (settlement.md §1).

All of them skip excluded (event) days; UK bank holidays count as the programme's `bank_holidays` says
(days.HolidayRule; by default in no baseline's days). Pass `holidays=frozenset()` for none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Literal

from homeflex.settlement.baselines.days import HolidayRule, calendar_days, day_values
from homeflex.settlement.baselines.registry import EventWindow, register

XofYKind = Literal["high", "mid", "low"]


@register("same_day_type")
def same_day_type(
    period: datetime,
    history: Mapping[datetime, float],
    /,
    *,
    excluded_days: frozenset[date] = frozenset(),
    event: EventWindow | None = None,
    holidays: frozenset[date] | None = None,
    bank_holidays: HolidayRule = "exclude",
    weeks: int = 3,
    min_days: int | None = None,
) -> float:
    """PowerShaper: mean of the same local half-hour on same-day-type days of the previous `weeks` weeks.

    Excluded days (event days) are skipped and the window is not extended to replace them. NaN unless at
    least `min_days` days have data (default: half the eligible days, rounded up, at least one).
    """
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    days = calendar_days(period, 7 * weeks, excluded_days, holidays, bank_holidays)
    values = day_values(period, days, history)
    needed = max(1, math.ceil(len(days) / 2)) if min_days is None else min_days
    if not values or len(values) < needed:
        return math.nan
    return math.fsum(values) / len(values)


def x_of_y_value(values: Sequence[float], *, x: int, y: int, kind: XofYKind) -> float:
    """X of Y over the first `y` values (most recent first); settlement.md §1.

    high / low: mean of the X highest / lowest. mid: sort, drop (Y - X) / 2 from each end, mean the rest.
    """
    lo, hi = x_of_y_slice(x=x, y=y, kind=kind)
    if len(values) < y:
        raise ValueError(f"need {y} values, got {len(values)}")
    return math.fsum(sorted(values[:y])[lo:hi]) / x


def x_of_y_slice(*, x: int, y: int, kind: XofYKind) -> tuple[int, int]:
    """[lo, hi) of the ascending-sorted Y values that an X of Y mean keeps; shared with vectorised."""
    if not 1 <= x <= y:
        raise ValueError(f"need 1 <= x <= y, got x={x}, y={y}")
    if kind == "high":
        return y - x, y
    if kind == "low":
        return 0, x
    if kind != "mid":
        raise ValueError(f"kind must be high, mid or low, got {kind!r}")
    if (y - x) % 2:
        raise ValueError(f"mid {x} of {y}: y - x must be even")
    drop = (y - x) // 2
    return drop, y - drop


@register("x_of_y")
def x_of_y(
    period: datetime,
    history: Mapping[datetime, float],
    /,
    *,
    excluded_days: frozenset[date] = frozenset(),
    event: EventWindow | None = None,
    holidays: frozenset[date] | None = None,
    bank_holidays: HolidayRule = "exclude",
    x: int = 10,
    y: int = 10,
    kind: XofYKind = "high",
    lookback_days: int = 45,
) -> float:
    """High / mid / low X of the last Y same-day-type days with data, within `lookback_days`.

    Days without data for the period are skipped (and the search goes further back); NaN if fewer than Y
    such days are found. Defaults are "10 of 10"; the 45-day window follows PJM [U].
    """
    x_of_y_slice(x=x, y=y, kind=kind)  # bad parameters fail even when data is short
    days = calendar_days(period, lookback_days, excluded_days, holidays, bank_holidays)
    values = day_values(period, days, history)
    if len(values) < y:
        return math.nan
    return x_of_y_value(values, x=x, y=y, kind=kind)


@register("n_in_n")
def n_in_n(
    period: datetime,
    history: Mapping[datetime, float],
    /,
    *,
    excluded_days: frozenset[date] = frozenset(),
    event: EventWindow | None = None,
    holidays: frozenset[date] | None = None,
    bank_holidays: HolidayRule = "exclude",
    n: int = 10,
    lookback_days: int = 45,
    min_days: int | None = None,
) -> float:
    """DFS style: mean of the last `n` same-day-type days with data, searching back `lookback_days`.

    Unlike x_of_y, fewer than `n` days still give a mean, down to `min_days` (default `n`); below that NaN.
    """
    needed = n if min_days is None else min_days
    if not 1 <= needed <= n:
        raise ValueError(f"need 1 <= min_days <= n, got min_days={min_days}, n={n}")
    days = calendar_days(period, lookback_days, excluded_days, holidays, bank_holidays)
    values = day_values(period, days, history)[:n]
    if len(values) < needed:
        return math.nan
    return math.fsum(values) / len(values)
