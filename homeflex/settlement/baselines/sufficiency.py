"""Data sufficiency (settlement.md §3): enough half-hours received before an event to trust a baseline.

Octopus Saving Sessions' rule is at least 80 % of HH readings received in the last 20 days [V]. The
fallback when that fails is a programme choice: mark the household not settleable, or extend the
lookback a day at a time (up to `max_lookback_days`) until the longer window passes. A caller that
extends should give the baseline method the returned `lookback_days` too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Literal

from homeflex.settlement.baselines.days import known, local_day_periods

Fallback = Literal["not_settleable", "extend_lookback"]


@dataclass(frozen=True, kw_only=True)
class DataSufficiency:
    min_fraction: float = 0.8
    lookback_days: int = 20
    fallback: Fallback = "not_settleable"
    max_lookback_days: int = 45  # only used by "extend_lookback"

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_fraction <= 1.0:
            raise ValueError(f"min_fraction must be within [0, 1], got {self.min_fraction}")
        if not 1 <= self.lookback_days <= self.max_lookback_days:
            raise ValueError("need 1 <= lookback_days <= max_lookback_days")
        if self.fallback not in ("not_settleable", "extend_lookback"):
            raise ValueError(f"fallback must be not_settleable or extend_lookback, got {self.fallback!r}")


@dataclass(frozen=True, kw_only=True)
class Sufficiency:
    """The verdict, with the figures that explain it."""

    settleable: bool
    coverage: float  # received / expected HH over the window judged
    lookback_days: int  # the window judged: the rule's, or the extended one


def day_coverage(history: Mapping[datetime, float], day: date) -> tuple[int, int]:
    """(HH with finite data, HH in the day) for UK local date `day`."""
    hh = local_day_periods(day)
    return sum(not math.isnan(known(history, p)) for p in hh), len(hh)


def check_sufficiency(
    event_day: date, history: Mapping[datetime, float], rule: DataSufficiency = DataSufficiency()
) -> Sufficiency:
    """Judge the local days before `event_day` against `rule`."""
    longest = rule.max_lookback_days if rule.fallback == "extend_lookback" else rule.lookback_days
    per_day = [day_coverage(history, event_day - timedelta(days=n)) for n in range(1, longest + 1)]
    received = list(accumulate(r for r, _ in per_day))
    expected = list(accumulate(e for _, e in per_day))
    for days in range(rule.lookback_days, longest + 1):
        coverage = received[days - 1] / expected[days - 1]
        if coverage >= rule.min_fraction:
            return Sufficiency(settleable=True, coverage=coverage, lookback_days=days)
    first = received[rule.lookback_days - 1] / expected[rule.lookback_days - 1]
    return Sufficiency(settleable=False, coverage=first, lookback_days=rule.lookback_days)


def insufficient_days(
    history: Mapping[datetime, float], days: Iterable[date], *, min_fraction: float
) -> frozenset[date]:
    """The days whose own coverage is below `min_fraction`: an exclusion calendar for baselines (§3)."""
    out = set()
    for day in days:
        received, expected = day_coverage(history, day)
        if received / expected < min_fraction:  # a division, as check_sufficiency: same verdict at the edge
            out.add(day)
    return frozenset(out)
