"""Energy per interval from cumulative meter registers.

Registers are cumulative, so the energy between two readings is exact; only the split of one reading
interval across a boundary is estimated (linear interpolation). Where that estimate is not trustworthy the
result is NaN, never a guess: outside the span of the readings, across a gap longer than `max_gap_s`, or
across a register that goes down (meter reset or replacement would otherwise read as a huge export).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt

from homeflex.core.domain import READING_SOURCES, MeterReading
from homeflex.core.timeutil import PERIOD, period_start

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_MAX_GAP_S = 1800.0  # one settlement period; configurable per call


def interval_energy_kwh(
    ts_s: npt.ArrayLike,
    import_wh: npt.ArrayLike,
    export_wh: npt.ArrayLike,
    boundaries_s: npt.ArrayLike,
    *,
    max_gap_s: float | None = DEFAULT_MAX_GAP_S,
) -> FloatArray:
    """Net energy (import - export, kWh) in each interval between consecutive boundaries.

    `ts_s` (epoch seconds) must be strictly increasing: sorting and removing duplicate readings is the
    caller's job (period_energy_kwh does it). `boundaries_s` must be strictly increasing. Returns
    len(boundaries_s) - 1 values. An interval is NaN when a boundary lies outside [ts[0], ts[-1]], when a
    boundary falls strictly inside a reading gap longer than `max_gap_s` (None: no limit), or when either
    register decreases anywhere the interval touches.
    """
    t, imp, exp = (np.asarray(a, dtype=np.float64) for a in (ts_s, import_wh, export_wh))
    b = np.asarray(boundaries_s, dtype=np.float64)
    _check(t, imp, exp, b)
    if b.size < 2:
        return np.empty(0, dtype=np.float64)
    if t.size == 0:
        return np.full(b.size - 1, np.nan)

    net_wh = np.interp(b, t, imp) - np.interp(b, t, exp)
    net_wh[_untrusted_boundaries(t, b, max_gap_s)] = np.nan
    energy = np.diff(net_wh) / 1000.0
    energy[_touches_decrease(t, imp, exp, b)] = np.nan
    return energy


def period_energy_kwh(
    readings: Sequence[MeterReading],
    period_starts: Sequence[datetime],
    *,
    max_gap_s: float | None = DEFAULT_MAX_GAP_S,
) -> dict[datetime, float]:
    """Net kWh per 30-minute UTC period, keyed by the (UTC) period start; NaN where not measurable.

    Readings may come in any order and for one household only. Where several readings share a ts, the
    one received last wins (a correction supersedes the original); without received_at, the later one
    in `readings`. Each source (meter, upload) is its own register series, never differenced against
    another's; a period the meter measured takes the meter's energy, else an upload's.
    """
    if len({r.household_id for r in readings}) > 1:
        raise ValueError("readings from more than one household")
    starts = [_aligned(p) for p in period_starts]
    merged = dict.fromkeys(starts, np.nan)
    for source in reversed(READING_SOURCES):  # the most trusted last, so it overwrites
        own = [r for r in readings if r.source == source]
        if own:
            energy = _series_energy(own, starts, max_gap_s)
            merged.update({p: v for p, v in energy.items() if not np.isnan(v)})
    return {p: float(v) for p, v in merged.items()}


def _series_energy(
    readings: Sequence[MeterReading], starts: list[datetime], max_gap_s: float | None
) -> dict[datetime, float]:
    latest: dict[datetime, MeterReading] = {}
    for r in sorted(readings, key=_received_order):
        if r.ts.tzinfo is None:
            raise ValueError("reading ts must be timezone-aware")
        latest[r.ts] = r
    ordered = [latest[ts] for ts in sorted(latest)]
    # Every boundary is a half-hour, so each period's end is the next boundary after its start.
    bounds = sorted({*starts, *(p + PERIOD for p in starts)})
    energy = interval_energy_kwh(
        [r.ts.timestamp() for r in ordered],
        [r.import_wh for r in ordered],
        [r.export_wh for r in ordered],
        [x.timestamp() for x in bounds],
        max_gap_s=max_gap_s,
    )
    index = {x: i for i, x in enumerate(bounds)}
    return {p: float(energy[index[p]]) for p in starts}


def _check(t: FloatArray, imp: FloatArray, exp: FloatArray, b: FloatArray) -> None:
    if t.ndim != 1 or b.ndim != 1 or imp.shape != t.shape or exp.shape != t.shape:
        raise ValueError("ts, import and export must be 1-D arrays of one length; boundaries 1-D")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(b))):
        raise ValueError("times must be finite")
    if np.any(np.diff(t) <= 0) or np.any(np.diff(b) <= 0):
        raise ValueError("ts and boundaries must be strictly increasing (sort and de-duplicate first)")


def _untrusted_boundaries(t: FloatArray, b: FloatArray, max_gap_s: float | None) -> BoolArray:
    outside: BoolArray = (b < t[0]) | (b > t[-1])
    if max_gap_s is None:
        return outside
    right = np.clip(np.searchsorted(t, b, side="right"), 1, t.size - 1)
    on_reading = np.isin(b, t)
    too_long: BoolArray = (t[right] - t[right - 1]) > max_gap_s
    return outside | (~on_reading & too_long)


def _touches_decrease(t: FloatArray, imp: FloatArray, exp: FloatArray, b: FloatArray) -> BoolArray:
    # A segment j = [t[j], t[j+1]] is bad if either register does not grow (NaN counts as bad).
    bad = ~((np.diff(imp) >= 0) & (np.diff(exp) >= 0))
    bad_before = np.concatenate(([0], np.cumsum(bad)))  # bad_before[k]: bad segments with index < k
    last_seg = t.size - 2
    first = np.clip(np.searchsorted(t, b[:-1], side="right") - 1, 0, max(last_seg, 0))
    last = np.clip(np.searchsorted(t, b[1:], side="left") - 1, -1, last_seg)
    count = np.where(last >= first, bad_before[last + 1] - bad_before[first], 0)
    return np.asarray(count > 0)


def _aligned(p: datetime) -> datetime:
    if p.tzinfo is None or period_start(p) != p:
        raise ValueError(f"period start {p!r} is not an aware half-hour boundary")
    return period_start(p)


def _received_order(r: MeterReading) -> tuple[float, float]:
    received = r.received_at.timestamp() if r.received_at is not None else float("-inf")
    return (r.ts.timestamp(), received)
