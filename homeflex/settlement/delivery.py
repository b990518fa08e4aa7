"""Delivered energy and utilisation payment for one household in one flex event (settlement.md §4-5).

Per UTC half-hour period overlapping the event window [start, end):

    instructed = reduction_kw x overlap hours
    uncapped   = max(0, baseline - actual)
    delivered  = min(instructed, uncapped)        never negative, never above the instruction
    payment    = delivered MWh x price             full precision; round only to present (round_money)

With `aggregation="net"` (DFS 23/24 opt-out) a period's delivered is min(instructed, baseline - actual),
which may be negative, and the household's total is floored at 0. With a `curve`, the payment is the
curve's share of the instruction (payments.utilisation_payment) instead of the delivered energy.

A period the window covers only partly has its baseline and actual scaled by the covered fraction, i.e.
consumption is assumed even within a half-hour: meters are settled per half-hour, so nothing finer is
known. If any period lacks a baseline or an actual (absent or NaN), the household is "insufficient_data"
and is paid nothing: we never pay on guesses.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from homeflex.core.timeutil import PERIOD, periods
from homeflex.settlement.payments import Aggregation, PaymentCurve, utilisation_payment

Status = Literal["settled", "insufficient_data"]

PENNY = Decimal("0.01")
HUNDREDTH_PENNY = Decimal("0.0001")  # presentation precision of payments


@dataclass(frozen=True, kw_only=True)
class PeriodDelivery:
    """One half-hour of one household's event; kWh already scaled to the covered part of the period."""

    period_start: datetime  # UTC
    baseline_kwh: float  # NaN if unknown
    actual_kwh: float  # NaN if unknown; + import
    instructed_kwh: float
    delivered_kwh: float  # 0 unless the whole settlement is "settled"; < 0 only under net aggregation
    uncapped_kwh: float  # max(0, baseline - actual); NaN if unknown


@dataclass(frozen=True, kw_only=True)
class HouseholdSettlement:
    household_id: str
    event_id: str
    periods: tuple[PeriodDelivery, ...]
    baseline_kw: float  # mean over the event window; NaN if any period is unknown
    actual_kw: float  # mean power over the event window; NaN if any period is unknown
    delivered_kwh: float
    instructed_kwh: float
    payment_gbp: float  # full precision
    status: Status


def settle_household(
    *,
    household_id: str,
    event_id: str,
    start: datetime,
    end: datetime,
    reduction_kw: float,
    price_gbp_per_mwh: float,
    baseline_kwh: Mapping[datetime, float],
    actual_kwh: Mapping[datetime, float],
    aggregation: Aggregation = "positive_only",
    curve: PaymentCurve | None = None,
) -> HouseholdSettlement:
    """Settle one household for one event; the mappings are keyed by UTC period start (kWh per period).

    `curve=None` pays the delivered energy, i.e. no sliding scale.
    """
    _check_inputs(start, end, reduction_kw, price_gbp_per_mwh)
    if aggregation not in ("net", "positive_only"):
        raise ValueError(f"aggregation must be net or positive_only, got {aggregation!r}")
    rows = [
        _period(
            p,
            start=start,
            end=end,
            reduction_kw=reduction_kw,
            baseline=baseline_kwh,
            actual=actual_kwh,
            aggregation=aggregation,
        )
        for p in periods(start, end)
    ]
    hours = (end - start).total_seconds() / 3600.0
    baseline_kw = math.fsum(r.baseline_kwh for r in rows) / hours
    actual_kw = math.fsum(r.actual_kwh for r in rows) / hours
    instructed = math.fsum(r.instructed_kwh for r in rows)
    if math.isnan(baseline_kw) or math.isnan(actual_kw):
        rows = [replace(r, delivered_kwh=0.0) for r in rows]
        status: Status = "insufficient_data"
    else:
        status = "settled"
    delivered = max(0.0, math.fsum(r.delivered_kwh for r in rows))
    if curve is None:
        payment = delivered / 1000.0 * price_gbp_per_mwh
    else:
        payment = utilisation_payment(
            delivered_kwh=delivered,
            instructed_kwh=instructed,
            rate_gbp_per_mwh=price_gbp_per_mwh,
            curve=curve,
        )
    return HouseholdSettlement(
        household_id=household_id,
        event_id=event_id,
        periods=tuple(rows),
        baseline_kw=baseline_kw,
        actual_kw=actual_kw,
        delivered_kwh=delivered,
        instructed_kwh=instructed,
        payment_gbp=payment,
        status=status,
    )


