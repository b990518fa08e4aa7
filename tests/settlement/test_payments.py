"""Payments (settlement.md §5, §7, §8): the sliding scale, availability, NGED examples and the split."""

from __future__ import annotations

import math
import random
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from homeflex.settlement.delivery import HUNDREDTH_PENNY, round_money
from homeflex.settlement.payments import (
    LINEAR,
    SLIDING_SCALE,
    PaymentCurve,
    Product,
    availability_payment,
    paid_energy_kwh,
    split,
    split_change,
    utilisation_payment,
)

FEE = 1812.0  # £/MWh, NGED SU_SEP


@pytest.mark.parametrize(
    ("ratio", "factor"),
    [
        (-1.0, 0.0),
        (0.0, 0.0),
        (0.3, 0.0),
        (0.4999, 0.0),
        (0.5, 0.5),
        (0.75, 0.75),
        (1.0, 1.0),
        (1.2425, 1.0),
        (9.0, 1.0),
    ],
)
def test_sliding_scale(ratio: float, factor: float) -> None:
    assert SLIDING_SCALE.factor(ratio) == pytest.approx(factor)


@pytest.mark.parametrize(
    ("delivered", "gbp"),
    [
        (0.994, "1.4496"),
        (0.8, "1.4496"),
        (0.60, "1.0872"),
        (0.40, "0.7248"),
        (0.30, "0.0000"),
        (0.0, "0.0000"),
    ],
)
def test_settlement_md_payment_vectors(delivered: float, gbp: str) -> None:
    # instruction 0.8 kWh: 0.994 (ratio 1.2425) pays the instruction, 0.60 (0.75) the delivered energy,
    # 0.30 (0.375) nothing
    paid = utilisation_payment(delivered_kwh=delivered, instructed_kwh=0.8, rate_gbp_per_mwh=FEE)
    assert round_money(paid, quantum=HUNDREDTH_PENNY) == Decimal(gbp)


def test_resettlement_vectors() -> None:
    v1 = utilisation_payment(delivered_kwh=0.8, instructed_kwh=0.8, rate_gbp_per_mwh=FEE)
    v2 = utilisation_payment(delivered_kwh=1.344 - 0.70, instructed_kwh=0.8, rate_gbp_per_mwh=FEE)
    assert v2 == pytest.approx(1.166928, abs=1e-12)
    assert v2 - v1 == pytest.approx(-0.282672, abs=1e-12)


def test_nged_ev_example_and_its_discrepancy() -> None:
    # £2,910.16 is reproduced only by 0.01245 MW (150 x 0.083 kW), not the stated 0.0125 MW
    def pays(mw: float) -> Decimal:
        mwh = mw * 129
        return round_money(
            utilisation_payment(delivered_kwh=mwh * 1000, instructed_kwh=mwh * 1000, rate_gbp_per_mwh=FEE)
        )

    assert pays(0.01245) == Decimal("2910.16")
    assert pays(0.0125) == Decimal("2921.85")
    assert pays(0.1245) == Decimal("29101.63")  # 150 x 0.83 kW, as the page's text has it


def test_nged_battery_example() -> None:
    # £2,440.80 for 0.5 MW x 228 h implies £21.4105.../MW/h; the rounded £21.41 pays 6p less.
    implied = 2440.80 / (0.5 * 228)
    assert implied == pytest.approx(21.4105, abs=5e-5)
    assert round_money(availability_payment(implied, 0.5, 228)) == Decimal("2440.80")
    assert round_money(availability_payment(21.41, 0.5, 228)) == Decimal("2440.74")


