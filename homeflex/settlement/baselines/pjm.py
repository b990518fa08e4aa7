"""Same-day baselines after PJM (settlement.md §1): they need the event window and the event day's data.

pjm_same_day: the half-hourly reading of "Same Day (3+2)" [U]: the `before` HH that end `skip_before` HH
before the event and the `after` HH that start `skip_after` HH after it. pjm_match_day: the `days`
earlier days whose load best matches the event day outside the event and a margin around it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from homeflex.core.timeutil import PERIOD
from homeflex.settlement.baselines.days import (
    HolidayRule,
    eligible_days,
    known,
    local,
    local_day_periods,
    same_local_period,
    uk_holidays,
)
from homeflex.settlement.baselines.registry import EventWindow, register


@register("pjm_same_day")
def pjm_same_day(
    period: datetime,
    history: Mapping[datetime, float],
    /,
    *,
    excluded_days: frozenset[date] = frozenset(),
    event: EventWindow | None = None,
    before: int = 6,
    skip_before: int = 2,
    after: int = 4,
    skip_after: int = 2,
    min_periods: int | None = None,
) -> float:
    """Mean kWh of the HH around the event; the same value for every event HH.

    NaN unless at least `min_periods` of them have data (default: all).
    """
    event_periods = _require_event("pjm_same_day", period, event).periods()
    if min(before, skip_before, after, skip_after) < 0 or before + after < 1:
        raise ValueError("pjm_same_day: counts must be >= 0 and before + after >= 1")
    first, end = event_periods[0], event_periods[-1] + PERIOD
    keys = [first - (skip_before + k) * PERIOD for k in range(1, before + 1)]
    keys += [end + (skip_after + k) * PERIOD for k in range(after)]
    values = [v for v in (known(history, k) for k in keys) if not math.isnan(v)]
    needed = before + after if min_periods is None else min_periods
    if not values or len(values) < needed:
        return math.nan
    return math.fsum(values) / len(values)


@register("pjm_match_day")
def pjm_match_day(
    period: datetime,
    history: Mapping[datetime, float],
    /,
    *,
    excluded_days: frozenset[date] = frozenset(),
    event: EventWindow | None = None,
    holidays: frozenset[date] | None = None,
    bank_holidays: HolidayRule = "exclude",
    days: int = 3,
    lookback_days: int = 45,
    margin_periods: int = 2,
    same_day_type: bool = True,
) -> float:
    """Mean of the period's local time on the `days` best-matching days (match_days); NaN if too few."""
    chosen = match_days(
        _require_event("pjm_match_day", period, event),
        history,
        excluded_days=excluded_days,
        holidays=holidays,
        bank_holidays=bank_holidays,
        days=days,
        lookback_days=lookback_days,
        margin_periods=margin_periods,
        same_day_type=same_day_type,
    )
    if len(chosen) < days:
        return math.nan
    return math.fsum(known(history, same_local_period(period, d)) for d in chosen) / days


def match_days(
    event: EventWindow,
    history: Mapping[datetime, float],
    *,
    excluded_days: frozenset[date] = frozenset(),
    holidays: frozenset[date] | None = None,
    bank_holidays: HolidayRule = "exclude",
    days: int = 3,
    lookback_days: int = 45,
    margin_periods: int = 2,
    same_day_type: bool = True,
) -> list[date]:
    """Up to `days` earlier local dates, best match first, by least sum of squared differences.

    The match is over the event day's HH with data, leaving out the event and `margin_periods` HH each
    side. A candidate day needs data at all of those HH and at every event HH, so one set of days serves
    the whole event. Ties go to the more recent day.
    """
    if days < 1 or margin_periods < 0:
        raise ValueError("pjm_match_day: days must be >= 1 and margin_periods >= 0")
    event_periods = event.periods()
    lo, hi = event_periods[0] - margin_periods * PERIOD, event_periods[-1] + (1 + margin_periods) * PERIOD
    reference = {
        p: v
        for p in local_day_periods(local(event_periods[0]).date())
        if not lo <= p < hi and not math.isnan(v := known(history, p))
    }
    if not reference:
        return []
    scored = []
    candidates = _candidates(
        event_periods[0], excluded_days, holidays, lookback_days, same_day_type, bank_holidays
    )
    for day in candidates:
        here = {p: known(history, same_local_period(p, day)) for p in [*reference, *event_periods]}
        if not any(math.isnan(v) for v in here.values()):
            ssd = math.fsum((here[p] - v) ** 2 for p, v in reference.items())
            scored.append((ssd, -day.toordinal(), day))
    return [day for _, _, day in sorted(scored)[:days]]


def _candidates(
    first: datetime,
    excluded_days: frozenset[date],
    holidays: frozenset[date] | None,
    lookback_days: int,
    same_day_type: bool,
    bank_holidays: HolidayRule,
) -> list[date]:
    if same_day_type:
        return eligible_days(
            first,
            lookback_days=lookback_days,
            excluded_days=excluded_days,
            holidays=holidays,
            bank_holidays=bank_holidays,
        )
    # Any day type, but holidays are no more typical of a weekday than of a weekend: left out.
    today = local(first).date()
    hols = uk_holidays(holidays, today, lookback_days)
    days = (today - timedelta(days=n) for n in range(1, lookback_days + 1))
    return [d for d in days if d not in excluded_days and d not in hols]


def _require_event(name: str, period: datetime, event: EventWindow | None) -> EventWindow:
    local(period)  # rejects a period that is not an aware half-hour start
    if event is None:
        raise ValueError(f"{name} needs the event window: pass event=EventWindow(start=..., end=...)")
    if period not in event.periods():
        raise ValueError(f"{name}: period {period.isoformat()} is not in the event window")
    return event
