"""One injectable clock: wall time live, scaled or manual time in demos and tests.

This is the only module that reads the system time. Everything else takes a `Clock`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Time as the platform sees it. `now()` is always timezone-aware UTC."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for `seconds` of this clock's time."""
        ...

    def wall_seconds(self, seconds: float) -> float:
        """How many real seconds `seconds` of this clock's time take."""
        ...


async def sleep_until(clock: Clock, when: datetime) -> None:
    """Sleep until `when` on `clock`; returns at once if it has passed."""
    while (remaining := (when - clock.now()).total_seconds()) > 0:
        await clock.sleep(remaining)


class WallClock:
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def wall_seconds(self, seconds: float) -> float:
        return seconds


class ScaledClock:
    """Simulated time that starts at `start` and runs `speed` times faster than wall time."""

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs an aware start time")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def wall_seconds(self, seconds: float) -> float:
        return seconds / self.speed


class ManualClock:
    """Time that moves only when `advance` is called; sleepers wake when their time comes."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware start time")
        self._now = start.astimezone(UTC)
        self._changed = asyncio.Condition()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        wake = self._now + timedelta(seconds=max(0.0, seconds))
        async with self._changed:
            await self._changed.wait_for(lambda: self._now >= wake)

    def wall_seconds(self, seconds: float) -> float:
        return 0.0

    async def advance(self, seconds: float) -> None:
        """Move time forward and let every task that was due run."""
        async with self._changed:
            self._now += timedelta(seconds=seconds)
            self._changed.notify_all()
        for _ in range(5):  # let woken tasks run to their next await
            await asyncio.sleep(0)


def perf_seconds() -> float:
    """A high-resolution wall-time counter, for measuring latency (not for telling time)."""
    return time.perf_counter()
