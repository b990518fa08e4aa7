"""Outdoor air temperature for London: seasonal and diurnal sinusoids plus a seeded anomaly per day.

A stand-in for real weather: households take any `TemperatureSource`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from homeflex.sim.physics.calendar import DailyDraw, local_hours

TemperatureSource = Callable[[datetime], float]  # °C at a time


@dataclass(frozen=True, kw_only=True)
class WeatherParams:
    annual_mean_c: float = 11.5
    seasonal_amplitude_c: float = 7.0  # Jan about 4.5 °C, Jul about 18.5 °C on average
    coldest_day_of_year: int = 15
    diurnal_amplitude_c: float = 2.5  # half the day-night swing
    warmest_hour: float = 15.0  # local time
    daily_anomaly_sd_c: float = 2.0  # day-to-day weather


class LondonWeather:
    """Deterministic per seed: the same seed gives every household the same sky."""

    def __init__(self, params: WeatherParams | None = None, *, seed: int = 0) -> None:
        self.params = params or WeatherParams()
        self.seed = seed
        self._anomaly: DailyDraw[float] = DailyDraw(
            seed, "weather", lambda rng, _: rng.gauss(0.0, self.params.daily_anomaly_sd_c)
        )

    def anomaly_c(self, now: datetime) -> float:
        """Daily anomalies anchored at 12:00 UTC, linearly interpolated so there is no jump at midnight."""
        noon = now.astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
        before = noon if now >= noon else noon - timedelta(days=1)
        w = (now - before).total_seconds() / 86400
        a, b = (self._anomaly(d.date()) for d in (before, before + timedelta(days=1)))
        return a + (b - a) * w

    def __call__(self, now: datetime) -> float:
        p = self.params
        day = now.astimezone(UTC).timetuple().tm_yday
        seasonal = -p.seasonal_amplitude_c * math.cos(2 * math.pi * (day - p.coldest_day_of_year) / 365.25)
        diurnal = p.diurnal_amplitude_c * math.cos(2 * math.pi * (local_hours(now) - p.warmest_hour) / 24)
        return p.annual_mean_c + seasonal + diurnal + self.anomaly_c(now)
