"""Delivery ratios per event, household and portfolio; net vs positive-only; the sliding scale (§4, §5)."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homeflex.settlement.delivery import (
    HouseholdSettlement,
    delivery_ratio,
    delivery_ratios,
    portfolio_delivery_ratio,
    settle_household,
)
from homeflex.settlement.payments import SLIDING_SCALE

T0 = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
HH = timedelta(minutes=30)
FEE = 1812.0


def settle(baseline: list[float], actual: list[float], **overrides: Any) -> HouseholdSettlement:
    keys = [T0 + k * HH for k in range(len(baseline))]
    args: dict[str, Any] = {
        "household_id": "hh1",
        "event_id": "ev1",
        "start": T0,
        "end": T0 + len(baseline) * HH,
        "reduction_kw": 1.6,  # 0.8 kWh per HH
        "price_gbp_per_mwh": FEE,
        "baseline_kwh": dict(zip(keys, baseline, strict=True)),
        "actual_kwh": dict(zip(keys, actual, strict=True)),
    }
    return settle_household(**{**args, **overrides})


def test_settlement_md_ratio_capped_and_uncapped() -> None:
    s = settle([1.344], [0.35])
    assert delivery_ratio([s]) == pytest.approx(1.2425)
    assert delivery_ratio([s], capped=True) == pytest.approx(1.0)


# Two HH: over-delivers by 0.4 kWh, then uses 0.3 kWh more than the baseline.
MIXED = ([1.5, 1.0], [0.3, 1.3])


@pytest.mark.parametrize(
    ("capped", "aggregation", "ratio"),
    [
        (False, "positive_only", 1.2 / 1.6),
        (True, "positive_only", 0.8 / 1.6),
        (False, "net", (1.2 - 0.3) / 1.6),
        (True, "net", (0.8 - 0.3) / 1.6),
    ],
)
def test_net_and_positive_only_ratios(capped: bool, aggregation: str, ratio: float) -> None:
    s = settle(*MIXED)
    assert delivery_ratio([s], capped=capped, aggregation=aggregation) == pytest.approx(ratio)  # type: ignore[arg-type]


def test_net_settlement_offsets_increases_and_is_floored_at_zero() -> None:
    positive = settle(*MIXED)
    net = settle(*MIXED, aggregation="net")
    assert [p.delivered_kwh for p in positive.periods] == pytest.approx([0.8, 0.0])
    assert [p.delivered_kwh for p in net.periods] == pytest.approx([0.8, -0.3])
    assert (positive.delivered_kwh, net.delivered_kwh) == pytest.approx((0.8, 0.5))
    worse = settle([1.0, 1.0], [0.9, 1.5], aggregation="net")
    assert worse.delivered_kwh == 0.0
    assert worse.payment_gbp == 0.0


def test_sliding_scale_in_settle_household() -> None:
    # the §7 payment vectors through the settlement: 0.994 -> £1.4496, 0.60 -> £1.0872, 0.30 -> £0
    for actual, pays in ((0.35, 1.4496), (0.744, 1.0872), (1.044, 0.0)):
        s = settle([1.344], [actual], curve=SLIDING_SCALE)
        assert s.payment_gbp == pytest.approx(pays, abs=1e-12)
    # without a curve the 0.30 kWh delivery is paid pro rata, as before
    assert settle([1.344], [1.044]).payment_gbp == pytest.approx(0.3 / 1000 * FEE)


def test_aggregation_is_checked() -> None:
    with pytest.raises(ValueError, match="aggregation"):
        settle([1.0], [0.5], aggregation="gross")


def portfolio() -> list[HouseholdSettlement]:
    def one(hh: str, ev: str, baseline: float, actual: float) -> HouseholdSettlement:
        return settle([baseline], [actual], household_id=hh, event_id=ev)

    return [
        one("a", "e1", 1.0, 0.2),  # 0.8 of 0.8
        one("b", "e1", 1.0, 0.6),  # 0.4
        one("a", "e2", 1.0, 1.0),  # 0
        one("c", "e2", 2.0, 0.4),  # 1.6 uncapped, 0.8 capped
        settle([1.0], [math.nan], household_id="b", event_id="e2"),  # unknown: left out
    ]


def test_ratios_per_event_household_and_portfolio() -> None:
    s = portfolio()
    assert delivery_ratios(s, by="event") == pytest.approx({"e1": 1.2 / 1.6, "e2": 1.6 / 1.6})
    assert delivery_ratios(s, by="event", capped=True) == pytest.approx({"e1": 1.2 / 1.6, "e2": 0.8 / 1.6})
    by_household = delivery_ratios(s, by="household")
    assert by_household["a"] == pytest.approx(0.8 / 1.6)
    assert by_household["b"] == pytest.approx(0.4 / 0.8)
    assert by_household["c"] == pytest.approx(2.0)
    assert portfolio_delivery_ratio(s, {"a", "b"}) == pytest.approx(1.2 / 2.4)
    assert portfolio_delivery_ratio(s, {"a", "c"}, capped=True) == pytest.approx(1.6 / 2.4)
    assert math.isnan(portfolio_delivery_ratio(s, set()))
    with pytest.raises(ValueError, match="by must be"):
        delivery_ratios(s, by="programme")  # type: ignore[arg-type]


def test_aggregation_property() -> None:
    rng = random.Random(8)
    for _ in range(2000):
        n = rng.randrange(1, 6)
        baseline = [rng.uniform(-1, 3) for _ in range(n)]
        actual = [rng.uniform(-1, 3) for _ in range(n)]
        reduction_kw = rng.uniform(0.1, 4)
        pos = settle(baseline, actual, reduction_kw=reduction_kw)
        net = settle(baseline, actual, reduction_kw=reduction_kw, aggregation="net")
        assert 0.0 <= net.delivered_kwh <= pos.delivered_kwh + 1e-12
        assert net.payment_gbp <= pos.payment_gbp + 1e-12
        ratios = {
            (c, a): delivery_ratio([pos], capped=c, aggregation=a)
            for c in (False, True)
            for a in ("net", "positive_only")
        }
        assert ratios[True, "positive_only"] <= ratios[False, "positive_only"] + 1e-12
        assert ratios[True, "net"] <= ratios[True, "positive_only"] + 1e-12
        assert ratios[False, "net"] <= ratios[False, "positive_only"] + 1e-12
        assert ratios[True, "positive_only"] == pytest.approx(pos.delivered_kwh / pos.instructed_kwh)
        curved = settle(baseline, actual, reduction_kw=reduction_kw, curve=SLIDING_SCALE)
        assert curved.payment_gbp <= pos.payment_gbp + 1e-12
        assert curved.payment_gbp == (
            0.0 if ratios[True, "positive_only"] < 0.5 else pytest.approx(pos.payment_gbp)
        )
