"""Payments (settlement.md §5): availability, utilisation on a sliding scale, and the community split.

Amounts are computed in float £ at full precision and rounded only to present (delivery.round_money).
The community/household split is in Decimal pence, so the two parts always sum exactly to the amount.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Literal

PENNY = Decimal("0.01")

# How reductions add up across half-hours and households (§4): "net" lets an increase in one HH offset
# a reduction in another (DFS 23/24 opt-out); "positive_only" counts reductions only (opt-in).
Aggregation = Literal["net", "positive_only"]


@dataclass(frozen=True, kw_only=True)
class PaymentCurve:
    """Piecewise-linear payment factor of the delivery ratio: the share of the instruction paid for.

    `points` are (ratio, factor) with ratios non-decreasing. Two points at one ratio make a jump, and the
    second one holds at that ratio. Outside the points the nearest end factor holds.
    """

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a payment curve needs at least one point")
        ratios = [r for r, _ in self.points]
        if not all(math.isfinite(r) and math.isfinite(f) and f >= 0 for r, f in self.points):
            raise ValueError("curve points must be finite, with factors >= 0")
        if any(b < a for a, b in pairwise(ratios)):
            raise ValueError("curve ratios must be non-decreasing")
        if any(ratios.count(r) > 2 for r in ratios):
            raise ValueError("at most two curve points may share a ratio (one jump)")

    def factor(self, ratio: float) -> float:
        if math.isnan(ratio):
            raise ValueError("delivery ratio is NaN")
        ratios = [r for r, _ in self.points]
        i = bisect_right(ratios, ratio) - 1  # last point at or left of `ratio`
        if i < 0:
            return self.points[0][1]
        if i == len(self.points) - 1:
            return self.points[-1][1]
        (r0, f0), (r1, f1) = self.points[i], self.points[i + 1]
        return f0 + (f1 - f0) * (ratio - r0) / (r1 - r0)


# Default reading of SSEN's sliding scale [U]: nothing below 50 %, the delivered energy from 50 % to 100 %,
# the instruction above.
SLIDING_SCALE = PaymentCurve(points=((0.5, 0.0), (0.5, 0.5), (1.0, 1.0)))
LINEAR = PaymentCurve(points=((0.0, 0.0), (1.0, 1.0)))  # pay the delivered (capped) energy


@dataclass(frozen=True, kw_only=True)
class Product:
    """A flexibility product as a DSO buys it, and the community's cut of what it pays."""

    name: str
    availability_gbp_per_mw_h: float = 0.0
    utilisation_gbp_per_mwh: float = 0.0
    curve: PaymentCurve = SLIDING_SCALE
    community_share: Decimal = Decimal(0)  # fraction of each payment kept by the community
    aggregation: Aggregation = "positive_only"

    def __post_init__(self) -> None:
        _check_rate("availability rate", self.availability_gbp_per_mw_h)
        _check_rate("utilisation rate", self.utilisation_gbp_per_mwh)
        _check_share(self.community_share)
        if self.aggregation not in ("net", "positive_only"):
            raise ValueError(f"aggregation must be net or positive_only, got {self.aggregation!r}")


def paid_energy_kwh(
    *, delivered_kwh: float, instructed_kwh: float, curve: PaymentCurve = SLIDING_SCALE
) -> float:
    """factor(delivered / instructed) x instructed; 0 when nothing was instructed.

    `delivered_kwh` is the capped delivery (§4); an uncapped figure pays the same as the default curve is
    flat above a ratio of 1.
    """
    if not (math.isfinite(delivered_kwh) and math.isfinite(instructed_kwh) and instructed_kwh >= 0):
        raise ValueError(f"need finite delivered and instructed >= 0, got {delivered_kwh}, {instructed_kwh}")
    if instructed_kwh == 0:
        return 0.0
    return curve.factor(delivered_kwh / instructed_kwh) * instructed_kwh


def utilisation_payment(
    *,
    delivered_kwh: float,
    instructed_kwh: float,
    rate_gbp_per_mwh: float,
    curve: PaymentCurve = SLIDING_SCALE,
) -> float:
    """£ for one household's event (or any aggregate of them): paid MWh x rate."""
    _check_rate("utilisation rate", rate_gbp_per_mwh)
    paid = paid_energy_kwh(delivered_kwh=delivered_kwh, instructed_kwh=instructed_kwh, curve=curve)
    return paid / 1000.0 * rate_gbp_per_mwh


def availability_payment(
    rate_gbp_per_mw_h: float, contracted_mw: float, window_hours: float, availability_factor: float = 1.0
) -> float:
    """rate x MW x service-window hours x factor; the factor's formula is the programme's [U]."""
    _check_rate("availability rate", rate_gbp_per_mw_h)
    if not (math.isfinite(contracted_mw) and contracted_mw >= 0):
        raise ValueError(f"contracted_mw must be finite and >= 0, got {contracted_mw}")
    if not (math.isfinite(window_hours) and window_hours >= 0):
        raise ValueError(f"window_hours must be finite and >= 0, got {window_hours}")
    if not 0.0 <= availability_factor <= 1.0:
        raise ValueError(f"availability_factor must be within [0, 1], got {availability_factor}")
    return rate_gbp_per_mw_h * contracted_mw * window_hours * availability_factor


def split(
    amount: Decimal, community_share: Decimal, *, rounding: str = ROUND_HALF_UP
) -> tuple[Decimal, Decimal]:
    """(community, household) pence of a whole-pence `amount`; the household gets the rounding remainder.

    Symmetric in sign, so a negative ledger adjustment splits as the mirror of a payment.
    """
    _check_share(community_share)
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount != amount.quantize(PENNY):
        raise ValueError(
            f"amount must be a finite Decimal in whole pence (round_money first), got {amount!r}"
        )
    community = (amount * community_share).quantize(PENNY, rounding=rounding)
    return community, (amount - community).quantize(PENNY)


def split_change(
    previous: Decimal, current: Decimal, community_share: Decimal, *, rounding: str = ROUND_HALF_UP
) -> tuple[Decimal, Decimal]:
    """Ledger deltas for a re-settlement from `previous` to `current`.

    Splits the totals and takes the difference, rather than splitting the difference: rounding each
    version's delta would let the parties' running totals drift a penny from the split of the total.
    """
    c0, h0 = split(previous, community_share, rounding=rounding)
    c1, h1 = split(current, community_share, rounding=rounding)
    return c1 - c0, h1 - h0


def _check_rate(name: str, rate: float) -> None:
    if not (math.isfinite(rate) and rate >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {rate}")


def _check_share(share: Decimal) -> None:
    if not isinstance(share, Decimal):  # a float such as 0.1 is not the fraction it looks like
        raise TypeError(f"community share must be a Decimal, got {type(share).__name__}")
    if not (share.is_finite() and Decimal(0) <= share <= Decimal(1)):
        raise ValueError(f"community share must be within [0, 1], got {share}")
