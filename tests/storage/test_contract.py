"""The storage contract: every method of the Storage interface behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from homeflex.core.domain import Category, MeterReading
from homeflex.storage import DuplicateKey, SQLiteStorage, Storage
from homeflex.storage.migrate import load_migrations
from homeflex.storage.records import (
    EventRecord,
    HouseholdRecord,
    LedgerEntry,
    ProgrammeRecord,
    RejectedReading,
    SettlementRecord,
    VenRecord,
)
from tests.storage.conftest import Reopen

NOW = datetime(2026, 11, 25, 17, 0, 0, 123456, tzinfo=UTC)  # microseconds must survive the round trip
START = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)


def integrity_error(storage: Storage) -> type[Exception]:
    """What a write refused by a rule other than a unique key raises (a foreign key, a check, a
    trigger): each backend's own driver error, not translated (a unique key's refusal is DuplicateKey)."""
    return (
        sqlite3.IntegrityError
        if isinstance(storage, SQLiteStorage)
        else asyncpg.IntegrityConstraintViolationError
    )


def household(hid: str, group: str = "g", category: Category = Category.B) -> HouseholdRecord:
    return HouseholdRecord(id=hid, group=group, category=category)


def event(
    event_id: str = "e1", start: datetime = START, minutes: int = 30, programme_id: str = "default"
) -> EventRecord:
    return EventRecord(
        event_id=event_id,
        modification_number=0,
        status="scheduled",
        start=start,
        duration=timedelta(minutes=minutes),
        reduction_kw=1.5,
        price_gbp_per_mwh=1812.25,
        created_at=NOW,
        programme_id=programme_id,
    )


def reading(hid: str, second: int, import_wh: float = 0.0, received: datetime | None = None) -> MeterReading:
    return MeterReading(
        household_id=hid,
        ts=START + timedelta(seconds=second),
        import_wh=import_wh,
        export_wh=0.25,
        power_w=-12.5,
        received_at=received,
    )


def settlement(version: int = 1, hid: str = "hh1", payment: str = "1.360", **kw: object) -> SettlementRecord:
    fields: dict[str, object] = {
        "event_id": "e1",
        "household_id": hid,
        "version": version,
        "status": "settled",
        "method": "same_day_type",
        "baseline_kw": 2.0,
        "actual_kw": None,
        "instructed_kwh": 0.75,
        "delivered_kwh": 0.5,
        "payment_gbp": payment,
        "evidence": '[{"period":"2026-11-25T17:30:00Z","baseline":NaN}]',
        "computed_at": NOW,
        "household_gbp": "1.088",
        "community_gbp": "0.272",
        "inputs_sha256": "ab" * 32,
        "parameters": '{"method": "same_day_type", "b": 1, "a": 2}',
    }
    fields.update(kw)
    return SettlementRecord(**fields)  # type: ignore[arg-type]


def entry(amount: str, debit: str = "dso", credit: str = "community", version: int = 1) -> LedgerEntry:
    return LedgerEntry(
        event_id="e1",
        household_id="hh1",
        settlement_version=version,
        debit_account=debit,
        credit_account=credit,
        amount_gbp=amount,
        memo="flex delivered",
        created_at=NOW,
    )


async def with_event(storage: Storage, *households: str) -> None:
    for hid in households:
        await storage.upsert_household(household(hid), NOW)
    await storage.create_event(event(), households)


# -- households and VENs ---------------------------------------------------------------------------


async def test_households_upsert_get_and_list(backend: Storage) -> None:
    assert await backend.get_household("nobody") is None
    for hid in ("b", "A", "a", "B"):
        await backend.upsert_household(household(hid, group="north" if hid.islower() else "south"), NOW)
    changed = HouseholdRecord(id="a", group="south", category=Category.D, vulnerable=True)
    await backend.upsert_household(changed, NOW + timedelta(days=1))
    assert await backend.get_household("a") == changed
    # Ids sort bytewise on both backends, whatever the database's locale.
    assert [h.id for h in await backend.list_households()] == ["A", "B", "a", "b"]
    assert [h.id for h in await backend.list_households("south")] == ["A", "B", "a"]
    assert await backend.list_households("nowhere") == []


async def test_vens_register_update_and_count(backend: Storage) -> None:
    await backend.upsert_household(household("hh1"), NOW)
    await backend.upsert_household(household("hh2"), NOW)
    assert await backend.get_ven("ven-1") is None
    first = VenRecord(ven_id="ven-1", household_id="hh1", ven_name="hh1", registration_id="r1")
    await backend.save_ven(first, NOW)
    again = VenRecord(
        ven_id="ven-1", household_id="hh1", ven_name="hh1", registration_id="r2", fingerprint="f"
    )
    await backend.save_ven(again, NOW)
    assert await backend.get_ven("ven-1") == again
    assert await backend.count_vens() == 1
    with pytest.raises(DuplicateKey):  # one VEN per household
        await backend.save_ven(
            VenRecord(ven_id="ven-2", household_id="hh1", ven_name="x", registration_id="r"), NOW
        )
    with pytest.raises(integrity_error(backend)):  # unknown household
        await backend.save_ven(
            VenRecord(ven_id="ven-3", household_id="zz", ven_name="x", registration_id="r"), NOW
        )
    assert await backend.count_vens() == 1


# -- events ----------------------------------------------------------------------------------------


async def test_events_round_trip_with_targets(backend: Storage) -> None:
    await with_event(backend, "hh2", "hh1")
    later = event("e0", start=START + timedelta(hours=1))
    await backend.create_event(later, ["hh1"])
    assert await backend.get_event("e1") == event()
    assert await backend.get_event("nope") is None
    assert [e.event_id for e in await backend.list_events()] == ["e1", "e0"]  # by start
    targets = await backend.event_targets("e1")
    assert [t.household_id for t in targets] == ["hh1", "hh2"]
    assert all(t.sent_modification is None and t.opt_type is None and t.opt_at is None for t in targets)


async def test_a_households_events_come_newest_first_with_its_own_answer(backend: Storage) -> None:
    await with_event(backend, "hh2", "hh1")
    later = event("e0", start=START + timedelta(hours=1))
    await backend.create_event(later, ["hh1"])
    await backend.record_opt("e1", "hh1", 0, "optOut", NOW)
    mine = await backend.household_events("hh1")
    assert [(e.event_id, t.household_id, t.opt_type) for e, t in mine] == [
        ("e0", "hh1", None),
        ("e1", "hh1", "optOut"),
    ]
    assert mine[1][0] == event()
    assert [e.event_id for e, _ in await backend.household_events("hh2")] == ["e1"]
    assert await backend.household_events("nobody") == []


async def test_create_event_is_atomic(backend: Storage) -> None:
    await backend.upsert_household(household("hh1"), NOW)
    with pytest.raises(integrity_error(backend)):  # the second target does not exist
        await backend.create_event(event(), ["hh1", "ghost"])
    assert await backend.get_event("e1") is None
    assert await backend.event_targets("e1") == []
    with pytest.raises(integrity_error(backend)):  # unknown programme
        await backend.create_event(event(programme_id="nope"), ["hh1"])
    assert await backend.list_events() == []


async def test_cancel_bumps_the_modification_once(backend: Storage) -> None:
    await with_event(backend, "hh1")
    cancelled = await backend.cancel_event("e1", NOW)
    assert cancelled is not None
    assert (cancelled.status, cancelled.modification_number) == ("cancelled", 1)
    again = await backend.cancel_event("e1", NOW)
    assert again is not None and again.modification_number == 1
    assert await backend.cancel_event("nope", NOW) is None


async def test_poll_mark_sent_and_opt_responses(backend: Storage) -> None:
    await with_event(backend, "hh1", "hh2")
    await backend.create_event(event("old", start=START - timedelta(hours=2)), ["hh1"])
    before = START - timedelta(minutes=5)
    assert [e.event_id for e in await backend.events_for_poll("hh1", before)] == ["e1"]  # 'old' has ended
    await backend.mark_sent("hh1", await backend.events_for_poll("hh1", before))
    sent = {t.household_id: t.sent_modification for t in await backend.event_targets("e1")}
    assert sent == {"hh1": 0, "hh2": None}

    assert await backend.record_opt("e1", "hh1", 0, "optIn", NOW) is True
    assert await backend.events_for_poll("hh1", before) == []
    target = (await backend.event_targets("e1"))[0]
    assert (target.acked_modification, target.opt_type, target.opt_at) == (0, "optIn", NOW)

    # Not targeted at that household, or no such event: nothing stored.
    await backend.upsert_household(household("hh3"), NOW)
    assert await backend.record_opt("e1", "hh3", 0, "optIn", NOW) is False
    assert await backend.record_opt("nope", "hh1", 0, "optIn", NOW) is False

    # A cancellation is a new modification: the VEN must answer again.
    await backend.cancel_event("e1", NOW)
    assert [e.modification_number for e in await backend.events_for_poll("hh1", before)] == [1]
    assert await backend.events_for_poll("hh1", START + timedelta(hours=1)) == []  # ended


# -- OpenADR reports ---------------------------------------------------------------------------------


async def test_report_requests_and_reports(backend: Storage) -> None:
    await backend.upsert_household(household("hh1"), NOW)
    await backend.upsert_household(household("hh2"), NOW)
    for n in (1, 2):
        ven = VenRecord(ven_id=f"ven-{n}", household_id=f"hh{n}", ven_name=f"hh{n}", registration_id="r")
        await backend.save_ven(ven, NOW)
    await backend.save_report_request("rr1", "ven-1", NOW)
    await backend.save_report_request("rr1", "ven-2", NOW)  # a repeated id is ignored: the first stays
    assert await backend.report_request_ven("rr1") == "ven-1"
    assert await backend.report_request_ven("rr2") is None

    t0, t1 = START, START + timedelta(seconds=10)
    await backend.save_ven_reports("ven-1", "rr1", [("p", t1, 2.0), ("p", t0, 1.0), ("q", t0, 7.5)], NOW)
    await backend.save_ven_reports("ven-1", "rr1", [("p", t0, 1.5), ("p", t0, 1.75)], NOW)  # later wins
    reports = await backend.ven_reports("ven-1")
    assert sorted(reports) == [("p", t0, 1.75), ("p", t1, 2.0), ("q", t0, 7.5)]
    assert [ts for _, ts, _ in reports] == [t0, t0, t1]
    assert await backend.ven_reports("ven-2") == []


# -- readings ----------------------------------------------------------------------------------------


async def test_readings_insert_counts_new_and_first_stored_wins(backend: Storage) -> None:
    own = START - timedelta(seconds=3)  # stored to the millisecond
    batch = [reading("hh1", 2, 20.0), reading("hh1", 0, 0.0, received=own), reading("hh1", 2, 99.0)]
    assert await backend.insert_readings(batch, NOW) == 2  # the second (hh1, +2 s) is a duplicate
    assert await backend.insert_readings([reading("hh1", 0, 55.0), reading("hh2", 0)], NOW) == 1
    assert await backend.insert_readings([], NOW) == 0
    stored = await backend.readings("hh1", START, START + timedelta(seconds=2))  # both ends inclusive
    assert stored == [reading("hh1", 0, 0.0), reading("hh1", 2, 20.0)]
    assert [r.received_at for r in stored] == [own, NOW.replace(microsecond=123000)]  # ms precision
    assert stored[0].power_w == -12.5 and stored[0].export_wh == 0.25
    assert await backend.readings("hh1", START + timedelta(seconds=1), START + timedelta(seconds=1)) == []
    assert (await backend.count_readings(), await backend.count_readings("hh1")) == (3, 2)
    assert await backend.count_readings("nobody") == 0


async def test_a_reading_with_nan_is_skipped(backend: Storage) -> None:
    """SQLite stores NaN as NULL, which NOT NULL plus INSERT OR IGNORE skips; PostgreSQL does the same."""
    assert await backend.insert_readings([reading("hh1", 0, math.nan), reading("hh1", 1)], NOW) == 1
    assert await backend.count_readings() == 1


async def test_rejected_readings_keep_payload_and_reason(backend: Storage) -> None:
    rejected = [
        RejectedReading(
            household_id=None,
            topic="t/1",
            payload=b"\xff\x00not json",
            reason="json",
            message="m",
            received_at=NOW,
        ),
        RejectedReading(
            household_id="hh1", topic="t/2", payload=b"{}", reason="schema", message="", received_at=START
        ),
    ]
    await backend.insert_rejected(rejected)
    await backend.insert_rejected([])
    stored = await backend.rejected_readings()
    assert [(r.household_id, r.payload, r.reason) for r in stored] == [
        (None, b"\xff\x00not json", "json"),
        ("hh1", b"{}", "schema"),
    ]
    assert [r.received_at for r in stored] == [NOW.replace(microsecond=123000), START]


# -- settlement and ledger ---------------------------------------------------------------------------


async def test_settlement_versions_and_exact_decimal_strings(backend: Storage) -> None:
    await with_event(backend, "hh1", "hh2")
    amounts = ["1.360", "0.10", "1E+2", "-0.00", "123456789012345678.000000001"]
    v1 = settlement(1, baseline_kw=math.nan)  # NaN is stored as NULL on both backends
    await backend.save_settlement(v1, [entry(a, credit=f"c{i}") for i, a in enumerate(amounts)])
    v2 = settlement(2, payment="2.5", computed_at=NOW + timedelta(hours=1))
    await backend.save_settlement(v2, [entry("2.5", version=2)])
    other = settlement(1, hid="hh2", payment="0", computed_at=NOW + timedelta(days=2))
    await backend.save_settlement(other, [])

    assert await backend.latest_settlements("e1") == [v2, other]
    window = await backend.household_settlements("hh1", NOW, NOW + timedelta(days=1))
    assert window == [settlement(1, baseline_kw=None), v2]
    assert window[0].evidence == v1.evidence and window[0].parameters == v1.parameters  # byte for byte
    assert await backend.household_settlements("hh1", NOW + timedelta(hours=1), NOW + timedelta(days=1)) == [
        v2
    ]
    assert [e.amount_gbp for e in await backend.ledger("e1")] == [*amounts, "2.5"]
    assert await backend.ledger("e2") == []
    assert (await backend.ledger())[0] == entry("1.360", credit="c0")


async def test_a_failing_ledger_insert_rolls_back_the_settlement(backend: Storage) -> None:
    await with_event(backend, "hh1")
    duplicate = [entry("1.36"), entry("1.36")]  # same (event, household, version, accounts): UNIQUE
    with pytest.raises(DuplicateKey):
        await backend.save_settlement(settlement(), duplicate)
    assert await backend.latest_settlements("e1") == []
    assert await backend.ledger() == []
    await backend.save_settlement(settlement(), [entry("1.36")])  # the same version can now be written
    with pytest.raises(DuplicateKey):  # and not twice
        await backend.save_settlement(settlement(), [entry("9.99", credit="other")])
    assert [e.amount_gbp for e in await backend.ledger()] == ["1.36"]


async def test_the_ledger_is_append_only(backend: Storage) -> None:
    await with_event(backend, "hh1")
    await backend.save_settlement(settlement(), [entry("1.36")])
    with pytest.raises(integrity_error(backend), match="ledger is append-only"):
        await backend.execute_raw("UPDATE ledger SET amount_gbp='100'")
    with pytest.raises(integrity_error(backend), match="ledger is append-only"):
        await backend.execute_raw("DELETE FROM ledger")
    assert [e.amount_gbp for e in await backend.ledger()] == ["1.36"]


async def test_ledger_balances_sum_to_zero(backend: Storage) -> None:
    await with_event(backend, "hh1")
    assert await backend.ledger_balances() == {}
    entries = [
        entry("1.360"),
        entry("1.088", debit="community", credit="hh1"),
        entry("0.1", debit="dso", credit="hh1"),
    ]
    await backend.save_settlement(settlement(), entries)
    balances = await backend.ledger_balances()
    assert balances == {"dso": Decimal("-1.460"), "community": Decimal("0.272"), "hh1": Decimal("1.188")}
    assert sum(balances.values()) == 0


# -- programmes, aggregates and runs -------------------------------------------------------------------


async def test_programmes(backend: Storage) -> None:
    default = await backend.get_programme("default")
    assert default is not None and default.baseline_method == "same_day_type"
    assert await backend.get_programme("nope") is None
    flex = ProgrammeRecord(
        id="flex",
        name="Peak flex",
        baseline_method="high_x_of_y",
        baseline_params={"y": 10, "x": 5, "nested": {"b": [1.5, None], "a": True}},
        adjustment={"kind": "multiplicative", "cap": 0.2},
        payment_curve=((0.0, 0.0), (0.6, 1.0)),
        availability_gbp_per_mw_h="3.50",
        community_share="0.20",
    )
    await backend.upsert_programme(flex, NOW)
    stored = await backend.get_programme("flex")
    assert stored == flex
    assert stored is not None and list(stored.baseline_params) == ["y", "x", "nested"]  # key order kept
    renamed = ProgrammeRecord(id="flex", name="Renamed", community_share="0.25")
    await backend.upsert_programme(renamed, NOW)
    assert await backend.get_programme("flex") == renamed
    await backend.upsert_household(household("hh1"), NOW)
    await backend.create_event(event(programme_id="flex"), ["hh1"])
    assert (await backend.get_event("e1")) == event(programme_id="flex")


async def test_period_energy_nan_is_null(backend: Storage) -> None:
    p = [START + timedelta(minutes=30 * i) for i in range(4)]
    await backend.save_period_energy("hh1", {p[0]: 0.25, p[1]: math.nan, p[2]: -1.5, p[3]: 2.0}, NOW)
    await backend.save_period_energy("hh1", {p[2]: math.nan, p[0]: 0.5}, NOW)  # refreshed
    await backend.save_period_energy("hh2", {p[0]: 9.0}, NOW)
    await backend.save_period_energy("hh1", {}, NOW)
    got = await backend.period_energy("hh1", p[0], p[3])  # end exclusive
    assert list(got) == p[:3]
    assert got[p[0]] == 0.5 and math.isnan(got[p[1]]) and math.isnan(got[p[2]])
    nulls = await backend.execute_raw("SELECT count(*) FROM period_energy WHERE net_kwh IS NULL")
    assert nulls[0][0] == 2
    assert await backend.period_energy("hh3", p[0], p[3]) == {}


async def test_settlement_runs_and_events_ending_between(backend: Storage) -> None:
    await with_event(backend, "hh1")  # 17:30-18:00
    await backend.create_event(event("e2", start=START + timedelta(hours=1)), ["hh1"])  # 18:30-19:00
    ending = await backend.events_ending_between(START, START + timedelta(hours=1))
    assert [e.event_id for e in ending] == ["e1"]
    assert await backend.events_ending_between(START, START + timedelta(minutes=30)) == []  # end exclusive
    await backend.save_settlement_run(NOW, START, START + timedelta(hours=1), 1, 2)
    await backend.save_settlement_run(NOW, START, START + timedelta(hours=2), 2, 0)
    rows = await backend.execute_raw(
        "SELECT events_settled, versions_written FROM settlement_runs ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [(1, 2), (2, 0)]


# -- migrations and concurrency ------------------------------------------------------------------------


async def test_migrations_apply_once_and_reopen_is_idempotent(backend: Storage, reopen: Reopen) -> None:
    assert await backend.migrate() == []
    await backend.upsert_household(household("hh1"), NOW)
    other = await reopen(backend)
    assert await other.migrate() == []
    rows = await other.execute_raw("SELECT version, name FROM schema_migrations ORDER BY version")
    names = [(m.version, m.name) for m in load_migrations("sqlite")]  # the same in both dialects
    assert names[:3] == [(1, "initial"), (2, "programmes_and_runs"), (3, "profiles")]
    assert [tuple(r) for r in rows] == names
    assert await other.get_household("hh1") == household("hh1")


async def test_concurrent_writers_are_safe(backend: Storage) -> None:
    def batch(hid: str, seconds: range) -> list[MeterReading]:
        return [reading(hid, s, float(s)) for s in seconds]

    # Overlapping batches, some in reverse order: every key is stored once, no deadlock, no lost row.
    writes = [backend.insert_readings(batch(f"hh{k % 5}", range(200)), NOW) for k in range(10)]
    writes += [backend.insert_readings(batch(f"hh{k}", range(199, 99, -1)), NOW) for k in range(5)]
    results = await asyncio.gather(*writes, *(backend.count_readings() for _ in range(10)))
    assert sum(results[:15]) == 1000
    assert await backend.count_readings() == 1000
    assert await backend.readings("hh0", START, START + timedelta(seconds=1)) == batch("hh0", range(2))

    await backend.upsert_household(household("hh1"), NOW)
    # One household, one event at a time: 20 disjoint windows all stored, however the writers interleave.
    at = [START + timedelta(hours=n) for n in range(20)]
    await asyncio.gather(*(backend.create_event(event(f"e{n}", at[n]), ["hh1"]) for n in range(20)))
    assert len(await backend.list_events()) == 20
    reports = [("p", START + timedelta(seconds=s), float(s)) for s in range(50)]
    await asyncio.gather(
        *(backend.save_ven_reports("ven-x", "rr", reports[:: 1 if n % 2 else -1], NOW) for n in range(10))
    )
    assert len(await backend.ven_reports("ven-x")) == 50
