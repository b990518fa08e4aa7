"""The SQLite backend: migrations apply once; the ledger is append-only; concurrent writers are safe."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from homeflex.core.domain import Category, MeterReading
from homeflex.storage import DuplicateKey, SQLiteStorage, open_storage
from homeflex.storage.migrate import load_migrations
from homeflex.storage.records import HouseholdRecord, LedgerEntry, SettlementRecord

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
ALL_VERSIONS = [m.version for m in load_migrations("sqlite")]


async def test_migrations_apply_once_and_survive_reopen(tmp_path: Path) -> None:
    first = await SQLiteStorage.open(tmp_path / "a.db")
    assert await first.migrate() == []  # already applied on open
    await first.upsert_household(HouseholdRecord(id="hh1", group="g", category=Category.A), NOW)
    await first.close()
    again = await SQLiteStorage.open(tmp_path / "a.db")
    try:  # an open connection's thread would keep pytest from exiting after a failure
        rows = await again.execute_raw("SELECT version FROM schema_migrations")
        assert [r[0] for r in rows] == ALL_VERSIONS
        assert (await again.get_household("hh1")) == HouseholdRecord(id="hh1", group="g", category=Category.A)
    finally:
        await again.close()


async def test_unsupported_database_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        await open_storage("mysql://nope")


async def event_and_settlement(storage: SQLiteStorage, computed_at: datetime) -> SettlementRecord:
    """A household, an event for it, and a settlement record (not yet saved)."""
    await storage.upsert_household(HouseholdRecord(id="hh1", group="g", category=Category.B), NOW)
    await storage.execute_raw(
        "INSERT INTO events VALUES"
        " ('e1', 0, 'scheduled', '2026-11-25T17:30:00.000000Z', 1800, 2, 1812, ?, NULL, 'default',"
        " NULL, NULL, NULL, NULL)",
        (storage.db.time(NOW),),
    )
    return SettlementRecord(
        event_id="e1",
        household_id="hh1",
        version=1,
        status="settled",
        method="same_day_type",
        baseline_kw=2.0,
        actual_kw=0.5,
        instructed_kwh=1.0,
        delivered_kwh=0.75,
        payment_gbp="1.36",
        evidence="[]",
        computed_at=computed_at,
    )


async def test_ledger_refuses_edits_and_deletes(storage: SQLiteStorage) -> None:
    record = await event_and_settlement(storage, NOW)
    entry = LedgerEntry(
        event_id="e1",
        household_id="hh1",
        settlement_version=1,
        debit_account="dso",
        credit_account="community",
        amount_gbp="1.36",
        memo="m",
        created_at=NOW,
    )
    await storage.save_settlement(record, [entry])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await storage.execute_raw("UPDATE ledger SET amount_gbp='100'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await storage.execute_raw("DELETE FROM ledger")
    assert [e.amount_gbp for e in await storage.ledger("e1")] == ["1.36"]
    # A failed transaction leaves nothing half-written.
    with pytest.raises(DuplicateKey):
        await storage.save_settlement(record, [entry])
    assert len(await storage.ledger("e1")) == 1


async def test_concurrent_batches_and_reads_do_not_interfere(storage: SQLiteStorage) -> None:
    def batch(hh: str) -> list[MeterReading]:
        return [
            MeterReading(
                household_id=hh, ts=NOW + timedelta(seconds=i), import_wh=float(i), export_wh=0.0, power_w=1.0
            )
            for i in range(200)
        ]

    results = await asyncio.gather(
        *(storage.insert_readings(batch(f"hh{k}"), NOW) for k in range(10)),
        *(storage.count_readings() for _ in range(10)),
    )
    assert results[:10] == [200] * 10
    assert await storage.count_readings() == 2000
    assert await storage.insert_readings(batch("hh0"), NOW) == 0  # duplicates: the first stored wins


async def test_times_within_one_second_sort_in_time_order(storage: SQLiteStorage) -> None:
    early, late = NOW, NOW + timedelta(milliseconds=500)
    assert storage.db.time(early) < storage.db.time(late)  # text order is time order
    record = await event_and_settlement(storage, late)
    await storage.save_settlement(record, [])
    assert [s.version for s in await storage.household_settlements("hh1", early, early + timedelta(1))] == [1]


async def test_two_processes_starting_on_a_new_file_both_open_it(tmp_path: Path) -> None:
    opened = await asyncio.gather(*(SQLiteStorage.open(tmp_path / "race.db") for _ in range(4)))
    try:
        rows = await opened[0].execute_raw("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == ALL_VERSIONS
    finally:
        for s in opened:
            await s.close()
