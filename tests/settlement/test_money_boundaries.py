"""Trust boundaries around money, on both storage backends: a household is in one event at a time, a
late opt-in is kept but unpaid, and settlement fetches the history its baseline method reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from homeflex.core.domain import Category
from homeflex.settlement.settler import settle_event
from homeflex.storage import OverlappingEventError, Storage
from homeflex.storage.records import EventRecord, HouseholdRecord, ProgrammeRecord
from tests.settlement.test_settler import AFTER, EVENT, add_event_readings, readings, setup


def second_event(start_minutes: int, event_id: str = "e2") -> EventRecord:
    return EventRecord(
        event_id=event_id,
        modification_number=0,
        status="scheduled",
        start=EVENT + timedelta(minutes=start_minutes),
        duration=timedelta(minutes=30),
        reduction_kw=2.0,
        price_gbp_per_mwh=1812.0,
        created_at=EVENT - timedelta(hours=1),
    )


async def test_an_overlapping_event_for_the_same_household_is_refused_and_stores_nothing(
    backend: Storage,
) -> None:
    await setup(backend)
    await add_event_readings(backend, kw=0.5)
    await backend.upsert_household(HouseholdRecord(id="hh2", group="g", category=Category.B), EVENT)
    # Before: both events stored, each settled against the same baseline, so 1 kWh was paid twice.
    with pytest.raises(OverlappingEventError, match="hh1 already in event e1"):
        await backend.create_event(second_event(15), ["hh2", "hh1"])
    assert [e.event_id for e in await backend.list_events()] == ["e1"]
    assert await backend.event_targets("e2") == []
    # Back to back is not an overlap, and another household may have its own event at that time.
    await backend.create_event(second_event(30), ["hh1"])
    await backend.create_event(second_event(0, "e3"), ["hh2"])
    # A cancelled event no longer holds its households.
    await backend.cancel_event("e3", EVENT - timedelta(minutes=40))
    await backend.create_event(second_event(-15, "e4"), ["hh2"])
    [paid] = await settle_event(backend, "e1", AFTER)
    assert paid.payment_gbp == "1.81"  # 1 kWh at £1,812/MWh, once


async def test_an_opt_in_after_the_event_ended_is_recorded_as_late_and_not_paid(backend: Storage) -> None:
    await setup(backend, opt_at=AFTER - timedelta(hours=1))  # the event ended at EVENT + 30 min
    await add_event_readings(backend, kw=0.5)
    [target] = await backend.event_targets("e1")
    assert target.opt_type == "optIn" and target.late_opt_in(EVENT)  # kept: the VEN's answer is a fact
    [s] = await settle_event(backend, "e1", AFTER)
    assert (s.status, s.payment_gbp, s.instructed_kwh) == ("late_opt_in", "0.00", 0.0)
    assert await backend.ledger("e1") == []


async def test_an_opt_in_repeated_after_the_start_keeps_the_time_it_was_first_given(
    backend: Storage,
) -> None:
    await setup(backend)  # opted in 50 minutes before the start
    await backend.record_opt("e1", "hh1", 0, "optIn", EVENT + timedelta(minutes=10))
    await backend.record_opts([("e1", "hh1", 0, "optIn", EVENT + timedelta(minutes=20))])
    [target] = await backend.event_targets("e1")
    assert target.opt_at == EVENT - timedelta(minutes=50)
    await add_event_readings(backend, kw=0.5)
    [s] = await settle_event(backend, "e1", AFTER)
    assert (s.status, s.payment_gbp) == ("settled", "1.81")


async def test_n_in_n_with_its_default_lookback_finds_history_older_than_three_weeks(
    backend: Storage,
) -> None:
    # n_in_n looks back 45 days by default. The meter was offline for the last 20 days before the
    # event, so its 10 weekdays lie 20-40 days back. Before, settlement fetched 22 days: insufficient.
    await backend.upsert_programme(
        ProgrammeRecord(id="dfs", name="DFS-like", baseline_method="n_in_n"), EVENT
    )
    await backend.upsert_household(HouseholdRecord(id="hh1", group="g", category=Category.B), EVENT)
    old = readings("hh1", lambda t: 2.5, EVENT - timedelta(days=40), EVENT - timedelta(days=20))
    await backend.insert_readings(
        [*old, *readings("hh1", lambda t: 2.5, EVENT - timedelta(hours=1), EVENT)], EVENT
    )
    await backend.create_event(replace(second_event(0, "e1"), programme_id="dfs"), ["hh1"])
    await backend.record_opt("e1", "hh1", 0, "optIn", EVENT - timedelta(minutes=50))
    await add_event_readings(backend, kw=0.5)
    [s] = await settle_event(backend, "e1", AFTER)
    assert (s.status, s.baseline_kw, s.actual_kw, s.payment_gbp) == ("settled", 2.5, 0.5, "1.81")


def test_rules_fetch_what_their_method_reads() -> None:
    from homeflex.settlement.programme import rules_from_record

    def days(method: str, **params: object) -> float:
        record = ProgrammeRecord(id="p", name="p", baseline_method=method, baseline_params=params)
        return rules_from_record(record).lookback / timedelta(days=1)

    assert days("n_in_n") == 46 and days("x_of_y") == 46 and days("pjm_match_day") == 46
    assert days("n_in_n", lookback_days=60) == 61
    assert days("same_day_type") == 22 and days("same_day_type", weeks=6) == 43
    assert days("pjm_same_day") == 1
    ratio = ProgrammeRecord(
        id="p",
        name="p",
        baseline_method="pjm_same_day",
        adjustment={"kind": "ratio", "window_offset": -7200, "window_length": 7200},
    )
    assert rules_from_record(ratio).lookback == timedelta(days=1, hours=2)


async def test_the_meters_reading_wins_over_an_uploaded_one_for_the_same_time(backend: Storage) -> None:
    await backend.upsert_household(HouseholdRecord(id="hh1", group="g", category=Category.B), EVENT)
    t0 = EVENT - timedelta(hours=2)
    upload = [replace(r, source="upload") for r in readings("hh1", lambda t: 9.0, t0, EVENT)]
    meter = readings("hh1", lambda t: 1.0, t0, EVENT)
    assert await backend.insert_readings(upload, t0) == 5
    # Before: the upload was stored first, so the meter's readings were dropped as duplicates.
    assert await backend.insert_readings(meter, EVENT) == 5
    stored = await backend.readings("hh1", t0, EVENT)
    assert stored == meter and {r.source for r in stored} == {"meter"}
    assert await backend.insert_readings(upload, AFTER) == 0  # an upload never displaces the meter
    assert await backend.readings("hh1", t0, EVENT) == meter
    # In one batch, too, the meter's reading is the one kept, whatever the order.
    later = EVENT + timedelta(hours=1)
    assert (
        await backend.insert_readings(
            [replace(meter[0], ts=later, source="upload"), replace(meter[1], ts=later)], AFTER
        )
        == 1
    )
    [kept] = await backend.readings("hh1", later, later)
    assert (kept.source, kept.import_wh) == ("meter", meter[1].import_wh)


def test_a_period_the_meter_measured_takes_the_meters_energy_not_an_uploads() -> None:
    from homeflex.core.timeutil import periods
    from homeflex.metering.energy import period_energy_kwh

    t0 = EVENT - timedelta(hours=2)
    upload = [replace(r, source="upload") for r in readings("hh1", lambda t: 9.0, t0, EVENT)]
    meter = readings("hh1", lambda t: 1.0, EVENT - timedelta(hours=1), EVENT)  # registers far apart
    meter = [replace(r, import_wh=r.import_wh + 123_456.0) for r in meter]
    energy = period_energy_kwh([*upload, *meter], periods(t0, EVENT))
    assert list(energy.values()) == pytest.approx([4.5, 4.5, 0.5, 0.5])  # never meter minus upload


async def test_an_event_stored_with_an_absurd_price_is_refused_by_settlement_not_crashed_on(
    backend: Storage,
) -> None:
    from homeflex.settlement.limits import UnsettleableEventError
    from homeflex.settlement.settler import settle_period

    await setup(backend)
    await add_event_readings(backend, kw=0.5)
    # Written past the API (or before its bounds): before, settling it raised decimal.InvalidOperation,
    # a 500 from the API and a traceback from `homeflex settle --from/--to`, and nothing else was settled.
    await backend.create_event(replace(second_event(60, "huge"), price_gbp_per_mwh=1e300), ["hh1"])
    with pytest.raises(UnsettleableEventError, match=r"event huge cannot be settled: price 1e\+300"):
        await settle_event(backend, "huge", AFTER)
    day = EVENT.replace(hour=0, minute=0)
    written = await settle_period(backend, day, day + timedelta(days=1), AFTER)
    assert [(w.event_id, w.payment_gbp) for w in written] == [("e1", "1.81")]
    assert await backend.latest_settlements("huge") == []


async def test_overlapping_events_stored_before_the_check_pay_the_overlap_once(
    backend: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await setup(backend)
    await add_event_readings(backend, kw=0.5)

    async def no_check(*_: object) -> None:  # a database written before storage refused overlaps
        return None

    monkeypatch.setattr(backend, "_refuse_overlap", no_check)
    later = replace(second_event(0), created_at=EVENT - timedelta(minutes=55))  # created after e1
    await backend.create_event(later, ["hh1"])
    await backend.record_opt("e2", "hh1", 0, "optIn", EVENT - timedelta(minutes=50))
    [first] = await settle_event(backend, "e1", AFTER)
    [second] = await settle_event(backend, "e2", AFTER)
    # Before: each paid £1.81 for the same 1 kWh.
    assert (first.status, first.payment_gbp) == ("settled", "1.81")
    assert (second.status, second.payment_gbp) == ("overlaps_event", "0.00")
    assert sum(Decimal(e.amount_gbp) for e in await backend.ledger() if e.debit_account == "dso") == Decimal(
        "1.81"
    )
