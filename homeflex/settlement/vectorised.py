"""Settle one event for many households at once with numpy (settlement.md §4-5).

Input is a households x periods array of net kWh (NaN = missing) on a grid of consecutive UTC half-hours
from `first_period`, and the event as a contiguous run of column indices. The calendar work (which
columns are "the same local time on an eligible day") is done once per event period in Python with
the same helpers as the per-household methods; only the arithmetic over households is in numpy. So the
figures equal settle_many_reference's, which loops over households through the registry and
delivery.settle_household, to rounding error (sums in a different order).

Event days to exclude are one set for the whole portfolio here, unlike per household in the settler.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt

from homeflex.core.timeutil import PERIOD, period_start
from homeflex.settlement.baselines import (
    EventWindow,
    HolidayRule,
    XofYKind,
    calendar_days,
    compute_baseline,
    same_local_period,
    x_of_y_slice,
)
from homeflex.settlement.delivery import settle_household
from homeflex.settlement.payments import Aggregation, PaymentCurve, utilisation_payment

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
VectorMethod = Callable[..., FloatArray]


@dataclass(frozen=True, kw_only=True)
class VectorSettlement:
    """Per household (rows) and event half-hour (columns); totals and payment per household."""

    baseline_kwh: FloatArray  # (H, E), NaN if unknown
    actual_kwh: FloatArray  # (H, E), NaN if unknown
    instructed_kwh: FloatArray  # (H, E)
    uncapped_kwh: FloatArray  # (H, E), max(0, baseline - actual)
    delivered_kwh: FloatArray  # (H, E), 0 unless settled; < 0 only under net aggregation
    settled: BoolArray  # (H,): every event period has a baseline and an actual
    delivered_total_kwh: FloatArray  # (H,), floored at 0
    payment_gbp: FloatArray  # (H,), full precision


@dataclass(frozen=True)
class _Grid:
    first: datetime
    n_periods: int

    def columns(self, period: datetime, days: Sequence[date]) -> npt.NDArray[np.intp]:
        """Column of `period`'s local time on each day; -1 where it does not exist or is off the grid."""
        out = np.full(len(days), -1, dtype=np.intp)
        for k, day in enumerate(days):
            key = same_local_period(period, day)
            if key is not None:
                i = round((key - self.first) / PERIOD)
                out[k] = i if 0 <= i < self.n_periods else -1
        return out


def _gather(kwh: FloatArray, cols: npt.NDArray[np.intp]) -> FloatArray:
    values = kwh[:, np.maximum(cols, 0)]
    values[:, cols < 0] = np.nan
    values[~np.isfinite(values)] = np.nan  # inf is no more a measurement than NaN
    return values


