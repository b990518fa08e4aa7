"""An aggregator is paid for its portfolio: each member settled against its own baseline as any household
is, the ledger DSO -> aggregator (not community -> household), re-settlement as adjustments, the books
balanced, and a statement with the evidence per resource. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from homeflex.core.domain import Category, MeterReading
from homeflex.ledger.reconcile import reconcile
from homeflex.settlement.portfolio import portfolio_statement, render_portfolio_text
from homeflex.settlement.settler import settle_event
from homeflex.storage import Storage
from homeflex.storage.records import (
    AggregatorRecord,
    EventRecord,
    HouseholdRecord,
    PortfolioMember,
)

EVENT = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # a Wednesday
AFTER = EVENT + timedelta(hours=6)


def readings(hh: str, event_kw: float, until: datetime) -> list[MeterReading]:
    """Half-hourly registers: 2.5 kW for three weeks, `event_kw` in the event's half-hour."""
    out, t, register = [], EVENT - timedelta(days=22), 0.0
    while t <= until:
        kw = event_kw if EVENT <= t < EVENT + timedelta(minutes=30) else 2.5
        out.append(MeterReading(household_id=hh, ts=t, import_wh=register, export_wh=0.0, power_w=kw * 1e3))
        register += kw * 500
        t += timedelta(minutes=30)
    return out


async def setup(storage: Storage) -> None:
    for hid, category in (("agg", Category.A), ("m1", Category.B), ("m2", Category.C), ("solo", Category.B)):
        await storage.upsert_household(HouseholdRecord(id=hid, group="g", category=category), EVENT)
    members = (
        PortfolioMember(household_id="m1", offered_kw=1.0),
        PortfolioMember(household_id="m2", offered_kw=1.0),
    )
    await storage.save_aggregator(AggregatorRecord(id="agg", name="Flex Co", members=members), EVENT)
    await storage.create_event(
        EventRecord(
            event_id="e1",
            modification_number=0,
            status="scheduled",
            start=EVENT,
            duration=timedelta(minutes=30),
            reduction_kw=2.0,
            price_gbp_per_mwh=1812.0,
            created_at=EVENT - timedelta(hours=1),
        ),
        ["m1", "m2", "solo"],
    )
    for hid in ("m1", "m2", "solo"):
        await storage.record_opt("e1", hid, 0, "optIn", EVENT - timedelta(minutes=50))


async def test_the_aggregator_is_paid_the_sum_of_its_members_with_evidence_per_resource(
    backend: Storage,
) -> None:
    await setup(backend)
    await backend.insert_readings(readings("m1", 0.5, AFTER), EVENT)  # 2 kW shed: 1 kWh, £1.812
    await backend.insert_readings(readings("m2", 2.0, EVENT), EVENT)  # its event data comes late
    await backend.insert_readings(readings("solo", 1.5, AFTER), EVENT)  # 1 kW shed: 0.5 kWh, £0.906
    await settle_event(backend, "e1", AFTER)

    credits = {
        (e.household_id, e.debit_account, e.credit_account): e.amount_gbp for e in await backend.ledger("e1")
    }
    assert credits == {
        ("m1", "dso", "aggregator:agg"): "1.81",
        ("solo", "dso", "community"): "0.91",
        ("solo", "community", "household:solo"): "0.91",
    }
    statement = await portfolio_statement(backend, "agg", "e1")
    assert [r.household_id for r in statement.resources] == ["m1", "m2"]  # solo is not in the portfolio
    m1, m2 = statement.resources
    assert (m1.baseline_kw, m1.actual_kw, m1.delivered_kwh, m1.payment_gbp) == (
        2.5,
        0.5,
        1.0,
        Decimal("1.81"),
    )
    assert m1.periods[0]["baseline_kwh"] == 1.25 and m1.periods[0]["delivered_kwh"] == 1.0
    assert m2.status == "insufficient_data" and m2.payment_gbp == 0
    assert statement.payment_gbp == statement.paid_gbp == Decimal("1.81")

    # m2's event data arrives: a new version for m2, paid to the aggregator as an adjustment.
    late = [r for r in readings("m2", 2.0, AFTER) if r.ts > EVENT]
    await backend.insert_readings(late, AFTER)
    written = await settle_event(backend, "e1", AFTER + timedelta(hours=1))
    assert [(s.household_id, s.version, s.payment_gbp, s.household_gbp) for s in written] == [
        ("m2", 2, "0.45", "0")  # 0.5 kW shed for 30 min = 0.25 kWh
    ]
    statement = await portfolio_statement(backend, "agg", "e1")
    assert statement.payment_gbp == statement.paid_gbp == Decimal("2.26")
    assert statement.delivered_kwh == pytest.approx(1.25) and statement.instructed_kwh == pytest.approx(2.0)
    result = reconcile(await backend.ledger(), await backend.latest_settlements("e1"))
    assert result.ok, result.problems
    assert result.balances["aggregator:agg"] == Decimal("2.26")
    assert "household:m1" not in result.balances
    text = render_portfolio_text(statement)
    assert "m2" in text and "paid by the DSO £2.26" in text
    assert await settle_event(backend, "e1", AFTER + timedelta(hours=2)) == []  # idempotent


async def test_a_statement_for_an_unknown_aggregator_or_event_is_refused(backend: Storage) -> None:
    await setup(backend)
    with pytest.raises(LookupError, match="no aggregator 'nobody'"):
        await portfolio_statement(backend, "nobody", "e1")
    with pytest.raises(LookupError, match="no event 'e9'"):
        await portfolio_statement(backend, "agg", "e9")
    statement = await portfolio_statement(backend, "agg", "e1")  # not settled yet: listed, nothing paid
    assert [(r.household_id, r.version, r.payment_gbp) for r in statement.resources] == [
        ("m1", None, Decimal(0)),
        ("m2", None, Decimal(0)),
    ]
    assert statement.paid_gbp == 0
