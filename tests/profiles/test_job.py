"""The stage-1 profile job: learned from stored readings (simulator history), stored as versions, shown."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.domain import Category, MeterReading
from homeflex.core.timeutil import parse_utc
from homeflex.profiles import (
    Coverage,
    DayTypeLoad,
    EvProfile,
    EvSession,
    HeatPumpFit,
    HouseholdProfile,
    ReadinessRule,
)
from homeflex.profiles.job import (
    half_hourly_energy,
    learn_all,
    learn_and_store,
    profile_summary,
    stored_profile,
)
from homeflex.sim.history import generate_history
from homeflex.sim.population import build_household, make_population
from homeflex.storage import CorruptRecordError, Storage
from homeflex.storage.records import HouseholdRecord

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday; Europe/London is on UTC in November
LEARNED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def with_history(storage: Storage, days: float, households: int = 1) -> list[str]:
    """Enrol simulated households and store `days` of their meter readings from START."""
    configs = make_population(households, seed=3)
    history = generate_history(
        [(c.spec.id, build_household(c)) for c in configs], START, START + timedelta(days=days)
    )
    for c in configs:
        await storage.upsert_household(HouseholdRecord(id=c.spec.id, group="g", category=Category.B), START)
        readings = [
            MeterReading(
                household_id=c.spec.id,
                ts=parse_utc(str(r["ts"])),
                import_wh=float(str(r["import_wh"])),
                export_wh=float(str(r["export_wh"])),
                power_w=float(str(r["power_w"])),
            )
            for r in history[c.spec.id]
        ]
        await storage.insert_readings(readings, START)
    return [c.spec.id for c in configs]


async def test_fifteen_days_of_history_are_ready(backend: Storage) -> None:
    (hid,) = await with_history(backend, 15)
    record = await learn_and_store(backend, hid, START + timedelta(days=15), learned_at=LEARNED)
    assert (record.version, record.ready, record.learned_at) == (1, True, LEARNED)
    assert record.reasons[0] == "15 of 14 days observed"
    profile = stored_profile(record)
    assert profile.version == 1
    assert profile.coverage.fraction == 1.0
    assert profile.weekday.days + profile.weekend.days == 15
    assert await backend.latest_profile(hid) == record


async def test_three_days_are_not_ready_and_say_why(backend: Storage) -> None:
    (hid,) = await with_history(backend, 3)
    record = await learn_and_store(backend, hid, START + timedelta(days=3))
    assert record.ready is False
    assert "3 of 14 days observed" in record.reasons
    assert "0 of 2 weekend or bank-holiday days observed" in record.reasons
    versions = await backend.profile_versions(hid)
    assert [(v.version, v.ready, v.reasons) for v in versions] == [(1, False, record.reasons)]


async def test_a_version_is_added_only_when_something_changed(backend: Storage) -> None:
    (hid,) = await with_history(backend, 15)
    first = await learn_and_store(backend, hid, START + timedelta(days=10), learned_at=LEARNED)
    same = await learn_and_store(
        backend, hid, START + timedelta(days=10), learned_at=LEARNED + timedelta(hours=1)
    )
    assert same == first  # nothing new: the version and its learned_at stay
    later = await learn_and_store(backend, hid, START + timedelta(days=15), learned_at=LEARNED)
    assert (first.ready, later.ready, later.version) == (False, True, 2)
    assert [v.version for v in await backend.profile_versions(hid)] == [1, 2]


async def test_a_stricter_rule_alone_makes_a_new_version(backend: Storage) -> None:
    (hid,) = await with_history(backend, 15)
    as_of = START + timedelta(days=15)
    assert (await learn_and_store(backend, hid, as_of)).ready
    strict = await learn_and_store(backend, hid, as_of, ReadinessRule(min_days=21))
    assert (strict.version, strict.ready, strict.reasons) == (2, False, ("15 of 21 days observed",))


async def test_readings_that_stop_early_lower_the_coverage(backend: Storage) -> None:
    (hid,) = await with_history(backend, 15)
    record = await learn_and_store(backend, hid, START + timedelta(days=20))
    assert not record.ready
    assert any(r.startswith("coverage 75 % < 80 %") for r in record.reasons)


async def test_no_readings_is_not_ready(backend: Storage) -> None:
    await backend.upsert_household(HouseholdRecord(id="quiet", group="g", category=Category.A), START)
    assert await half_hourly_energy(backend, "quiet", START, START + timedelta(days=1)) == {}
    record = await learn_and_store(backend, "quiet", START + timedelta(days=1))
    assert (record.ready, record.reasons) == (False, ("no readings", "0 of 14 days observed"))


async def test_unknown_household_is_a_clear_error(backend: Storage) -> None:
    with pytest.raises(LookupError, match="unknown household 'nobody'"):
        await learn_and_store(backend, "nobody", START)


async def test_learn_all_skips_a_corrupt_household_and_says_so(backend: Storage) -> None:
    first, second = await with_history(backend, 15, households=2)
    # A version as a faulty writer might have left it (plain SQL that both dialects accept).
    await backend.execute_raw(
        f"INSERT INTO profiles VALUES ('{first}', 1, '2026-11-10T00:00:00.000000Z',"
        " '2026-11-10T00:00:00.000000Z', false, '[]', '{broken')"
    )
    result = await learn_all(backend, START + timedelta(days=15), learned_at=LEARNED)
    assert [r.household_id for r in result.records] == [second]
    assert result.records[0].ready
    assert list(result.failed) == [first]
    assert f"household '{first}' version 1 is corrupt: its profile is not valid JSON" in result.failed[first]


async def test_a_stored_document_that_is_no_profile_is_a_clear_error(backend: Storage) -> None:
    await backend.upsert_household(HouseholdRecord(id="hh1", group="g", category=Category.A), START)
    record = await backend.save_profile(
        "hh1", as_of=START, learned_at=START, ready=False, reasons=[], profile={"schema": 1}
    )
    with pytest.raises(CorruptRecordError, match="'hh1' version 1 is corrupt: missing key 'coverage'"):
        stored_profile(record)
    future = await backend.save_profile(
        "hh1", as_of=START, learned_at=START, ready=False, reasons=[], profile={"schema": 99}
    )
    with pytest.raises(CorruptRecordError, match="version 2 is corrupt: unsupported profile schema 99"):
        stored_profile(future)


# -- the summary people read -----------------------------------------------------------------------


def _load(days: int, kwh: float) -> DayTypeLoad:
    means = tuple(kwh * (2 if slot == 35 else 1) for slot in range(48))
    return DayTypeLoad(days=days, mean_kwh=means, p10_kwh=means, p90_kwh=means, samples=(days,) * 48)


def test_summary_names_coverage_day_types_and_devices() -> None:
    session = EvSession(plug_in=START, plug_out=START + timedelta(hours=3), energy_kwh=21.0)
    profile = HouseholdProfile(
        household_id="hh1",
        version=3,
        as_of=START,
        coverage=Coverage(days_observed=15, expected_periods=720, measured_periods=590),
        weekday=_load(11, 0.25),
        weekend=DayTypeLoad(
            days=0,
            mean_kwh=(math.nan,) * 48,
            p10_kwh=(math.nan,) * 48,
            p90_kwh=(math.nan,) * 48,
            samples=(0,) * 48,
        ),
        ev=EvProfile(
            sessions=(session,),
            typical_plug_in_hour=18.5,
            typical_duration_h=3.0,
            mean_energy_kwh=21.0,
            median_energy_kwh=21.0,
        ),
        heat_pump=HeatPumpFit(intercept_kw=2.0, slope_kw_per_c=-0.1, r_squared=0.9, samples=300),
    )
    assert profile_summary(profile) == [
        "coverage: 15 days observed, 590 of 720 half-hours measured (81 %)",
        "weekday base load: 11 days, 12.2 kWh/day, peak 17:30-18:00 local (0.50 kWh)",
        "weekend base load: no data",
        "EV: 1 sessions, plug-in ~18:30 local, 3.0 h, 21.0 kWh (median)",
        "heat pump: kW = 2.00 - 0.100 x outdoor °C (R² 0.90, 300 half-hours)",
    ]


async def test_summary_of_a_learned_profile_says_no_devices(backend: Storage) -> None:
    (hid,) = await with_history(backend, 3)
    lines = profile_summary(stored_profile(await learn_and_store(backend, hid, START + timedelta(days=3))))
    assert lines[0] == "coverage: 3 days observed, 144 of 144 half-hours measured (100 %)"
    assert lines[1].startswith("weekday base load: 3 days, ")
    assert lines[-1] == "devices: none learned"
