"""Delivery and payment per household (settlement.md §4, §5, §7)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from homeflex.settlement.delivery import (
    HUNDREDTH_PENNY,
    HouseholdSettlement,
    delivery_ratio,
    round_money,
    settle_household,
)

T0 = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
HH = timedelta(minutes=30)
PRICE = 1812.0  # £/MWh, NGED SU_SEP utilisation


def settle(**overrides: Any) -> HouseholdSettlement:
    args: dict[str, Any] = {
        "household_id": "hh1",
        "event_id": "ev1",
        "start": T0,
        "end": T0 + HH,
        "reduction_kw": 1.6,  # 0.8 kWh in one half-hour
        "price_gbp_per_mwh": PRICE,
        "baseline_kwh": {T0: 1.344},
        "actual_kwh": {T0: 0.35},
    }
    return settle_household(**{**args, **overrides})


def test_settlement_md_vector() -> None:
    s = settle()
    (p,) = s.periods
    assert p.period_start == T0
    assert p.instructed_kwh == pytest.approx(0.8)
    assert p.uncapped_kwh == pytest.approx(0.994)
    assert p.delivered_kwh == pytest.approx(0.8)
    assert delivery_ratio([s]) == pytest.approx(1.2425)
    assert s.status == "settled"
    assert s.delivered_kwh == pytest.approx(0.8)
    assert s.instructed_kwh == pytest.approx(0.8)
    assert s.payment_gbp == pytest.approx(1.4496, abs=1e-12)
    assert round_money(s.payment_gbp, quantum=HUNDREDTH_PENNY) == Decimal("1.4496")
    assert round_money(s.payment_gbp) == Decimal("1.45")
    assert s.baseline_kw == pytest.approx(2.688)
    assert s.actual_kw == pytest.approx(0.7)


def test_resettlement_vector() -> None:
    v1, v2 = settle(), settle(actual_kwh={T0: 0.70})
    assert v2.delivered_kwh == pytest.approx(0.644)
    assert v2.payment_gbp == pytest.approx(1.166928, abs=1e-12)
    assert v2.payment_gbp - v1.payment_gbp == pytest.approx(-0.282672, abs=1e-12)


def test_under_delivery_pays_delivered_energy() -> None:
    # settlement.md §5 vector "delivered 0.60 -> £1.0872" (the 50 % sliding-scale floor is not applied here)
    s = settle(baseline_kwh={T0: 1.0}, actual_kwh={T0: 0.4})
    assert s.delivered_kwh == pytest.approx(0.6)
    assert s.payment_gbp == pytest.approx(1.0872, abs=1e-12)


@pytest.mark.parametrize(
    ("baseline", "actual", "delivered", "uncapped"),
    [
        (1.0, 1.5, 0.0, 0.0),  # used more than the baseline: nothing delivered, never negative
        (1.0, 1.0, 0.0, 0.0),
        (1.0, -2.0, 0.8, 3.0),  # exporting counts as reduction, capped at the instruction
        (-0.5, -0.9, 0.4, 0.4),  # a net-exporting household's baseline
    ],
)
def test_delivered_is_clamped(baseline: float, actual: float, delivered: float, uncapped: float) -> None:
    s = settle(baseline_kwh={T0: baseline}, actual_kwh={T0: actual})
    assert s.periods[0].delivered_kwh == pytest.approx(delivered)
    assert s.periods[0].uncapped_kwh == pytest.approx(uncapped)
    assert s.payment_gbp >= 0


def test_multi_period_event_and_mean_power() -> None:
    p1 = T0 + HH
    s = settle(
        end=T0 + 2 * HH,
        reduction_kw=1.0,
        baseline_kwh={T0: 1.0, p1: 1.2},
        actual_kwh={T0: 0.5, p1: 0.3},
    )
    assert [p.period_start for p in s.periods] == [T0, p1]
    assert [p.delivered_kwh for p in s.periods] == pytest.approx([0.5, 0.5])
    assert [p.uncapped_kwh for p in s.periods] == pytest.approx([0.5, 0.9])
    assert s.instructed_kwh == pytest.approx(1.0)
    assert s.baseline_kw == pytest.approx(2.2)
    assert s.actual_kw == pytest.approx(0.8)
    assert s.payment_gbp == pytest.approx(1.0 / 1000 * PRICE)


def test_partial_periods_are_scaled_by_overlap() -> None:
    # 17:40-18:10: 20 min of the 17:30 period (2/3), 10 min of the 18:00 period (1/3)
    p1 = T0 + HH
    s = settle(
        start=T0 + timedelta(minutes=10),
        end=T0 + timedelta(minutes=40),
        reduction_kw=1.0,
        baseline_kwh={T0: 1.2, p1: 1.2},
        actual_kwh={T0: 0.6, p1: 0.6},
    )
    first, second = s.periods
    assert (first.baseline_kwh, first.actual_kwh) == pytest.approx((0.8, 0.4))
    assert (second.baseline_kwh, second.actual_kwh) == pytest.approx((0.4, 0.2))
    assert (first.instructed_kwh, second.instructed_kwh) == pytest.approx((1 / 3, 1 / 6))
    assert (first.uncapped_kwh, second.uncapped_kwh) == pytest.approx((0.4, 0.2))
    assert (first.delivered_kwh, second.delivered_kwh) == pytest.approx((1 / 3, 1 / 6))  # both capped
    assert s.instructed_kwh == pytest.approx(0.5)
    assert s.actual_kw == pytest.approx(1.2)  # 0.6 kWh over half an hour


def test_keys_in_other_time_zones_still_match() -> None:
    from homeflex.core.timeutil import LONDON

    local = T0.astimezone(LONDON)
    assert settle(baseline_kwh={local: 1.344}).status == "settled"


@pytest.mark.parametrize(
    ("baseline", "actual"),
    [
        ({T0: math.nan}, {T0: 0.35}),
        ({T0: 1.344}, {T0: math.nan}),
        ({}, {T0: 0.35}),
        ({T0: 1.344}, {}),
        ({T0: math.inf}, {T0: 0.35}),
        ({T0: 1.344}, {T0: -math.inf}),
        ({T0: 1.344, T0 + HH: math.nan}, {T0: 0.35, T0 + HH: 0.1}),  # one bad period spoils the event
    ],
)
def test_missing_data_is_never_paid(baseline: dict[datetime, float], actual: dict[datetime, float]) -> None:
    s = settle(end=T0 + 2 * HH, baseline_kwh=baseline, actual_kwh=actual)
    assert s.status == "insufficient_data"
    assert s.delivered_kwh == 0.0
    assert s.payment_gbp == 0.0
    assert all(p.delivered_kwh == 0.0 for p in s.periods)
    assert s.instructed_kwh == pytest.approx(1.6)
    assert math.isnan(s.baseline_kw) or math.isnan(s.actual_kw)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"start": datetime(2026, 11, 24, 17, 30)}, "timezone-aware"),
        ({"end": T0}, "after its start"),
        ({"end": T0 - HH}, "after its start"),
        ({"reduction_kw": -1.0}, "reduction_kw"),
        ({"reduction_kw": math.nan}, "reduction_kw"),
        ({"price_gbp_per_mwh": math.inf}, "price"),
        ({"price_gbp_per_mwh": -1.0}, "price"),
    ],
)
def test_bad_event_inputs(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        settle(**overrides)


def test_delivery_ratio_over_households() -> None:
    a = settle()  # uncapped 0.994 of 0.8
    b = settle(household_id="hh2", baseline_kwh={T0: 1.0}, actual_kwh={T0: 0.8})  # 0.2 of 0.8
    missing = settle(household_id="hh3", actual_kwh={})
    assert delivery_ratio([a, b]) == pytest.approx((0.994 + 0.2) / 1.6)
    assert delivery_ratio([a, b, missing]) == pytest.approx((0.994 + 0.2) / 1.6)  # unknown is not zero
    assert math.isnan(delivery_ratio([]))
    assert math.isnan(delivery_ratio([missing]))
    assert math.isnan(delivery_ratio([settle(reduction_kw=0.0)]))


@pytest.mark.parametrize(
    ("gbp", "quantum", "expected"),
    [
        (1.005, None, "1.01"),  # half up on the decimal value a reader sees, not the binary one
        (2.675, None, "2.68"),
        (0.125, None, "0.13"),
        (-0.125, None, "-0.13"),  # ledger adjustments round away from zero
        (1.4496000000000002, None, "1.45"),
        (1.166928, HUNDREDTH_PENNY, "1.1669"),
        (-0.282672, HUNDREDTH_PENNY, "-0.2827"),
        (0.00005, HUNDREDTH_PENNY, "0.0001"),
        (0.0, None, "0.00"),
    ],
)
def test_round_money(gbp: float, quantum: Decimal | None, expected: str) -> None:
    got = round_money(gbp) if quantum is None else round_money(gbp, quantum=quantum)
    assert got == Decimal(expected)
    assert str(got) == expected


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_round_money_rejects_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        round_money(bad)


def test_delivered_always_within_zero_and_instructed_property() -> None:
    rng = random.Random(20261124)
    for _ in range(3000):
        start = T0 + timedelta(minutes=rng.randrange(0, 60))
        end = start + timedelta(minutes=rng.randrange(1, 180))
        keys = [T0 + k * HH for k in range(-1, 10)]

        def draw() -> float:
            roll = rng.random()
            if roll < 0.02:
                return math.nan
            return rng.uniform(-3.0, 6.0) if roll < 0.9 else rng.choice([0.0, 1e-12, 50.0])

        reduction_kw = rng.choice([0.0, rng.uniform(0, 10)])
        s = settle(
            start=start,
            end=end,
            reduction_kw=reduction_kw,
            price_gbp_per_mwh=rng.uniform(0, 5000),
            baseline_kwh={k: draw() for k in keys},
            actual_kwh={k: draw() for k in keys},
        )
        for p in s.periods:
            assert 0.0 <= p.delivered_kwh <= p.instructed_kwh
            assert math.isnan(p.uncapped_kwh) or p.delivered_kwh <= p.uncapped_kwh
        assert 0.0 <= s.delivered_kwh <= s.instructed_kwh + 1e-12
        assert s.payment_gbp >= 0.0
        hours = (end - start).total_seconds() / 3600
        assert s.instructed_kwh == pytest.approx(reduction_kw * hours)
        if s.status == "insufficient_data":
            assert s.payment_gbp == 0.0
            assert any(math.isnan(p.baseline_kwh) or math.isnan(p.actual_kwh) for p in s.periods)
