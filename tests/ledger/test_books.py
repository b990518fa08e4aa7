"""Reconciliation and monthly statements over a hand-built ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from homeflex.ledger.reconcile import reconcile
from homeflex.ledger.statements import build_statement, month_bounds, render_text, statement_json
from homeflex.storage.records import EventRecord, LedgerEntry, SettlementRecord

T = datetime(2026, 11, 10, 18, 0, tzinfo=UTC)


def settlement(version: int, payment: str, household: str, at: datetime) -> SettlementRecord:
    return SettlementRecord(
        event_id="e1",
        household_id="hh1",
        version=version,
        status="settled",
        method="same_day_type",
        baseline_kw=2.5,
        actual_kw=0.5,
        instructed_kwh=1.0,
        delivered_kwh=0.8,
        payment_gbp=payment,
        household_gbp=household,
        community_gbp=str(Decimal(payment) - Decimal(household)),
        evidence=json.dumps([{"period": "2026-11-10T17:30:00+00:00"}]),
        computed_at=at,
    )


def entries(version: int, payment: str, household: str, at: datetime) -> list[LedgerEntry]:
    common = {
        "event_id": "e1",
        "household_id": "hh1",
        "settlement_version": version,
        "memo": "m",
        "created_at": at,
    }
    return [
        LedgerEntry(debit_account="dso", credit_account="community", amount_gbp=payment, **common),  # type: ignore[arg-type]
        LedgerEntry(
            debit_account="community", credit_account="household:hh1", amount_gbp=household, **common
        ),
    ]  # type: ignore[arg-type]


def test_books_balance_across_an_adjustment() -> None:
    v1, v2 = settlement(1, "1.45", "1.31", T), settlement(2, "1.17", "1.05", T + timedelta(days=20))
    ledger = entries(1, "1.45", "1.31", T) + entries(2, "-0.28", "-0.26", v2.computed_at)
    result = reconcile(ledger, [v2])
    assert result.ok, result.problems
    assert result.balances == {
        "dso": Decimal("-1.17"),
        "community": Decimal("0.12"),
        "household:hh1": Decimal("1.05"),
    }
    assert not reconcile(ledger[:2], [v2]).ok  # the adjustment was never booked
    assert any("DSO paid 1.45" in p for p in reconcile(ledger[:2], [v2]).problems)
    assert v1.version == 1


def test_statement_lists_the_month_and_its_adjustments() -> None:
    v1, v2 = settlement(1, "1.45", "1.31", T), settlement(2, "1.17", "1.05", T + timedelta(days=25))
    ledger = entries(1, "1.45", "1.31", T) + entries(2, "-0.28", "-0.26", v2.computed_at)
    event = EventRecord(
        event_id="e1",
        modification_number=0,
        status="scheduled",
        start=T,
        duration=timedelta(minutes=30),
        reduction_kw=2,
        price_gbp_per_mwh=1812,
        created_at=T,
    )
    settlements = {("e1", 1): v1, ("e1", 2): v2}
    november = build_statement("hh1", "2026-11", ledger, settlements, {"e1": event})
    december = build_statement("hh1", "2026-12", ledger, settlements, {"e1": event})
    assert [(x.version, x.amount_gbp) for x in november.lines] == [(1, Decimal("1.31"))]
    assert [(x.version, x.amount_gbp) for x in december.lines] == [(2, Decimal("-0.26"))]  # booked on 5 Dec
    assert "Total paid this month: £1.31" in render_text(november)
    assert statement_json(december)["total_gbp"] == "-0.26"
    assert build_statement("hh2", "2026-11", ledger, settlements, {"e1": event}).lines == ()


def test_month_bounds_follow_uk_local_time() -> None:
    start, end = month_bounds("2026-06")
    assert start == datetime(2026, 5, 31, 23, 0, tzinfo=UTC)  # BST
    assert end == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="2026-11"):
        month_bounds("November")
