"""Forecasts the planner needs per step: base load (from the learned profile), PV and outdoor temperature
(from whatever weather service is wired in: a callable of time)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from homeflex.control.planner.problem import FloatArray, as_series
from homeflex.core.calendar_uk import is_non_working
from homeflex.core.timeutil import LONDON, local_date
from homeflex.profiles import HouseholdProfile

AtTime = Callable[[datetime], float]
DEFAULT_BASE_LOAD_KW = 0.35  # about 3,100 kWh a year, when there is no profile to go on


@dataclass(frozen=True, kw_only=True)
class Forecast:
    base_load_kw: FloatArray
    pv_kw: FloatArray  # generation magnitude, >= 0
    outdoor_c: FloatArray

    def __post_init__(self) -> None:
        n = np.asarray(self.base_load_kw).size
        for name in ("base_load_kw", "pv_kw", "outdoor_c"):
            object.__setattr__(self, name, as_series(getattr(self, name), n, name))


class ForecastSource(Protocol):
    def forecast(self, start: datetime, n_steps: int, step_h: float) -> Forecast: ...


def step_mids(start: datetime, n_steps: int, step_h: float) -> list[datetime]:
    return [start + timedelta(hours=step_h * (i + 0.5)) for i in range(n_steps)]


@dataclass(frozen=True, kw_only=True)
class ProfileForecast:
    """Base load: the profile's mean for the local half-hour slot and day type. Weather callables give
    the outdoor temperature (°C) and PV output (kW) at a time."""

    profile: HouseholdProfile | None
    outdoor_c: AtTime
    pv_kw: AtTime = lambda _: 0.0
    default_base_kw: float = DEFAULT_BASE_LOAD_KW

    def forecast(self, start: datetime, n_steps: int, step_h: float) -> Forecast:
        mids = step_mids(start, n_steps, step_h)
        return Forecast(
            base_load_kw=self._base_kw(start, n_steps, step_h),
            pv_kw=np.array([max(0.0, self.pv_kw(t)) for t in mids]),
            outdoor_c=np.array([self.outdoor_c(t) for t in mids]),
        )

    def _base_kw(self, start: datetime, n_steps: int, step_h: float) -> FloatArray:
        if self.profile is None:
            return np.full(n_steps, self.default_base_kw)
        slots, weekend = local_slots(start, n_steps, step_h)
        weekday, weekend_kwh = (np.asarray(d.mean_kwh) for d in (self.profile.weekday, self.profile.weekend))
        kwh = np.where(weekend, weekend_kwh[slots], weekday[slots])
        base: FloatArray = np.where(np.isnan(kwh), self.default_base_kw, np.maximum(0.0, 2.0 * kwh))
        return base  # kWh per half-hour -> kW


@functools.lru_cache(maxsize=512)
def local_slots(start: datetime, n_steps: int, step_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Each step's local half-hour of the day (0-47, at its midpoint) and whether that is a weekend day
    or bank holiday (calendar_uk.day_type, as the profile learnt it): the same for every household
    planning from ``start``, so worked out once."""
    mids = step_mids(start, n_steps, step_h)
    local = [t.astimezone(LONDON) for t in mids]
    slots = np.array([t.hour * 2 + t.minute // 30 for t in local], dtype=np.intp)
    weekend = np.array([is_non_working(local_date(t)) for t in mids], dtype=bool)
    slots.flags.writeable = weekend.flags.writeable = False
    return slots, weekend
