"""The VTN's scale path (homeflex.vtn.poll): rendered answers are openleadr's own, the per-worker poll
state follows the database, and 200 VENs speaking OpenADR 2.0b XML (bench/vtn_load.py) all register,
get one event and answer it. Timings are for bench/ (`python -m bench vtn_scale`), not asserted here."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from openleadr.messaging import create_message, parse_message, validate_xml_schema

from bench.vtn_load import (
    LoadPlan,
    check_schema,
    created_event_fast,
    created_event_message,
    poll_message,
    run_plan,
)
from homeflex.core.clock import ManualClock, WallClock
from homeflex.core.domain import Category
from homeflex.storage import PostgresStorage, SQLiteStorage, Storage
from homeflex.storage.records import EventRecord, HouseholdRecord
from homeflex.vtn.events import openadr_event
from homeflex.vtn.poll import PollState, Renderer, created_event_responses, poll_ven_id
from homeflex.vtn.service import VtnService
from tests.storage.conftest import POSTGRES_URL

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def flex_event(event_id: str = "ev1", modification: int = 0, status: str = "scheduled") -> EventRecord:
    return EventRecord(
        event_id=event_id,
        modification_number=modification,
        status=status,
        start=NOW + timedelta(minutes=30),
        duration=timedelta(minutes=30),
        reduction_kw=2.0,
        price_gbp_per_mwh=1812.0,
        created_at=NOW,
    )


def without_request_ids(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in ("request_id", "response")}


def test_rendered_distribute_event_is_openleadrs_own_for_each_ven() -> None:
    renderer = Renderer("HOMEFLEX-VTN")
    events = [flex_event("ev1"), flex_event("ev2", modification=3, status="cancelled")]
    first = renderer.distribute(events, "ven-a", NOW)
    second = renderer.distribute(events, "ven-other", NOW)
    for text in (first, second):
        validate_xml_schema(text)
    msg_type, ours = parse_message(first)
    _, reference = parse_message(
        create_message(
            "oadrDistributeEvent",
            events=[openadr_event(e, "ven-a", NOW) for e in events],
            vtn_id="HOMEFLEX-VTN",
            response={"response_code": 200, "response_description": "OK", "request_id": None},
            request_id="x",
        )
    )
    assert msg_type == "oadrDistributeEvent"
    assert without_request_ids(ours) == without_request_ids(reference)
    assert ours["events"][0]["targets"] == [{"ven_id": "ven-a"}]
    assert ours["events"][1]["event_descriptor"]["event_status"] == "cancelled"
    assert parse_message(second)[1]["events"][0]["targets"] == [{"ven_id": "ven-other"}]
    # A venID is escaped (openleadr's templates would not escape it and produce invalid XML).
    odd = parse_message(renderer.distribute(events, "ven-a&b<c", NOW))[1]
    assert odd["events"][0]["targets"] == [{"ven_id": "ven-a&b<c"}]
    assert ours["request_id"] != parse_message(second)[1]["request_id"]  # fresh per message


def test_rendered_empty_answer_is_an_oadr_response_to_that_ven() -> None:
    text = Renderer("HOMEFLEX-VTN").empty("ven-&1")
    validate_xml_schema(text)
    msg_type, payload = parse_message(text)
    assert msg_type == "oadrResponse"
    assert (payload["ven_id"], payload["response"]["response_code"]) == ("ven-&1", 200)


def test_only_valid_unsigned_polls_and_answers_are_taken_by_the_fast_path() -> None:
    assert poll_ven_id(poll_message("ven-hh1")) == "ven-hh1"
    answer = created_event_message("ven-hh1", "r1", [("ev-1", 0), ("ev-2", 4)])
    assert created_event_responses(answer) == (
        "ven-hh1",
        [
            {"event_id": "ev-1", "modification_number": 0, "opt_type": "optIn"},
            {"event_id": "ev-2", "modification_number": 4, "opt_type": "optIn"},
        ],
    )
    assert created_event_responses(poll_message("ven-hh1")) is None
    assert poll_ven_id(answer) is None
    assert poll_ven_id(b"<not-xml") is None
    assert poll_ven_id(poll_message("ven-hh1").replace(b"venID", b"venId")) is None  # schema-invalid
    request_event = create_message("oadrRequestEvent", ven_id="ven-hh1", request_id="r1").encode()
    assert poll_ven_id(request_event) is None


def test_load_generator_messages_are_valid_openadr() -> None:
    created = created_event_fast("ven-hh1", "req-1", [("ev-1", 2)])
    check_schema(poll_message("ven-hh1"), created)
    _, payload = parse_message(created)
    assert payload["event_responses"][0]["event_id"] == "ev-1"
    assert payload["event_responses"][0]["modification_number"] == 2


async def enrol(storage: Storage, ids: list[str], group: str = "g") -> None:
    for hid in ids:
        await storage.upsert_household(HouseholdRecord(id=hid, group=group, category=Category.A), NOW)


async def second_handle(storage: Storage) -> Storage:
    """Another connection to the same database, as a second VTN worker has."""
    if isinstance(storage, SQLiteStorage):
        return await SQLiteStorage.open(storage.path)
    assert isinstance(storage, PostgresStorage)
    return await PostgresStorage.open(POSTGRES_URL, schema=storage.schema)


async def test_two_workers_poll_state_follows_the_shared_database(backend: Storage) -> None:
    other = await second_handle(backend)
    try:
        await check_two_workers(backend, other)
    finally:
        await other.close()


async def check_two_workers(backend: Storage, other: Storage) -> None:
    clock = ManualClock(NOW)
    # Both read the database before every answer (max_stale_s=0); worker two never re-reads who answered.
    one = PollState(backend, clock, refresh_s=0.0, resync_s=0.0, max_stale_s=0.0)
    two = PollState(other, clock, refresh_s=0.0, resync_s=3600.0, max_stale_s=0.0)
    await enrol(backend, ["h1", "h2"])
    await backend.create_event(flex_event("ev1"), ["h1"])

    assert [e.event_id for e in await two.pending("h1", NOW)] == ["ev1"]  # created through worker one
    assert await two.pending("h2", NOW) == []
    assert (two.targeted("ev1", "h1"), two.targeted("ev1", "h2"), two.targeted("nope", "h1")) == (
        True,
        False,
        None,
    )
    # h1 answers through worker two: that worker stops sending at once, worker one on its next resync.
    await other.record_opts([("ev1", "h1", 0, "optIn", NOW)])
    two.answered("ev1", "h1", 0)
    assert await two.pending("h1", NOW) == []
    assert await one.pending("h1", NOW) == []
    # A cancellation through worker one is a new modification: worker two sends it again.
    await backend.cancel_event("ev1", NOW)
    pending = await two.pending("h1", NOW)
    assert [(e.event_id, e.modification_number, e.status) for e in pending] == [("ev1", 1, "cancelled")]
    two.answered("ev1", "h1", 0)  # an answer to the old modification does not count
    assert len(await two.pending("h1", NOW)) == 1
    # An event that has ended is never sent.
    await clock.advance(7200)
    assert await two.pending("h1", clock.now()) == []


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, str]:
    async with session.post(url, data=body, headers={"content-type": "application/xml"}) as r:
        return r.status, await r.text()


async def no_settle(event_id: str) -> list[Any]:
    return []


async def test_200_vens_over_openadr_all_get_the_event_and_their_answers_are_stored(
    storage: SQLiteStorage, uid: str
) -> None:
    names = [f"s{uid}{i:03d}" for i in range(200)]
    await enrol(storage, names, group=f"g{uid}")
    async with VtnService(storage, WallClock(), no_settle, port=0, poll_interval=timedelta(seconds=1)) as vtn:
        start = time.time() + 0.5
        # Bounded at 60 s, stopped as soon as every answer is stored: no timing is asserted.
        plan = LoadPlan(
            base_url=vtn.url, ven_names=tuple(names), poll_s=1.0, start_at=start, end_at=start + 60.0
        )
        stop = asyncio.Event()
        load = asyncio.ensure_future(run_plan(plan, stop))
        await asyncio.sleep(1.5)
        async with aiohttp.ClientSession() as session:
            body = {
                "group": f"g{uid}",
                "start": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                "duration_minutes": 30,
                "reduction_kw": 1.0,
                "price_gbp_per_mwh": 500.0,
            }
            async with session.post(f"{vtn.url}/api/events", json=body) as r:
                assert r.status == 201
                event_id = (await r.json())["event_id"]
            async with asyncio.timeout(60):
                while any(t.opt_type is None for t in await storage.event_targets(event_id)):
                    await asyncio.sleep(0.2)
            stop.set()
            result = await load
            # Outside the fast path, openleadr still answers: an unknown VEN is asked to register,
            # a message that fails the schema gets HTTP 400.
            status, text = await post(session, f"{vtn.openadr_url}/OadrPoll", poll_message("ven-nobody"))
            assert (status, parse_message(text)[0]) == (200, "oadrRequestReregistration")
            status, _ = await post(session, f"{vtn.openadr_url}/OadrPoll", b"<oadrPoll/>")
            assert status == 400
    assert (result.registered, result.refused, result.errors) == (200, 0, 0)
    assert sorted(result.first_seen) == [event_id]
    assert len(result.first_seen[event_id]) == 200  # every VEN got it, once
    assert result.acks == 200
    targets = await storage.event_targets(event_id)
    answers = [(t.sent_modification, t.acked_modification, t.opt_type) for t in targets]
    assert answers == [(0, 0, "optIn")] * 200


async def test_a_worker_answers_from_its_last_read_while_the_database_is_away(tmp_path: Any) -> None:
    storage = await SQLiteStorage.open(tmp_path / "vtn.db")
    await enrol(storage, ["h1"])
    await storage.create_event(flex_event("ev1"), ["h1"])
    state = PollState(storage, ManualClock(NOW), refresh_s=0.0, max_stale_s=3600.0)
    assert [e.event_id for e in await state.pending("h1", NOW)] == ["ev1"]  # the first read is awaited
    await storage.close()  # the database goes away
    assert [e.event_id for e in await state.pending("h1", NOW)] == ["ev1"]  # a re-read starts and fails
    await asyncio.sleep(0.05)
    assert [e.event_id for e in await state.pending("h1", NOW)] == ["ev1"]  # still the last read
    state.max_stale_s = 0.0  # too old now: the poll waits for a read, and fails with the database
    with pytest.raises(ValueError, match="Connection closed"):
        await state.pending("h1", NOW)
