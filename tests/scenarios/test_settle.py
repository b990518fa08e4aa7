"""In-memory settlement of simulated households with the live baseline and payment code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.domain import FlexEvent
from homeflex.core.timeutil import LONDON, periods
from homeflex.scenarios.settle import settle_all
from homeflex.scenarios.spec import Variant

START = datetime(2026, 1, 19, 17, 30, tzinfo=LONDON)  # a Monday evening
EVENT = FlexEvent(
    event_id="e1",
    modification_number=0,
    start=START,
    duration=timedelta(hours=1),
    reduction_w=1500,
    price_gbp_per_mwh=2000,
)


def energy(event_kwh: float, *, before_kwh: float = 1.0) -> dict[datetime, float]:
    """1 kWh every half-hour for four weeks before the event day; ``event_kwh`` in the event's two."""
    first = datetime(2025, 12, 22, tzinfo=UTC)
    out = dict.fromkeys(periods(first, START.astimezone(UTC) + timedelta(hours=4)), 1.0)
    for p in periods(START - timedelta(hours=3), START):
        out[p.astimezone(UTC)] = before_kwh
    for p in periods(START, START + timedelta(hours=1)):
        out[p.astimezone(UTC)] = event_kwh
    return out


@pytest.mark.parametrize(
    ("event_kwh", "delivered", "paid"),
    [
        (1.0, 0.0, 0.0),  # no change
        (0.5, 1.0, 2.0),  # 0.5 kWh less in each of two half-hours
        (0.0, 1.5, 3.0),  # 2 kWh less, capped at the 1.5 kWh instruction
    ],
)
def test_delivery_is_measured_against_the_baseline(event_kwh: float, delivered: float, paid: float) -> None:
    rules = Variant(name="p", baseline="same_day_type", baseline_params=(("weeks", 2),)).rules()
    result = settle_all("hh1", [EVENT], {"e1": True}, energy(event_kwh), rules)
    assert result.requested_kwh == pytest.approx(1.5)
    assert result.delivered_kwh == pytest.approx(delivered)
    assert result.payment_gbp == pytest.approx(paid)  # £2000/MWh
    assert result.insufficient == 0


def test_opting_out_pays_nothing_and_is_not_insufficient() -> None:
    rules = Variant(name="p").rules()
    result = settle_all("hh1", [EVENT], {"e1": False}, energy(0.0), rules)
    assert (result.requested_kwh, result.delivered_kwh, result.payment_gbp, result.insufficient) == (
        0,
        0,
        0,
        0,
    )


def test_too_little_history_is_unsettled_not_guessed() -> None:
    rules = Variant(name="p", baseline="x_of_y", baseline_params=(("lookback_days", 7),)).rules()
    result = settle_all("hh1", [EVENT], {"e1": True}, energy(0.0), rules)
    assert (result.delivered_kwh, result.payment_gbp, result.insufficient) == (0, 0, 1)


def test_a_day_of_adjustment_rewards_raising_consumption_before_the_event() -> None:
    """The gaming NESO closed: doubling use in the three hours before lifts an adjusted baseline."""
    plain = Variant(name="plain", baseline="same_day_type", baseline_params=(("weeks", 2),))
    adjusted = Variant(
        name="adjusted",
        baseline="same_day_type",
        baseline_params=(("weeks", 2),),
        adjustment=(("kind", "additive"),),
    )
    honest, gamed = energy(0.9), energy(0.9, before_kwh=2.0)
    assert settle_all("hh1", [EVENT], {"e1": True}, gamed, plain.rules()).delivered_kwh == pytest.approx(0.2)
    assert settle_all("hh1", [EVENT], {"e1": True}, honest, adjusted.rules()).delivered_kwh == pytest.approx(
        0.2
    )
    assert settle_all("hh1", [EVENT], {"e1": True}, gamed, adjusted.rules()).delivered_kwh == pytest.approx(
        1.5
    )
