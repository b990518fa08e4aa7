"""The fleet's clock: whole-minute steps, times carried as integer microseconds since the epoch.

Integer microseconds compare exactly with what the scalar models compare as datetimes (datetime arithmetic
is exact to the microsecond), so a comparison made in arrays gives the same answer as the scalar one.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, date, datetime, timedelta

from homeflex.core.timeutil import local_date

STEP_S = 60.0  # the physics step, as closedloop.PHYSICS_S
STEP_US = 60_000_000
PERIOD_US = 1_800_000_000  # a UTC settlement half-hour
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(t: datetime) -> int:
    """Microseconds since the epoch of an aware time."""
    if t.tzinfo is None:
        raise ValueError(f"the fleet needs aware times, got naive {t}")
    return (t - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    """The aware UTC time `us` microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=us)


def on_minute(t: datetime) -> bool:
    return to_us(t) % STEP_US == 0


class Minutes:
    """The step-end times of a span of steps and their local (Europe/London) dates.

    `covered` answers, for a seeded draw of local day D (a plug run, an EV session), which steps see it:
    the scalar models look at yesterday's and today's draws only, so D counts on local days D and D+1.
    """

    def __init__(self, first: datetime, steps: int, dt_s: float) -> None:
        if steps < 1 or dt_s not in (0.0, STEP_S) or (dt_s == 0.0 and steps != 1):
            raise ValueError(f"a span is whole {STEP_S:g} s steps or one 0 s step, got {steps} x {dt_s}")
        first_us = to_us(first)
        self.dt_s = dt_s
        self.times_us = [first_us + k * STEP_US for k in range(steps)]
        self.times = [from_us(us) for us in self.times_us]
        self.local_days = [local_date(t).toordinal() for t in self.times]

    def __len__(self) -> int:
        return len(self.times_us)

    @property
    def draw_days(self) -> list[date]:
        """Local days whose draws some step of the span can see."""
        first, last = self.local_days[0] - 1, self.local_days[-1]
        return [date.fromordinal(d) for d in range(first, last + 1)]

    def covered(self, start: datetime, end: datetime, day: date) -> range:
        """Indices of the steps t with start <= t < end that see local `day`'s draws."""
        a = bisect_left(self.times_us, to_us(start))
        b = bisect_left(self.times_us, to_us(end))
        lo = bisect_left(self.local_days, day.toordinal())
        hi = bisect_left(self.local_days, day.toordinal() + 2)
        return range(max(a, lo), min(b, hi))
