"""settlement.md §7 end to end: dated readings -> baseline -> day-of adjustment -> delivery -> payment ->
re-settlement -> ledger delta and community split. (Each step's own vectors are in its module's tests.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from homeflex.settlement.baselines import EventWindow, compute_baseline, eligible_days
from homeflex.settlement.baselines.adjustment import AdjustmentParams, adjust, adjustment_window, window_means
from homeflex.settlement.delivery import (
    HUNDREDTH_PENNY,
    HouseholdSettlement,
    delivery_ratio,
    round_money,
    settle_household,
)
from homeflex.settlement.payments import SLIDING_SCALE, Product, split, split_change

HH = timedelta(minutes=30)
EVENT = EventWindow(
    start=datetime(2026, 11, 25, 17, 30, tzinfo=UTC), end=datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
)
VECTOR = [1.20, 0.90, 1.50, 1.10, 0.80, 1.30, 1.00, 1.40, 0.95, 1.05]
PRODUCT = Product(
    name="SU_SEP", utilisation_gbp_per_mwh=1812.0, curve=SLIDING_SCALE, community_share=Decimal("0.2")
)
ADJUST = AdjustmentParams(kind="additive", cap=0.2, window_offset=-3 * HH * 2, window_length=3 * HH * 2)


def readings(actual_in_event: float) -> dict[datetime, float]:
    """The §7 vector on the 10 weekdays before the event at 17:30; 1.05 kWh per HH in the 3 h before the
    event on those days (the window baseline) and 1.30 on the event day (the window actual)."""
    out: dict[datetime, float] = {}
    days = eligible_days(EVENT.start, lookback_days=14)
    assert len(days) == 10
    for day, value in zip(days, VECTOR, strict=True):
        at = datetime(day.year, day.month, day.day, 17, 30, tzinfo=UTC)
        out[at] = value
        out.update({at - k * HH: 1.05 for k in range(1, 7)})
    out.update({EVENT.start - k * HH: 1.30 for k in range(1, 7)})
    out[EVENT.start] = actual_in_event
    return out


def settle(actual_in_event: float, *, adjusted: bool = True) -> tuple[float, HouseholdSettlement]:
    """B' and the settlement of one version of the data."""
    history = readings(actual_in_event)
    b = compute_baseline("x_of_y", EVENT.start, history, event=EVENT, x=10, y=10, kind="high")
    window = adjustment_window(EVENT.start, ADJUST)
    window_baseline = {p: compute_baseline("x_of_y", p, history) for p in window}
    bw, aw = window_means(window, window_baseline, history)
    b_adj = adjust(b, bw, aw, ADJUST) if adjusted else b
    result = settle_household(
        household_id="hh1",
        event_id="ev1",
        start=EVENT.start,
        end=EVENT.end,
        reduction_kw=1.6,  # 0.8 kWh in the half-hour
        price_gbp_per_mwh=PRODUCT.utilisation_gbp_per_mwh,
        baseline_kwh={EVENT.start: b_adj},
        actual_kwh=history,
        curve=PRODUCT.curve,
    )
    return b_adj, result


def test_section_7_end_to_end() -> None:
    b_adj, first = settle(0.35)
    assert b_adj == pytest.approx(1.344)
    assert settle(0.35, adjusted=False)[0] == pytest.approx(1.12)
    assert first.periods[0].uncapped_kwh == pytest.approx(0.994)
    assert delivery_ratio([first]) == pytest.approx(1.2425)
    assert first.delivered_kwh == pytest.approx(0.8)
    v1 = first.payment_gbp
    assert round_money(v1, quantum=HUNDREDTH_PENNY) == Decimal("1.4496")

    _, second = settle(0.70)  # late meter data corrects the event HH
    assert second.delivered_kwh == pytest.approx(0.644)
    v2 = second.payment_gbp
    assert v2 == pytest.approx(1.166928, abs=1e-12)
    assert v2 - v1 == pytest.approx(-0.282672, abs=1e-12)

    paid1, paid2 = round_money(v1), round_money(v2)
    assert (paid1, paid2, paid2 - paid1) == (Decimal("1.45"), Decimal("1.17"), Decimal("-0.28"))
    assert split(paid1, PRODUCT.community_share) == (Decimal("0.29"), Decimal("1.16"))
    assert split_change(paid1, paid2, PRODUCT.community_share) == (Decimal("-0.06"), Decimal("-0.22"))
