"""Local time and per-day seeded randomness shared by the models."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Generic, TypeVar

from homeflex.core.timeutil import LONDON

T = TypeVar("T")


def day_rng(seed: int, stream: str, day: date) -> random.Random:
    """A generator for one (seed, stream, day): a day's draws do not depend on step size or order."""
    return random.Random(f"{seed}:{stream}:{day.isoformat()}")


def local_at(day: date, hours: float) -> datetime:
    """UTC time of `hours` after midnight on local (Europe/London) `day`, on the wall clock."""
    minutes = round(hours * 60)
    extra_days, minutes = divmod(minutes, 24 * 60)
    wall = datetime.combine(day + timedelta(days=extra_days), time(minutes // 60, minutes % 60), LONDON)
    return wall.astimezone(UTC)


def local_hours(now: datetime) -> float:
    """Hours since local midnight (wall clock), e.g. 17.5 at 17:30 London time."""
    local = now.astimezone(LONDON)
    return local.hour + local.minute / 60 + local.second / 3600


class DailyDraw(Generic[T]):
    """Seeded draws made once per local day and remembered for a few days: steps ask many times a day."""

    def __init__(self, seed: int, stream: str, draw: Callable[[random.Random, date], T]) -> None:
        self.seed = seed
        self.stream = stream
        self.draw = draw
        self._memo: dict[date, T] = {}

    def __call__(self, day: date) -> T:
        if day not in self._memo:
            if len(self._memo) >= 8:
                del self._memo[next(iter(self._memo))]
            self._memo[day] = self.draw(day_rng(self.seed, self.stream, day), day)
        return self._memo[day]
