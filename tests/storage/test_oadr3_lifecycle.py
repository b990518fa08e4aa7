"""OpenADR 3.1 programs and the event lifecycle in storage (issue 16), on SQLite and PostgreSQL alike:
program documents beside settlement terms, event modification with target changes, and filtered pages."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from homeflex.core.domain import Category
from homeflex.storage import OverlappingEventError, Storage
from homeflex.storage.records import EventQuery, EventRecord, HouseholdRecord, ProgrammeRecord

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def event(eid: str, start_h: float, programme: str = "default", **changes: object) -> EventRecord:
    base = EventRecord(
        event_id=eid,
        modification_number=0,
        status="scheduled",
        start=NOW + timedelta(hours=start_h),
        duration=timedelta(minutes=30),
        reduction_kw=2.0,
        price_gbp_per_mwh=100.0,
        created_at=NOW,
        programme_id=programme,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def enrol(backend: Storage, *ids: str, group: str = "north") -> None:
    for hid in ids:
        await backend.upsert_household(HouseholdRecord(id=hid, group=group, category=Category.B), NOW)


async def test_program_document_is_kept_beside_settlement_terms(backend: Storage) -> None:
    doc = {"programDescriptions": [{"URL": "https://dso.example/p"}], "targets": ["north"]}
    await backend.put_oadr3_program("p1", "P one", doc, NOW)
    got = await backend.get_oadr3_program("p1")
    assert got is not None and (got.name, got.document, got.created_at, got.modified_at) == (
        "P one",
        doc,
        NOW,
        NOW,
    )
    # Settlement terms set by the operator survive a 3.1 update, which changes only name and document.
    await backend.upsert_programme(ProgrammeRecord(id="p1", name="P one", community_share="0.1"), NOW)
    later = NOW + timedelta(minutes=5)
    await backend.put_oadr3_program("p1", "P renamed", {}, later)
    got = await backend.get_oadr3_program("p1")
    assert got is not None and (got.name, got.document, got.created_at, got.modified_at) == (
        "P renamed",
        {},
        NOW,
        later,
    )
    programme = await backend.get_programme("p1")
    assert programme is not None and programme.community_share == "0.1"
    default = await backend.get_oadr3_program("default")  # made by a migration: no document
    assert default is not None and default.document == {}
    assert [p.id for p in await backend.list_oadr3_programs()][-1] == "p1"


async def test_a_programme_with_events_is_not_deleted(backend: Storage) -> None:
    await enrol(backend, "h1")
    await backend.put_oadr3_program("p1", "P1", {}, NOW)
    await backend.put_oadr3_program("p2", "P2", {}, NOW)
    await backend.create_event(event("e1", 1, "p1"), ["h1"])
    assert await backend.delete_programme("p1") is None
    assert await backend.delete_programme("p2") is True
    assert await backend.delete_programme("p2") is False
    assert await backend.get_programme("p1") is not None and await backend.get_programme("p2") is None


async def test_modification_replaces_window_payload_and_targets_and_bumps_the_number(
    backend: Storage,
) -> None:
    await enrol(backend, "h1", "h2", "h3")
    doc = {"eventName": "first", "priority": 1}
    await backend.create_event(event("e1", 1, name="first", document=doc), ["h1", "h2"])
    await backend.record_opt("e1", "h1", 0, "optIn", NOW)
    later = NOW + timedelta(minutes=1)
    changed = event(
        "e1", 2, reduction_kw=3.0, name="second", document={"eventName": "second"}, modified_at=later
    )
    stored = await backend.modify_event(changed, ["h1", "h3"])
    assert stored is not None
    assert (stored.modification_number, stored.start, stored.reduction_kw, stored.name) == (
        1,
        NOW + timedelta(hours=2),
        3.0,
        "second",
    )
    assert (stored.document, stored.modified_at, stored.created_at) == ({"eventName": "second"}, later, NOW)
    targets = {t.household_id: t.acked_modification for t in await backend.event_targets("e1")}
    assert targets == {"h1": 0, "h3": None}  # h2 removed; h1 answered an older modification: asked again
    assert [e.event_id for e in await backend.events_for_poll("h1", NOW)] == ["e1"]
    await backend.cancel_event("e1", later)
    assert await backend.modify_event(changed, ["h1"]) is None
    assert await backend.modify_event(event("nope", 1), ["h1"]) is None


async def test_event_pages_filter_in_sql(backend: Storage) -> None:
    await enrol(backend, "h1", "h2")
    await enrol(backend, "s1", group="south")
    await backend.put_oadr3_program("p2", "P2", {}, NOW)
    await backend.create_event(event("e1", 1), ["h1"])
    await backend.create_event(event("e2", 2, "p2"), ["h2"])
    await backend.create_event(event("e3", 3), ["s1"])
    await backend.create_event(event("e0", -2), ["h1"])  # over
    await backend.create_event(event("e4", 4), ["h1", "s1"])
    await backend.cancel_event("e4", NOW)

    async def ids(**kw: object) -> list[str]:
        return [e.event_id for e, _ in await backend.events_page(EventQuery(**kw))]  # type: ignore[arg-type]

    assert await ids() == ["e0", "e1", "e2", "e3"]
    assert await ids(skip=1, limit=2) == ["e1", "e2"]
    assert await ids(limit=0) == []
    assert await ids(program_ids=("p2",)) == ["e2"]
    assert await ids(program_ids=("p2", "default")) == ["e0", "e1", "e2", "e3"]
    assert await ids(targets=("h2", "s1")) == ["e2", "e3"]  # any of them
    assert await ids(targets=("south",)) == ["e3"]  # a group name targets its households
    assert await ids(targets=("nobody",)) == []
    assert await ids(visible_to=("h1",)) == ["e0", "e1"]
    assert await ids(visible_to=()) == []
    assert await ids(ended_after=NOW) == ["e1", "e2", "e3"]
    assert await ids(ended_after=NOW, started_after=NOW + timedelta(hours=1.5)) == ["e2", "e3"]
    page = await backend.events_page(EventQuery(targets=("h1",), ended_after=NOW))
    assert [(e.event_id, t) for e, t in page] == [("e1", ["h1"])]


async def test_live_events_are_those_not_ended_cancelled_or_not(backend: Storage) -> None:
    await enrol(backend, "h1")
    await backend.create_event(event("past", -2), ["h1"])
    await backend.create_event(event("now", -0.25), ["h1"])  # started a quarter of an hour ago, 30 min long
    await backend.create_event(event("later", 1), ["h1"])
    await backend.cancel_event("later", NOW)
    assert [e.event_id for e in await backend.live_events(NOW)] == ["now", "later"]
    moved = event("past", 3, modified_at=NOW)
    assert await backend.modify_event(moved, ["h1"]) is not None  # its end moves with it
    assert [e.event_id for e in await backend.live_events(NOW)] == ["now", "later", "past"]


async def test_migration_backfills_the_end_of_events_stored_before_it(backend: Storage) -> None:
    """Events stored before migration 0011 get ends_ms from the migration's own UPDATE, so the poll
    state (live_events) still sees them after an upgrade."""
    await enrol(backend, "h1")
    await backend.create_event(event("old", 1), ["h1"])
    await backend.execute_raw("UPDATE events SET ends_ms = NULL")
    assert await backend.live_events(NOW) == []
    dialect = "postgres" if type(backend).__name__.startswith("Postgres") else "sqlite"
    sql = (
        resources.files("homeflex.storage") / "migrations" / dialect / "0011_oadr3_lifecycle.sql"
    ).read_text()
    [backfill] = [line for line in sql.splitlines() if line.startswith("UPDATE events SET ends_ms")]
    await backend.execute_raw(backfill.rstrip(";"))
    assert [e.event_id for e in await backend.live_events(NOW + timedelta(hours=1, minutes=29))] == ["old"]
    assert await backend.live_events(NOW + timedelta(hours=1, minutes=30)) == []


async def test_a_modification_onto_another_events_window_is_refused(backend: Storage) -> None:
    """Moving an event onto another's half-hour for a household in both would pay that energy twice: the
    modification is refused and nothing of it is stored; moving it within its own window is fine."""
    await enrol(backend, "h1", "h2")
    await backend.create_event(event("a", 1), ["h1"])
    await backend.create_event(event("b", 2), ["h1", "h2"])
    with pytest.raises(OverlappingEventError, match="h1 already in event a"):
        await backend.modify_event(event("b", 1), ["h1", "h2"])
    kept = await backend.get_event("b")
    assert kept is not None and kept.start == NOW + timedelta(hours=2) and kept.modification_number == 0
    assert await backend.modify_event(event("b", 1), ["h2"]) is not None  # without h1 it may move
    assert await backend.modify_event(event("a", 1.25), ["h1"]) is not None  # a moves within itself
