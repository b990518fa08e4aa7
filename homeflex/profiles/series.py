"""Half-hourly series helpers: local slots and local dates (Europe/London)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt

from homeflex.core.timeutil import LONDON, local_date

FloatArray = npt.NDArray[np.float64]
Series = Mapping[datetime, float]
HOURS_PER_PERIOD = 0.5


def utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"time {value!r} must be timezone-aware")
    return value.astimezone(UTC)


def local_slot(value: datetime) -> int:
    """Local wall-clock half-hour of the day, 0..47 (17:30-18:00 local is 35 in any season)."""
    t = value.astimezone(LONDON)
    return t.hour * 2 + t.minute // 30


def before(series: Series | None, as_of: datetime) -> dict[datetime, float]:
    """The series keyed by UTC time, limited to periods that start before `as_of`."""
    if series is None:
        return {}
    cut = utc(as_of)
    out: dict[datetime, float] = {}
    for key, value in series.items():
        t = key if key.tzinfo is UTC else utc(key)
        if t.minute % 30 or t.second or t.microsecond:  # as period_start(t) != t, without building it
            raise ValueError(f"{t.isoformat()} is not the start of a UTC half-hour")
        if t < cut:
            out[t] = float(value)
    return out


def daily_sums(series: Mapping[datetime, float]) -> dict[date, float]:
    """Sum of finite values per local date."""
    out: dict[date, float] = {}
    for t, v in series.items():
        if np.isfinite(v):
            day = local_date(t)
            out[day] = out.get(day, 0.0) + v
    return out