def test_availability_factor() -> None:
    assert availability_payment(21.41, 0.5, 228, 0.5) == pytest.approx(21.41 * 0.5 * 228 / 2)
    assert availability_payment(21.41, 0.5, 228, 0.0) == 0.0  # SSEN: nothing if completely unavailable


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1.0, 0.5, 228), "availability rate"),
        ((math.nan, 0.5, 228), "availability rate"),
        ((21.41, -0.5, 228), "contracted_mw"),
        ((21.41, 0.5, math.inf), "window_hours"),
        ((21.41, 0.5, 228, 1.5), "availability_factor"),
        ((21.41, 0.5, 228, math.nan), "availability_factor"),
    ],
)
def test_availability_rejects(args: tuple[float, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        availability_payment(*args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"delivered_kwh": math.nan, "instructed_kwh": 0.8}, "finite"),
        ({"delivered_kwh": 0.5, "instructed_kwh": -0.8}, "instructed >= 0"),
        ({"delivered_kwh": 0.5, "instructed_kwh": 0.8, "rate_gbp_per_mwh": -1.0}, "utilisation rate"),
    ],
)
def test_utilisation_rejects(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        utilisation_payment(**{"rate_gbp_per_mwh": FEE, **kwargs})


def test_nothing_instructed_pays_nothing() -> None:
    assert paid_energy_kwh(delivered_kwh=0.5, instructed_kwh=0.0) == 0.0


def test_custom_curves() -> None:
    assert LINEAR.factor(0.3) == pytest.approx(0.3)
    assert LINEAR.factor(1.5) == 1.0
    stepped = PaymentCurve(points=((0.5, 0.0), (0.5, 0.5), (0.9, 0.5), (0.9, 1.0)))
    assert [stepped.factor(r) for r in (0.49, 0.5, 0.89, 0.9, 2.0)] == [0.0, 0.5, 0.5, 1.0, 1.0]
    bonus = PaymentCurve(points=((1.0, 1.0), (1.5, 1.25)))  # pays over-delivery at half rate
    assert bonus.factor(1.2) == pytest.approx(1.1)
    assert paid_energy_kwh(delivered_kwh=0.96, instructed_kwh=0.8, curve=bonus) == pytest.approx(0.88)
    assert PaymentCurve(points=((0.0, 0.7),)).factor(3.0) == 0.7


@pytest.mark.parametrize(
    ("points", "match"),
    [
        ((), "at least one point"),
        (((1.0, 0.0), (0.5, 1.0)), "non-decreasing"),
        (((0.5, 0.0), (0.5, 0.5), (0.5, 1.0)), "at most two"),
        (((0.5, -0.1),), "factors >= 0"),
        (((math.nan, 0.0),), "finite"),
    ],
)
def test_curve_rejects(points: tuple[tuple[float, float], ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PaymentCurve(points=points)


def test_curve_rejects_nan_ratio() -> None:
    with pytest.raises(ValueError, match="NaN"):
        SLIDING_SCALE.factor(math.nan)


def test_paid_energy_property() -> None:
    rng = random.Random(5)
    for _ in range(5000):
        instructed = rng.uniform(0, 3)
        delivered = rng.uniform(0, instructed * 1.5)
        paid = paid_energy_kwh(delivered_kwh=delivered, instructed_kwh=instructed)
        assert 0.0 <= paid <= instructed + 1e-12
        if instructed and delivered / instructed >= 0.5:
            assert paid == pytest.approx(min(delivered, instructed))
        else:
            assert paid == 0.0


# --- product and split -------------------------------------------------------------------------------


def test_product_defaults_and_validation() -> None:
    p = Product(name="SU_SEP", utilisation_gbp_per_mwh=FEE, community_share=Decimal("0.2"))
    assert (p.curve, p.aggregation, p.availability_gbp_per_mw_h) == (SLIDING_SCALE, "positive_only", 0.0)
    with pytest.raises(ValueError, match="utilisation rate"):
        Product(name="x", utilisation_gbp_per_mwh=-1.0)
    with pytest.raises(ValueError, match="within"):
        Product(name="x", community_share=Decimal("1.01"))
    with pytest.raises(TypeError, match="Decimal"):
        Product(name="x", community_share=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aggregation"):
        Product(name="x", aggregation="gross")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "share", "community", "household"),
    [
        ("1.45", "0.2", "0.29", "1.16"),
        ("1.17", "0.2", "0.23", "0.94"),  # 0.234
        ("0.05", "0.5", "0.03", "0.02"),  # 0.025 rounds half up: the household takes the remainder
        ("-0.28", "0.2", "-0.06", "-0.22"),  # -0.056: a refund mirrors a payment
        ("-0.05", "0.5", "-0.03", "-0.02"),
        ("2910.16", "0", "0.00", "2910.16"),
        ("2910.16", "1", "2910.16", "0.00"),
        ("0.00", "0.3", "0.00", "0.00"),
    ],
)
def test_split(amount: str, share: str, community: str, household: str) -> None:
    got = split(Decimal(amount), Decimal(share))
    assert got == (Decimal(community), Decimal(household))
    assert [str(x) for x in got] == [community, household]


def test_split_rounding_is_configurable() -> None:
    assert split(Decimal("0.05"), Decimal("0.5"), rounding=ROUND_DOWN) == (Decimal("0.02"), Decimal("0.03"))


@pytest.mark.parametrize(
    ("amount", "share", "error"),
    [
        (Decimal("1.4496"), Decimal("0.2"), ValueError),  # not whole pence: round_money first
        (Decimal("NaN"), Decimal("0.2"), ValueError),
        (1.45, Decimal("0.2"), ValueError),
        (Decimal("1.45"), Decimal("-0.1"), ValueError),
        (Decimal("1.45"), 0.2, TypeError),
    ],
)
def test_split_rejects(amount: object, share: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        split(amount, share)  # type: ignore[arg-type]


def test_split_property() -> None:
    rng = random.Random(11)
    for _ in range(5000):
        amount = Decimal(rng.randrange(-100_000, 100_000)) / 100
        share = Decimal(rng.randrange(0, 1001)) / 1000
        community, household = split(amount, share)
        assert community + household == amount
        assert community.as_tuple().exponent == household.as_tuple().exponent == -2
        assert abs(community - amount * share) <= Decimal("0.005")
        assert split(-amount, share) == (-community, -household)


def test_split_change_keeps_running_totals_on_the_split_of_the_total() -> None:
    rng = random.Random(12)
    share = Decimal("0.15")
    for _ in range(500):
        versions = [Decimal(rng.randrange(0, 2000)) / 100 for _ in range(rng.randrange(1, 6))]
        community = household = Decimal(0)
        previous = Decimal(0)
        for v in versions:
            dc, dh = split_change(previous, v, share)
            assert dc + dh == v - previous
            community, household, previous = community + dc, household + dh, v
        assert (community, household) == split(versions[-1], share)


def test_splitting_the_delta_would_drift() -> None:
    half = Decimal("0.5")
    v1, v2 = Decimal("0.05"), Decimal("0.10")
    naive = split(v1, half)[0] + split(v2 - v1, half)[0]
    assert naive == Decimal("0.06")  # a penny more than half of 0.10
    assert split(v1, half)[0] + split_change(v1, v2, half)[0] == Decimal("0.05")
