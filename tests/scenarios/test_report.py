"""Report figures from hand-made household results (no simulation): groups, spreads, charts."""

from __future__ import annotations

import math
import re

import pytest

from homeflex.scenarios.compare import compare_group
from homeflex.scenarios.household import HouseholdResult
from homeflex.scenarios.html import bar_chart
from homeflex.scenarios.report import summarise, table_rows
from homeflex.scenarios.settle import Settled


def result(
    hid: str, category: str, *, paid: float, offered: int = 2, opted: int = 1, **kw: object
) -> HouseholdResult:
    settled = Settled(requested_kwh=1.5 * opted, delivered_kwh=1.0 * opted, payment_gbp=paid, insufficient=0)
    fields: dict[str, object] = {
        "household_id": hid,
        "category": category,
        "vulnerable": False,
        "stage": 2 if category == "D" else 3,
        "devices": "ev",
        "unmanaged_gbp": 10.0,
        "managed_gbp": 9.0,
        "events_offered": offered,
        "events_opted_in": opted,
        "opt_out_reasons": ("no",) * (offered - opted),
        "cold_minutes": 0,
        "cold_minutes_unmanaged": 0,
        "ev_departures": 2,
        "ev_short": 0,
        "settled": {
            "a": settled,
            "b": Settled(requested_kwh=0, delivered_kwh=0, payment_gbp=paid * 2, insufficient=0),
        },
        "gamed": {},
        "gaming_cost_gbp": 0.0,
    }
    fields.update(kw)
    return HouseholdResult(**fields)  # type: ignore[arg-type]


RESULTS = [
    result("h1", "B", paid=1.0),
    result("h2", "B", paid=3.0, vulnerable=True),
    result("h3", "B", paid=0.0, opted=0),
    result("h4", "D", paid=0.0, offered=0, opted=0, managed_gbp=11.0),
]


def test_group_figures() -> None:
    b = summarise(RESULTS, "B", "a")
    assert (b.households, b.offered, b.requested_kwh, b.delivered_kwh) == (3, 6, 3.0, 2.0)
    assert b.opt_out_rate == pytest.approx(4 / 6)
    assert b.delivery_ratio == pytest.approx(2 / 3)
    assert (b.payment_median, b.payment_p10, b.payment_p90) == pytest.approx((1.0, 0.2, 2.6))
    assert b.bill_change == pytest.approx(-0.1)
    assert b.net_change == pytest.approx((27 - 4 - 30) / 30)
    d = summarise(RESULTS, "D", "a")
    assert math.isnan(d.opt_out_rate) and d.bill_change == pytest.approx(0.1)
    assert summarise(RESULTS, "vulnerable", "a").households == 1


def test_an_empty_group_shows_dashes() -> None:
    empty = summarise(RESULTS, "A", "a")
    assert empty.households == 0
    (row,) = table_rows([empty])
    assert row[0] == "A" and row[3] == "-" and row[9] == "-"


def test_who_gains_and_who_loses() -> None:
    c = compare_group(RESULTS, "B", "a", "b")
    assert (c.gain, c.lose, c.same, c.total_a, c.total_b) == (2, 0, 1, 4.0, 8.0)
    assert c.median_change == pytest.approx(1.0)


def test_bar_chart_draws_negatives_down_and_skips_nan() -> None:
    svg = bar_chart("t", ["A", "B", "C"], [[1.0, -1.0, math.nan]], "%")
    bars = re.findall(r'<rect x="[\d.]+" y="([\d.]+)" width="\d+" height="([\d.]+)"', svg)
    assert len(bars) == 2
    (y_up, h_up), (y_down, h_down) = ((float(y), float(h)) for y, h in bars)
    assert h_up == h_down == pytest.approx(80.0)
    assert y_up + h_up == pytest.approx(y_down)  # both meet at the zero line
    assert "<script" not in svg
