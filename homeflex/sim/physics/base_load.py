"""A household's uncontrollable load: a typical UK daily shape scaled to its annual consumption."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from homeflex.core.calendar_uk import DayType, day_type
from homeflex.core.timeutil import local_date
from homeflex.sim.physics.calendar import DailyDraw, local_hours

# Relative demand by local hour (value at hh:30), shaped like the Elexon domestic profile class 1:
# a low night, a morning peak, and the evening peak at 17:00-20:00; weekends rise later and run higher
# through the day.
WEEKDAY = (
    0.30, 0.25, 0.22, 0.21, 0.21, 0.22, 0.30, 0.45, 0.46, 0.38, 0.34, 0.33,
    0.34, 0.33, 0.32, 0.35, 0.46, 0.64, 0.72, 0.67, 0.58, 0.50, 0.42, 0.35,
)  # fmt: skip
WEEKEND = (
    0.32, 0.27, 0.23, 0.21, 0.21, 0.21, 0.23, 0.28, 0.38, 0.47, 0.49, 0.48,
    0.49, 0.46, 0.43, 0.43, 0.51, 0.64, 0.69, 0.64, 0.57, 0.50, 0.43, 0.36,
)  # fmt: skip
_WEEK_MEAN = (5 * sum(WEEKDAY) + 2 * sum(WEEKEND)) / (7 * 24)


@dataclass(frozen=True, kw_only=True)
class BaseLoadParams:
    annual_kwh: float = 3100.0  # UK typical domestic consumption (TDCV medium is 2,700)
    winter_extra: float = 0.15  # +15 % in mid-January, -15 % in mid-July
    noise_sd: float = 0.2  # relative, one draw per half-hour

    def __post_init__(self) -> None:
        if self.annual_kwh <= 0 or self.noise_sd < 0:
            raise ValueError("base load: annual_kwh must be positive and noise_sd non-negative")


class BaseLoad:
    """Power in W at a time; the annual energy stays close to `annual_kwh` (noise and seasons average out)."""

    def __init__(self, params: BaseLoadParams | None = None, *, seed: int = 0) -> None:
        self.params = params or BaseLoadParams()
        # one factor per half-hour of the local day (a DST day has up to 50)
        self._noise: DailyDraw[list[float]] = DailyDraw(
            seed,
            "base-load",
            lambda rng, _: [max(0.3, rng.gauss(1.0, self.params.noise_sd)) for _ in range(50)],
        )

    def shape(self, now: datetime) -> float:
        """Relative demand (weekly mean 1), linearly interpolated between hourly points."""
        # Saturday and Sunday only: the simulated household's shape does not follow bank holidays.
        table = WEEKEND if day_type(local_date(now)) is DayType.WEEKEND else WEEKDAY
        x = local_hours(now) - 0.5
        i = math.floor(x)
        w = x - i
        return (table[i % 24] * (1 - w) + table[(i + 1) % 24] * w) / _WEEK_MEAN

    def noise(self, now: datetime) -> float:
        return self._noise(local_date(now))[int(local_hours(now) * 2)]

    def power_w(self, now: datetime) -> float:
        p = self.params
        day = now.timetuple().tm_yday
        season = 1 + p.winter_extra * math.cos(2 * math.pi * (day - 15) / 365.25)
        return p.annual_kwh * 1000 / 8766 * season * self.shape(now) * self.noise(now)

    def step(self, now: datetime, dt_s: float) -> float:
        return self.power_w(now)
