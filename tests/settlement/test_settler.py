"""Settlement from stored readings under a programme: versions, adjustments, the community's share,
reconciliation, and settling a period — on both storage backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from homeflex.cli import main
from homeflex.core.domain import Category, MeterReading
from homeflex.ledger.reconcile import reconcile
from homeflex.settlement.settler import settle_event, settle_period
from homeflex.storage import SQLiteStorage, Storage
from homeflex.storage.records import EventRecord, HouseholdRecord, ProgrammeRecord

EVENT = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # a Wednesday


AFTER = EVENT + timedelta(hours=5)


def readings(hh: str, kw: Callable[[datetime], float], start: datetime, end: datetime) -> list[MeterReading]:
    """Register readings every 30 min from a power profile (constant within each half-hour)."""
    out, t, register = [], start, 0.0
    while t <= end:
        out.append(
            MeterReading(household_id=hh, ts=t, import_wh=register, export_wh=0.0, power_w=kw(t) * 1000)
        )
        register += kw(t) * 500
        t += timedelta(minutes=30)
    return out


def in_event(t: datetime) -> bool:
    return EVENT <= t < EVENT + timedelta(minutes=30)


async def setup(
    storage: Storage,
    programme: str = "default",
    event_kw: float = 0.5,
    opt_at: datetime = EVENT - timedelta(minutes=50),
) -> None:
    await storage.upsert_household(HouseholdRecord(id="hh1", group="g", category=Category.B), EVENT)
    history = readings("hh1", lambda t: 0.5 if in_event(t) else 2.5, EVENT - timedelta(days=22), EVENT)
    await storage.insert_readings(history, EVENT)
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
            programme_id=programme,
        ),
        ["hh1"],
    )
    await storage.record_opt("e1", "hh1", 0, "optIn", opt_at)


async def add_event_readings(storage: Storage, kw: float) -> None:
    """The rest of the data, continuing the registers: `kw` in the event, 2.5 kW after."""
    stored = await storage.readings("hh1", EVENT - timedelta(hours=1), EVENT)
    last = stored[-1]
    t, register, rows = last.ts, last.import_wh, []
    while t < AFTER:
        power = kw if in_event(t) else 2.5
        register += power * 500
        t += timedelta(minutes=30)
        rows.append(
            MeterReading(household_id="hh1", ts=t, import_wh=register, export_wh=0.0, power_w=power * 1000)
        )
    await storage.insert_readings(rows, t)


async def books_balance(storage: Storage) -> None:
    result = reconcile(await storage.ledger(), await storage.latest_settlements("e1"))
    assert result.ok, result.problems


async def test_late_data_makes_a_new_version_with_adjustments_never_an_edit(backend: Storage) -> None:
    await setup(backend)
    # Settled before the event's meter data arrived: not measurable, so nothing is paid.
    [v1] = await settle_event(backend, "e1", AFTER)
    assert (v1.version, v1.status, v1.payment_gbp) == (1, "insufficient_data", "0.00")
    await add_event_readings(backend, kw=0.5)
    [v2] = await settle_event(backend, "e1", AFTER + timedelta(days=2))
    # Baseline 2.5 kW (same half-hour, 15 earlier weekdays), actual 0.5 kW: 1.0 kWh, capped at 2 kW x 0.5 h.
    assert (v2.version, v2.status, v2.baseline_kw, v2.actual_kw) == (2, "settled", 2.5, 0.5)
    assert v2.delivered_kwh == pytest.approx(1.0)
    assert v2.payment_gbp == "1.81"
    assert v2.inputs_sha256 != v1.inputs_sha256
    await books_balance(backend)
    assert await settle_event(backend, "e1", AFTER + timedelta(days=3)) == []  # idempotent
    assert len(await backend.ledger("e1")) == 2


async def test_corrected_data_pays_less_with_a_negative_adjustment(backend: Storage) -> None:
    await setup(backend)
    await add_event_readings(backend, kw=0.5)
    [v1] = await settle_event(backend, "e1", AFTER)
    # A corrected meter export: the household used 1.8 kW in the event, not 0.5 (a late correction
    # arrives as readings in between, which change the period's energy).
    mid = EVENT + timedelta(minutes=15)
    stored = {r.ts: r for r in await backend.readings("hh1", EVENT, EVENT + timedelta(minutes=30))}
    start_wh = stored[EVENT].import_wh
    await backend.insert_readings(
        [
            MeterReading(
                household_id="hh1", ts=mid, import_wh=start_wh + 0.5 * 1800 / 2, export_wh=0.0, power_w=1800.0
            )
        ],
        AFTER,
    )
    versions = await settle_event(backend, "e1", AFTER + timedelta(days=1))
    assert [v.version for v in versions] == [2]
    entries = await backend.ledger("e1")
    adjustments = [Decimal(e.amount_gbp) for e in entries if e.settlement_version == 2]
    assert all(a < 0 for a in adjustments) and len(adjustments) == 2
    assert Decimal(v1.payment_gbp) + adjustments[0] == Decimal(versions[0].payment_gbp)
    await books_balance(backend)


async def test_programme_sliding_scale_and_community_share(backend: Storage) -> None:
    await backend.upsert_programme(
        ProgrammeRecord(
            id="ssen",
            name="SSEN-style",
            baseline_method="x_of_y",
            baseline_params={"x": 10, "y": 10},
            payment_curve=((0.5, 0.0), (0.5, 0.5), (1.0, 1.0)),
            community_share="0.1",
        ),
        EVENT,
    )
    await setup(backend, programme="ssen")
    await add_event_readings(backend, kw=1.8)  # delivers 0.7 kW of 2: ratio 0.35, under the 50 % floor
    [low] = await settle_event(backend, "e1", AFTER)
    assert low.delivered_kwh == pytest.approx(0.35)
    assert (low.payment_gbp, low.household_gbp, low.community_gbp) == ("0.00", "0.00", "0.00")
    assert '"programme": "ssen"' in low.parameters


async def test_community_keeps_its_share_and_the_books_balance(backend: Storage) -> None:
    await backend.upsert_programme(ProgrammeRecord(id="shared", name="Shared", community_share="0.1"), EVENT)
    await setup(backend, programme="shared")
    await add_event_readings(backend, kw=0.5)
    [s] = await settle_event(backend, "e1", AFTER)
    assert (s.payment_gbp, s.community_gbp, s.household_gbp) == ("1.81", "0.18", "1.63")
    balances = await backend.ledger_balances()
    assert balances == {
        "dso": Decimal("-1.81"),
        "community": Decimal("0.18"),
        "household:hh1": Decimal("1.63"),
    }
    await books_balance(backend)


async def test_a_programme_settlement_cannot_use_is_refused(backend: Storage) -> None:
    await backend.upsert_programme(
        ProgrammeRecord(id="bad", name="Bad", baseline_method="crystal_ball"), EVENT
    )
    await setup(backend, programme="bad")
    with pytest.raises(ValueError, match="unknown baseline method 'crystal_ball'"):
        await settle_event(backend, "e1", AFTER)
    assert await backend.ledger() == []


async def test_settle_period_settles_ended_events_and_records_the_run(backend: Storage) -> None:
    await setup(backend)
    await add_event_readings(backend, kw=0.5)
    day = datetime(2026, 12, 2, tzinfo=UTC)
    assert await settle_period(backend, day, day + timedelta(days=1), EVENT) == []  # not ended yet
    written = await settle_period(backend, day, day + timedelta(days=1), AFTER)
    assert [w.event_id for w in written] == ["e1"]
    runs = await backend.execute_raw(
        "SELECT events_settled, versions_written FROM settlement_runs ORDER BY id"
    )
    assert [tuple(r) for r in runs] == [(0, 0), (1, 1)]


async def test_statement_and_reconcile_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.db"
    storage = await SQLiteStorage.open(db)
    await setup(storage)
    await add_event_readings(storage, kw=0.5)
    await settle_event(storage, "e1", AFTER)
    await storage.close()
    monkeypatch.setenv("HOMEFLEX_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.chdir(tmp_path)
    assert await asyncio.to_thread(main, ["reconcile"]) == 0
    assert "the books balance" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["statement", "--household", "hh1", "--month", "2026-12"]) == 0
    out = capsys.readouterr().out
    assert "e1" in out and "Total paid this month: £1.81" in out
    assert await asyncio.to_thread(main, ["settle", "--from", "2026-12-01", "--to", "2026-12-03"]) == 0
    assert "0 new settlement version(s)" in capsys.readouterr().out  # already settled: nothing new
    assert await asyncio.to_thread(main, ["settle"]) == 2


async def test_availability_fee_in_proportion_to_delivery(backend: Storage) -> None:
    await backend.upsert_programme(
        ProgrammeRecord(id="avail", name="Availability + utilisation", availability_gbp_per_mw_h="21.41"),
        EVENT,
    )
    await setup(backend, programme="avail")
    await add_event_readings(backend, kw=1.5)  # delivers 1.0 of 2.0 kW: half the instruction
    [s] = await settle_event(backend, "e1", AFTER)
    utilisation = 0.5 / 1000 * 1812.0  # 0.5 kWh delivered
    availability = 21.41 * 0.002 * 0.5 * 0.5  # £/MW/h x 2 kW x 0.5 h x factor 0.5
    assert Decimal(s.payment_gbp) == Decimal(repr(round(utilisation + availability, 2)))