def same_day_type_v(
    period: datetime,
    kwh: FloatArray,
    grid: _Grid,
    *,
    excluded_days: frozenset[date] = frozenset(),
    holidays: frozenset[date] | None = None,
    bank_holidays: HolidayRule = "exclude",
    weeks: int = 3,
    min_days: int | None = None,
) -> FloatArray:
    """baselines.same_day_type for every row at once."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    days = calendar_days(period, 7 * weeks, excluded_days, holidays, bank_holidays)
    values = _gather(kwh, grid.columns(period, days))
    count = np.sum(~np.isnan(values), axis=1)
    needed = max(1, math.ceil(len(days) / 2)) if min_days is None else min_days
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(values, axis=1) / count
    return np.where((count > 0) & (count >= needed), mean, np.nan)


def x_of_y_v(
    period: datetime,
    kwh: FloatArray,
    grid: _Grid,
    *,
    excluded_days: frozenset[date] = frozenset(),
    holidays: frozenset[date] | None = None,
    bank_holidays: HolidayRule = "exclude",
    x: int = 10,
    y: int = 10,
    kind: XofYKind = "high",
    lookback_days: int = 45,
) -> FloatArray:
    """baselines.x_of_y for every row at once: the first Y days with data, newest first, then X of them."""
    lo, hi = x_of_y_slice(x=x, y=y, kind=kind)
    days = calendar_days(period, lookback_days, excluded_days, holidays, bank_holidays)
    values = _gather(kwh, grid.columns(period, days))
    known = ~np.isnan(values)
    keep = known & (np.cumsum(known, axis=1) <= y)
    ranked = np.sort(np.where(keep, values, np.nan), axis=1)  # NaN sorts last
    if ranked.shape[1] < y:
        return np.full(kwh.shape[0], np.nan)
    mean = ranked[:, lo:hi].sum(axis=1) / x
    return np.where(keep.sum(axis=1) >= y, mean, np.nan)


VECTOR_METHODS: dict[str, VectorMethod] = {"same_day_type": same_day_type_v, "x_of_y": x_of_y_v}


def settle_many(
    kwh: npt.ArrayLike,
    *,
    first_period: datetime,
    event_idx: Sequence[int],
    reduction_kw: npt.ArrayLike,
    price_gbp_per_mwh: float,
    method: str = "same_day_type",
    excluded_days: frozenset[date] = frozenset(),
    aggregation: Aggregation = "positive_only",
    curve: PaymentCurve | None = None,
    **params: object,
) -> VectorSettlement:
    """Settle the event in columns `event_idx` for every row of `kwh`; `reduction_kw` is one per row."""
    data, grid, event, red = _check(kwh, first_period, event_idx, reduction_kw, price_gbp_per_mwh)
    fn = _vector_method(method, params)
    idx = np.asarray(event_idx, dtype=np.intp)
    baseline = np.stack(
        [fn(p, data, grid, excluded_days=excluded_days, **params) for p in event.periods()], axis=1
    )
    actual = np.where(np.isfinite(data[:, idx]), data[:, idx], np.nan)
    instructed = np.broadcast_to(red[:, None] * 0.5, baseline.shape).copy()
    shortfall = baseline - actual
    uncapped = np.maximum(0.0, shortfall)  # NaN stays NaN
    counted = shortfall if aggregation == "net" else uncapped
    settled: BoolArray = np.asarray(~np.isnan(shortfall).any(axis=1))
    delivered = np.where(settled[:, None], np.minimum(instructed, counted), 0.0)
    total = np.maximum(0.0, delivered.sum(axis=1))
    if curve is None:
        payment = total / 1000.0 * price_gbp_per_mwh
    else:
        instructed_total = instructed.sum(axis=1)
        payment = np.array(
            [
                utilisation_payment(
                    delivered_kwh=d, instructed_kwh=i, rate_gbp_per_mwh=price_gbp_per_mwh, curve=curve
                )
                for d, i in zip(total.tolist(), instructed_total.tolist(), strict=True)
            ]
        )
    return VectorSettlement(
        baseline_kwh=baseline,
        actual_kwh=actual,
        instructed_kwh=instructed,
        uncapped_kwh=uncapped,
        delivered_kwh=delivered,
        settled=settled,
        delivered_total_kwh=total,
        payment_gbp=payment,
    )


def settle_many_reference(
    kwh: npt.ArrayLike,
    *,
    first_period: datetime,
    event_idx: Sequence[int],
    reduction_kw: npt.ArrayLike,
    price_gbp_per_mwh: float,
    method: str = "same_day_type",
    excluded_days: frozenset[date] = frozenset(),
    aggregation: Aggregation = "positive_only",
    curve: PaymentCurve | None = None,
    **params: object,
) -> VectorSettlement:
    """The same as settle_many, one household at a time through the registry and settle_household."""
    data, grid, event, red = _check(kwh, first_period, event_idx, reduction_kw, price_gbp_per_mwh)
    keys = [grid.first + i * PERIOD for i in range(grid.n_periods)]
    rows = []
    for h in range(data.shape[0]):
        history = dict(zip(keys, data[h].tolist(), strict=True))
        baseline = {
            p: compute_baseline(method, p, history, excluded_days=excluded_days, event=event, **params)
            for p in event.periods()
        }
        rows.append(
            settle_household(
                household_id=str(h),
                event_id="event",
                start=event.start,
                end=event.end,
                reduction_kw=float(red[h]),
                price_gbp_per_mwh=price_gbp_per_mwh,
                baseline_kwh=baseline,
                actual_kwh=history,
                aggregation=aggregation,
                curve=curve,
            )
        )

    def table(field: str) -> FloatArray:
        return np.array([[getattr(p, field) for p in s.periods] for s in rows], dtype=np.float64)

    return VectorSettlement(
        baseline_kwh=table("baseline_kwh"),
        actual_kwh=table("actual_kwh"),
        instructed_kwh=table("instructed_kwh"),
        uncapped_kwh=table("uncapped_kwh"),
        delivered_kwh=table("delivered_kwh"),
        settled=np.array([s.status == "settled" for s in rows], dtype=np.bool_),
        delivered_total_kwh=np.array([s.delivered_kwh for s in rows], dtype=np.float64),
        payment_gbp=np.array([s.payment_gbp for s in rows], dtype=np.float64),
    )


def _vector_method(method: str, params: dict[str, object]) -> VectorMethod:
    if method not in VECTOR_METHODS:
        raise ValueError(
            f"no vectorised baseline method {method!r}; valid: {', '.join(sorted(VECTOR_METHODS))}"
        )
    fn = VECTOR_METHODS[method]
    own = inspect.signature(fn).parameters.values()
    accepted = [p.name for p in own if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "excluded_days"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"{method}: unknown parameters {unknown}; accepted: {accepted}")
    return fn


def _check(
    kwh: npt.ArrayLike,
    first_period: datetime,
    event_idx: Sequence[int],
    reduction_kw: npt.ArrayLike,
    price_gbp_per_mwh: float,
) -> tuple[FloatArray, _Grid, EventWindow, FloatArray]:
    data = np.asarray(kwh, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"kwh must be 2-D (households x periods), got shape {data.shape}")
    if first_period.tzinfo is None or period_start(first_period) != first_period:
        raise ValueError(f"first_period {first_period!r} is not an aware half-hour period start")
    idx = list(event_idx)
    if not idx or idx != list(range(idx[0], idx[0] + len(idx))) or idx[0] < 0 or idx[-1] >= data.shape[1]:
        raise ValueError("event_idx must be a non-empty run of consecutive column indices within kwh")
    red = np.asarray(reduction_kw, dtype=np.float64)
    if red.shape != (data.shape[0],) or not np.all(np.isfinite(red) & (red >= 0)):
        raise ValueError(f"reduction_kw must be one finite value >= 0 per household ({data.shape[0]})")
    if not (math.isfinite(price_gbp_per_mwh) and price_gbp_per_mwh >= 0):
        raise ValueError(f"price must be finite and >= 0, got {price_gbp_per_mwh}")
    grid = _Grid(first_period.astimezone(UTC), data.shape[1])
    start = grid.first + idx[0] * PERIOD
    return data, grid, EventWindow(start=start, end=start + len(idx) * PERIOD), red
