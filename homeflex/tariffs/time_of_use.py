"""Fixed rates by local time of day: two-rate (Economy 7, EV tariffs such as Octopus Go) and three-rate
(a cheap night, a day rate and a 16:00-19:00 peak, as Octopus Cosy or Flux)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from homeflex.core.timeutil import LONDON
from homeflex.tariffs import DEFAULT_EXPORT_GBP_PER_KWH, check_price, register


def _local_hour(when: datetime) -> float:
    t = when.astimezone(LONDON)
    return t.hour + t.minute / 60


def _within(hour: float, window: tuple[float, float]) -> bool:
    start, end = window
    return start <= hour < end if start <= end else hour >= start or hour < end  # may wrap midnight


def _check_window(name: str, window: tuple[float, float]) -> None:
    if len(window) != 2 or not all(0 <= h <= 24 for h in window) or window[0] == window[1]:
        raise ValueError(f"{name} must be two different local hours in [0, 24], got {window!r}")


@register("two_rate")
@dataclass(frozen=True, kw_only=True)
class TwoRate:
    day_gbp_per_kwh: float = 0.27
    night_gbp_per_kwh: float = 0.085
    night_hours: tuple[float, float] = (0.5, 5.5)  # local; Octopus Go's 00:30-05:30
    export_gbp_per_kwh: float = DEFAULT_EXPORT_GBP_PER_KWH
    name: str = "two_rate"

    def __post_init__(self) -> None:
        object.__setattr__(self, "night_hours", tuple(self.night_hours))
        _check_window("night_hours", self.night_hours)
        for key in ("day_gbp_per_kwh", "night_gbp_per_kwh", "export_gbp_per_kwh"):
            check_price(key, getattr(self, key))

    def import_price(self, when: datetime) -> float:
        night = _within(_local_hour(when), self.night_hours)
        return self.night_gbp_per_kwh if night else self.day_gbp_per_kwh

    def export_price(self, when: datetime) -> float:
        return self.export_gbp_per_kwh


@register("three_rate")
@dataclass(frozen=True, kw_only=True)
class ThreeRate(TwoRate):
    peak_gbp_per_kwh: float = 0.38
    peak_hours: tuple[float, float] = (16.0, 19.0)
    name: str = "three_rate"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "peak_hours", tuple(self.peak_hours))
        _check_window("peak_hours", self.peak_hours)
        check_price("peak_gbp_per_kwh", self.peak_gbp_per_kwh)

    def import_price(self, when: datetime) -> float:
        if _within(_local_hour(when), self.peak_hours):
            return self.peak_gbp_per_kwh
        return super().import_price(when)
