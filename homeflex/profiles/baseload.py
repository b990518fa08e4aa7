"""Base load by local half-hour slot and day type, and data coverage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from homeflex.core.calendar_uk import is_non_working
from homeflex.core.timeutil import LONDON, PERIOD, local_date
from homeflex.profiles.model import SLOTS_PER_DAY, Coverage, DayTypeLoad
from homeflex.profiles.series import HOURS_PER_PERIOD, local_slot


def base_energy(
    energy: Mapping[datetime, float], devices_kw: Iterable[Mapping[datetime, float]]
) -> dict[datetime, float]:
    """Net kWh less each known device's kWh; a device absent from a period counts as 0 kW."""
    out = dict(energy)
    for series in devices_kw:
        for t, kw in series.items():
            if t in out:
                out[t] -= kw * HOURS_PER_PERIOD  # NaN device power makes the base NaN
    return out


def day_type_loads(base: Mapping[datetime, float]) -> tuple[DayTypeLoad, DayTypeLoad]:
    """(weekday, weekend) loads from base kWh per UTC half-hour; NaN values are skipped."""
    samples: dict[bool, list[list[float]]] = {w: [[] for _ in range(SLOTS_PER_DAY)] for w in (False, True)}
    days: dict[bool, set[date]] = {False: set(), True: set()}
    for t, kwh in base.items():
        if not np.isfinite(kwh):
            continue
        day = local_date(t)
        kind = is_non_working(day)  # a bank holiday has the weekend's shape, as the forecast takes it
        samples[kind][local_slot(t)].append(kwh)
        days[kind].add(day)
    return _load(samples[False], len(days[False])), _load(samples[True], len(days[True]))


def _load(slots: list[list[float]], days: int) -> DayTypeLoad:
    nan = float("nan")
    sizes = {len(s) for s in slots}
    if len(sizes) == 1 and 0 not in sizes:  # the usual case, no gaps: every slot at once
        grid = np.array(slots)
        p10, p90 = np.percentile(grid, (10, 90), axis=1)
        stats = list(zip(np.mean(grid, axis=1).tolist(), p10.tolist(), p90.tolist(), strict=True))
    else:
        stats = [
            (float(np.mean(s)), float(np.percentile(s, 10)), float(np.percentile(s, 90))) if s else (nan,) * 3
            for s in slots
        ]
    return DayTypeLoad(
        days=days,
        mean_kwh=tuple(m for m, _, _ in stats),
        p10_kwh=tuple(p for _, p, _ in stats),
        p90_kwh=tuple(p for _, _, p in stats),
        samples=tuple(len(s) for s in slots),
    )


def coverage(energy: Mapping[datetime, float], as_of: datetime) -> Coverage:
    """Coverage over whole local days from the first to the last reading, cut at `as_of`.

    Missing keys and NaN values both count as unmeasured half-hours.
    """
    measured = [t for t, v in energy.items() if np.isfinite(v)]
    if not measured:
        return Coverage(days_observed=0, expected_periods=0, measured_periods=0)
    first, last = local_date(min(energy)), local_date(max(energy))
    start = _local_midnight(first)
    end = min(_local_midnight(last + timedelta(days=1)), as_of)
    expected = max(0, int((end - start) / PERIOD))
    return Coverage(
        days_observed=len({local_date(t) for t in measured}),
        expected_periods=expected,
        measured_periods=len(measured),
    )


def _local_midnight(day: date) -> datetime:
    # In UTC: subtracting two times that share a tzinfo would ignore a DST change between them.
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)
