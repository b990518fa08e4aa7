"""Half-hourly prices published a day ahead (as Octopus Agile). Beyond the published prices the
planner still needs a number: the same local slot of the latest published day that has it stands in for
it (a spring-forward day has no 01:00-02:00 local, so the day before fills those slots)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from homeflex.core.timeutil import LONDON, PERIOD, parse_utc, period_start
from homeflex.tariffs import DEFAULT_EXPORT_GBP_PER_KWH, check_price, register


@register("dynamic")
@dataclass(frozen=True, kw_only=True)
class Dynamic:
    """``prices``: half-hour start (ISO 8601 with offset, or datetime) -> import £/kWh."""

    prices: Mapping[str | datetime, float]
    export_gbp_per_kwh: float = DEFAULT_EXPORT_GBP_PER_KWH
    cap_gbp_per_kwh: float = 1.00  # Agile's published cap: the price assumed with nothing to go on
    name: str = "dynamic"
    _by_start: dict[datetime, float] = field(init=False, repr=False, compare=False)
    _by_slot: dict[tuple[int, int], float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.prices:
            raise ValueError("dynamic tariff: prices must not be empty")
        by_start: dict[datetime, float] = {}
        for key, price in self.prices.items():
            when = key if isinstance(key, datetime) else parse_utc(key)
            if when.tzinfo is None:
                raise ValueError(f"dynamic tariff: price time {key!r} has no offset")
            if period_start(when) != when:
                raise ValueError(f"dynamic tariff: {key!r} is not the start of a half-hour")
            check_price(f"price at {key}", price)
            by_start[when] = float(price)
        check_price("export_gbp_per_kwh", self.export_gbp_per_kwh)
        slots = {_slot(t): p for t, p in sorted(by_start.items())}  # later days override earlier ones
        object.__setattr__(self, "_by_start", by_start)
        object.__setattr__(self, "_by_slot", slots)

    def import_price(self, when: datetime) -> float:
        start = period_start(when)
        if start in self._by_start:
            return self._by_start[start]
        return self._by_slot.get(_slot(start), self.cap_gbp_per_kwh)

    def export_price(self, when: datetime) -> float:
        return min(self.export_gbp_per_kwh, self.import_price(when))


def _slot(when: datetime) -> tuple[int, int]:
    local = when.astimezone(LONDON)
    return local.hour, local.minute


def agile_like_prices(first_day: date, days: int, *, seed: int = 0) -> dict[datetime, float]:
    """Plausible Agile-style import prices for simulation: Octopus's published formula (about 2.2 x the
    day-ahead wholesale price, plus 12 p/kWh from 16:00 to 19:00, capped at £1) over a wholesale shape
    with a night trough, an evening peak and day-to-day noise. Not real prices: none install offline."""
    rng = random.Random(seed)
    prices: dict[datetime, float] = {}
    for d in range(days):
        day = first_day + timedelta(days=d)
        level = rng.uniform(0.06, 0.11)  # £/kWh wholesale day mean
        start = datetime(day.year, day.month, day.day, tzinfo=LONDON).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), LONDON).astimezone(UTC)
        while start < end:  # 46 or 50 half-hours on clock-change days
            local = start.astimezone(LONDON)
            hour = local.hour + local.minute / 60
            shape = 1.0 + 0.35 * math.cos(2 * math.pi * (hour - 18.0) / 24) + rng.gauss(0.0, 0.06)
            price = 2.2 * level * shape + (0.12 if 16 <= hour < 19 else 0.0)
            prices[start] = round(min(price, 1.0), 4)
            start += PERIOD
    return prices
