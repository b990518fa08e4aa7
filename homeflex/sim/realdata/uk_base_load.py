"""UK household base load from the eemeter 4.1.1 UK smart-meter samples 1 and 2 (data.md §1): native
half-hourly kWh with naive stamps, read as UTC (as the metering importer does).

Sample 1 (≈4,200 kWh in its typical year) looks like an ordinary home. Sample 2 is an Economy 7 home:
over half its energy falls 00:00-07:00 all year and about three quarters in winter (storage heating and
an immersion heater), so it is drawn only for a share of homes and never for a heat-pump home.

Cleaning: a repeated stamp keeps its first row; a missing half-hour takes the same slot on the nearest day
of the same type (weekday or weekend) that has it. A typical year is then 52 whole weeks from a Monday,
the window with the fewest filled slots, and a household plays it back scaled to its annual energy,
shifted by a whole number of days, on the same weekday as the simulated date.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from homeflex.sim.physics.base_load import BaseLoad, BaseLoadParams
from homeflex.sim.realdata.wheels import EEMETER, cache_directory, read_member

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SLOTS = 48  # half-hours in a UTC day
YEAR_DAYS = 364  # 52 whole weeks, so a weekday stays a weekday when the year wraps
SAMPLES = (1, 2)  # the half-hourly UK electricity samples
ORDINARY, ECONOMY_7 = SAMPLES
ECONOMY_7_SHARE = 0.2  # [M] homes drawing the night-heavy sample: UK Economy 7 meters are roughly this share
MAX_OFFSET_DAYS = 21  # per-household shift: far enough to differ, near enough to keep the season


def sample_member(n: int) -> str:
    if n not in SAMPLES:
        raise ValueError(f"UK half-hourly sample must be one of {SAMPLES}, got {n}")
    return f"eemeter/eemeter/samples/uk-electricity-hdd-only-hourly-sample-{n}.csv.gz"


@dataclass(frozen=True, kw_only=True, eq=False)
class HalfHourlySeries:
    """kWh per UTC half-hour, one row per day from `start`; `filled` marks slots taken from another day."""

    start: date
    kwh: FloatArray  # shape (days, 48)
    filled: BoolArray  # same shape
    duplicates: int = 0  # repeated stamps dropped while cleaning

    def __post_init__(self) -> None:
        if self.kwh.ndim != 2 or self.kwh.shape[1] != SLOTS or self.kwh.shape != self.filled.shape:
            raise ValueError(f"half-hourly series: expected (days, {SLOTS}) arrays, got {self.kwh.shape}")
        if not np.isfinite(self.kwh).all():
            raise ValueError("half-hourly series: values must be finite")
        self.kwh.flags.writeable = False
        self.filled.flags.writeable = False

    @property
    def days(self) -> int:
        return len(self.kwh)

    def window(self, first: int, days: int) -> HalfHourlySeries:
        return HalfHourlySeries(
            start=self.start + timedelta(days=first),
            kwh=self.kwh[first : first + days].copy(),
            filled=self.filled[first : first + days].copy(),
            duplicates=self.duplicates,
        )


def _weekend(start: date, days: int) -> BoolArray:
    return np.array([(start + timedelta(days=d)).weekday() >= 5 for d in range(days)])


def _fill_gaps(kwh: FloatArray, missing: BoolArray, weekend: BoolArray) -> None:
    """In place: each missing slot from the nearest day of the same type with that slot (earlier on a tie)."""
    for day_type in (False, True):
        days = np.flatnonzero(weekend == day_type)
        for slot in range(SLOTS):
            gone = missing[days, slot]
            have, need = days[~gone], days[gone]
            if not len(need):
                continue
            if not len(have):
                raise ValueError(
                    f"cannot fill slot {slot}: no {'weekend' if day_type else 'week'} day has it"
                )
            right = np.clip(np.searchsorted(have, need), 0, len(have) - 1)
            left = np.clip(right - 1, 0, len(have) - 1)
            nearest = np.where(
                np.abs(need - have[left]) <= np.abs(have[right] - need), have[left], have[right]
            )
            kwh[need, slot] = kwh[nearest, slot]


def parse_half_hourly(text: str) -> HalfHourlySeries:
    """A `start,value` CSV of kWh per half-hour (naive stamps read as UTC), cleaned (module docstring).

    ValueError for a stamp off the half-hour grid or a value that is not a finite number.
    """
    values: dict[datetime, float] = {}
    duplicates = 0
    for row in csv.DictReader(io.StringIO(text)):
        stamp = datetime.fromisoformat(row["start"])
        if stamp.minute % 30 or stamp.second or stamp.microsecond:
            raise ValueError(f"{row['start']}: not on the half-hour grid")
        value = float(row["value"])
        if not np.isfinite(value):
            raise ValueError(f"{row['start']}: value {row['value']!r} is not a number")
        if stamp in values:
            duplicates += 1
            continue
        values[stamp] = value
    if not values:
        raise ValueError("half-hourly CSV has no rows")
    start = min(values).date()
    days = (max(values).date() - start).days + 1
    kwh = np.zeros((days, SLOTS))
    missing = np.ones((days, SLOTS), dtype=bool)
    for stamp, value in values.items():
        d, s = (stamp.date() - start).days, stamp.hour * 2 + stamp.minute // 30
        kwh[d, s] = value
        missing[d, s] = False
    _fill_gaps(kwh, missing, _weekend(start, days))
    return HalfHourlySeries(start=start, kwh=kwh, filled=missing, duplicates=duplicates)


def typical_year(series: HalfHourlySeries) -> HalfHourlySeries:
    """52 weeks from a Monday: the window with the fewest filled slots (the earliest among equals)."""
    filled_per_day = series.filled.sum(axis=1)
    first_monday = (7 - series.start.weekday()) % 7
    starts = range(first_monday, series.days - YEAR_DAYS + 1, 7)
    if not starts:
        raise ValueError(f"a typical year needs {YEAR_DAYS} days from a Monday; the series has {series.days}")
    cumulative = np.concatenate(([0], np.cumsum(filled_per_day)))
    best = min(starts, key=lambda s: cumulative[s + YEAR_DAYS] - cumulative[s])
    return series.window(best, YEAR_DAYS)


def uk_sample(n: int, cache_dir: Path | None = None) -> HalfHourlySeries:
    """Sample 1 or 2, cleaned, from the eemeter wheel in `cache_dir` (default the project's .cache/).

    Parsed once per process. MissingWheelError (a FileNotFoundError) names the `pip download`.
    """
    return _uk_sample(n, cache_directory(cache_dir))


def uk_typical_year(n: int, cache_dir: Path | None = None) -> HalfHourlySeries:
    """typical_year of uk_sample(n)."""
    return _uk_typical_year(n, cache_directory(cache_dir))


@functools.cache
def _uk_sample(n: int, cache_dir: Path) -> HalfHourlySeries:
    return parse_half_hourly(gzip.decompress(read_member(EEMETER, sample_member(n), cache_dir)).decode())


@functools.cache
def _uk_typical_year(n: int, cache_dir: Path) -> HalfHourlySeries:
    return typical_year(_uk_sample(n, cache_dir))


class RealBaseLoad(BaseLoad):
    """A typical year (52 weeks from a Monday) played back in W, scaled so 365 days use `annual_kwh`.

    A simulated UTC date, moved by `offset_days`, takes the year's day nearest its day of the year with the
    same weekday; the power is the half-hour's mean (steps on half-hour boundaries meter it exactly).
    """

    def __init__(self, year: HalfHourlySeries, *, annual_kwh: float, offset_days: int = 0) -> None:
        super().__init__(BaseLoadParams(annual_kwh=annual_kwh, noise_sd=0.0))
        if year.days != YEAR_DAYS or year.start.weekday() != 0:
            raise ValueError(
                f"real base load needs {YEAR_DAYS} days from a Monday, got {year.days} from {year.start:%A}"
            )
        self.year = year
        self.offset_days = offset_days
        self.scale = annual_kwh / (float(year.kwh.sum()) * 365 / YEAR_DAYS)

    def day_index(self, day: date) -> int:
        """Row of the typical year played on `day` (a UTC date)."""
        target = day + timedelta(days=self.offset_days)
        start = self.year.start
        anniversary = date(target.year, start.month, min(start.day, 28) if start.month == 2 else start.day)
        i = (target - anniversary).days % 365  # calendar days since the year's first date
        shift = (target.weekday() - i) % 7  # row i falls on weekday i % 7
        return (i + (shift - 7 if shift > 3 else shift)) % YEAR_DAYS

    def power_w(self, now: datetime) -> float:
        """Mean power in W over the UTC half-hour containing `now`."""
        t = now.astimezone(UTC)
        kwh = self.year.kwh[self.day_index(t.date()), t.hour * 2 + t.minute // 30]
        return float(kwh) * 2000 * self.scale

    def step(self, now: datetime, dt_s: float) -> float:
        """Power over the step ending at `now`, read at its midpoint: a step never reads the next slot."""
        return self.power_w(now - timedelta(seconds=dt_s / 2))


def household_base_load(
    seed: int, annual_kwh: float, *, economy_7_share: float = ECONOMY_7_SHARE, cache_dir: Path | None = None
) -> RealBaseLoad:
    """A household's real base load, scaled to `annual_kwh`: from `seed`, the sample (Economy 7 with
    probability `economy_7_share`) and a whole-day offset of up to MAX_OFFSET_DAYS either way."""
    if not 0 <= economy_7_share <= 1:
        raise ValueError(f"economy_7_share must be in [0, 1], got {economy_7_share}")
    rng = random.Random(f"{seed}:real-base-load")
    sample = ECONOMY_7 if rng.random() < economy_7_share else ORDINARY
    offset = rng.randint(-MAX_OFFSET_DAYS, MAX_OFFSET_DAYS)
    return RealBaseLoad(uk_typical_year(sample, cache_dir), annual_kwh=annual_kwh, offset_days=offset)