def delivery_ratio(
    settlements: Iterable[HouseholdSettlement],
    *,
    capped: bool = False,
    aggregation: Aggregation = "positive_only",
) -> float:
    """Sum of reductions / sum of instructed over the "settled" settlements; NaN if nothing was instructed.

    Per period the reduction is baseline - actual, floored at 0 under "positive_only" and, if `capped`,
    limited to the instruction (§4). Insufficient-data settlements are left out: their delivery is
    unknown, not zero. Aggregate one event, one household or a portfolio by choosing the settlements.
    """
    settled = [s for s in settlements if s.status == "settled"]
    instructed = math.fsum(s.instructed_kwh for s in settled)
    if instructed <= 0:
        return math.nan
    reduction = _capped if capped else _uncapped
    return math.fsum(reduction(p, aggregation) for s in settled for p in s.periods) / instructed


def delivery_ratios(
    settlements: Iterable[HouseholdSettlement],
    *,
    by: Literal["event", "household"],
    capped: bool = False,
    aggregation: Aggregation = "positive_only",
) -> dict[str, float]:
    """delivery_ratio per event id (over its households) or per household id (over its events)."""
    if by not in ("event", "household"):
        raise ValueError(f"by must be event or household, got {by!r}")
    groups: defaultdict[str, list[HouseholdSettlement]] = defaultdict(list)
    for s in settlements:
        groups[s.event_id if by == "event" else s.household_id].append(s)
    return {k: delivery_ratio(v, capped=capped, aggregation=aggregation) for k, v in sorted(groups.items())}


def portfolio_delivery_ratio(
    settlements: Iterable[HouseholdSettlement],
    households: Collection[str],
    *,
    capped: bool = False,
    aggregation: Aggregation = "positive_only",
) -> float:
    """delivery_ratio over the settlements of a portfolio, i.e. a set of household ids."""
    mine = (s for s in settlements if s.household_id in households)
    return delivery_ratio(mine, capped=capped, aggregation=aggregation)


def round_money(gbp: float, *, quantum: Decimal = PENNY) -> Decimal:
    """Round £ for presentation: half away from zero (ROUND_HALF_UP) to `quantum` (pence by default).

    Goes through the float's shortest repr, so 1.005 rounds to 1.01 as a reader expects.
    """
    if not math.isfinite(gbp):
        raise ValueError(f"cannot round non-finite money {gbp}")
    return Decimal(repr(gbp)).quantize(quantum, rounding=ROUND_HALF_UP)


def _check_inputs(start: datetime, end: datetime, reduction_kw: float, price_gbp_per_mwh: float) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("event start and end must be timezone-aware")
    if end <= start:
        raise ValueError("event end must be after its start")
    if not (math.isfinite(reduction_kw) and reduction_kw >= 0):
        raise ValueError(f"reduction_kw must be finite and >= 0, got {reduction_kw}")
    if not (math.isfinite(price_gbp_per_mwh) and price_gbp_per_mwh >= 0):
        raise ValueError(f"price must be finite and >= 0, got {price_gbp_per_mwh}")


def _period(
    p: datetime,
    *,
    start: datetime,
    end: datetime,
    reduction_kw: float,
    baseline: Mapping[datetime, float],
    actual: Mapping[datetime, float],
    aggregation: Aggregation,
) -> PeriodDelivery:
    overlap_h = (min(end, p + PERIOD) - max(start, p)).total_seconds() / 3600.0
    fraction = overlap_h / (PERIOD.total_seconds() / 3600.0)
    baseline_kwh = _known(baseline, p) * fraction
    actual_kwh = _known(actual, p) * fraction
    instructed = reduction_kw * overlap_h
    shortfall = baseline_kwh - actual_kwh
    uncapped = max(0.0, shortfall) if not math.isnan(shortfall) else math.nan
    counted = shortfall if aggregation == "net" else uncapped
    return PeriodDelivery(
        period_start=p,
        baseline_kwh=baseline_kwh,
        actual_kwh=actual_kwh,
        instructed_kwh=instructed,
        delivered_kwh=min(instructed, counted) if not math.isnan(counted) else 0.0,
        uncapped_kwh=uncapped,
    )


def _uncapped(p: PeriodDelivery, aggregation: Aggregation) -> float:
    reduction = p.baseline_kwh - p.actual_kwh
    return max(0.0, reduction) if aggregation == "positive_only" else reduction


def _capped(p: PeriodDelivery, aggregation: Aggregation) -> float:
    return min(p.instructed_kwh, _uncapped(p, aggregation))


def _known(kwh: Mapping[datetime, float], p: datetime) -> float:
    value = kwh.get(p, math.nan)
    return value if math.isfinite(value) else math.nan  # inf is no more a measurement than NaN
