"""Two VTN workers on one PostgreSQL schema serve the same VENs, as behind a load balancer: a VEN
registered through one worker polls the other and gets the event created through the first, answers
through either, and a cancellation through either reaches it; a push-mode VEN is pushed an event
exactly once between the two workers. Both workers run in this process (two
VtnService instances, two connection pools); openleadr's class-level VEN lookup is then shared between
them, which is harmless here because each answers from the same database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from openleadr import OpenADRClient
from openleadr.messaging import parse_message

from bench.vtn_load import created_event_message, poll_message, registration_message
from homeflex.core.clock import WallClock
from homeflex.core.domain import Category
from homeflex.storage import PostgresStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.ven.push import PushEndpoint
from homeflex.vtn.service import VtnService
from tests.storage.conftest import POSTGRES_URL, new_schema, open_postgres


async def no_settle(event_id: str) -> list[Any]:
    return []


@pytest.fixture
async def workers() -> AsyncIterator[tuple[VtnService, VtnService]]:
    schema = new_schema()
    first = await open_postgres(schema)
    second = await PostgresStorage.open(POSTGRES_URL, schema=schema)
    clock = WallClock()
    poll = timedelta(seconds=0.5)
    try:
        for hid in ("w-raw", "w-ven"):
            await first.upsert_household(HouseholdRecord(id=hid, group="w", category=Category.C), clock.now())
        async with (
            VtnService(first, clock, no_settle, port=0, poll_interval=poll) as one,
            VtnService(second, clock, no_settle, port=0, poll_interval=poll) as two,
        ):
            yield one, two
    finally:
        await second.close()
        await first.drop_schema()
        await first.close()


async def xml(session: aiohttp.ClientSession, vtn: VtnService, service: str, body: bytes) -> tuple[str, Any]:
    async with session.post(
        f"{vtn.openadr_url}/{service}", data=body, headers={"content-type": "application/xml"}
    ) as r:
        assert r.status == 200, await r.text()
        return parse_message(await r.read())


async def poll_until(session: aiohttp.ClientSession, vtn: VtnService, ven_id: str, kind: str) -> Any:
    async with asyncio.timeout(15):
        while True:
            msg_type, payload = await xml(session, vtn, "OadrPoll", poll_message(ven_id))
            if msg_type == kind:
                return payload
            await asyncio.sleep(0.1)


async def api(session: aiohttp.ClientSession, vtn: VtnService, method: str, path: str, **kw: Any) -> Any:
    async with session.request(method, f"{vtn.url}/api{path}", **kw) as r:
        assert r.status < 300, await r.text()
        return await r.json()


async def test_a_ven_registered_on_one_worker_is_served_by_the_other(
    workers: tuple[VtnService, VtnService],
) -> None:
    one, two = workers
    start = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    async with aiohttp.ClientSession() as session:
        msg_type, reg = await xml(session, one, "EiRegisterParty", registration_message("w-raw"))
        assert msg_type == "oadrCreatedPartyRegistration"
        ven_id = reg["ven_id"]
        assert (await xml(session, two, "OadrPoll", poll_message(ven_id)))[0] == "oadrResponse"

        body = {
            "targets": ["w-raw"],
            "start": start,
            "duration_minutes": 30,
            "reduction_kw": 1.5,
            "price_gbp_per_mwh": 900.0,
        }
        event_id = (await api(session, one, "POST", "/events", json=body))["event_id"]
        payload = await poll_until(session, two, ven_id, "oadrDistributeEvent")
        assert [e["event_descriptor"]["event_id"] for e in payload["events"]] == [event_id]

        # Answered through worker two; worker one sees the answer in the database and stops sending.
        answer = created_event_message(ven_id, payload["request_id"], [(event_id, 0)])
        assert (await xml(session, two, "EiEvent", answer))[0] == "oadrResponse"
        status = await api(session, one, "GET", f"/events/{event_id}")
        assert [(t["opt_type"], t["acked_modification"]) for t in status["targets"]] == [("optIn", 0)]
        one.handlers.polls.resync_s = 0.0  # re-read who answered on its next refresh
        await asyncio.sleep(one.handlers.polls.refresh_s)
        assert (await xml(session, one, "OadrPoll", poll_message(ven_id)))[0] == "oadrResponse"

        # Cancelled through worker two; polling worker one brings the new modification.
        await api(session, two, "DELETE", f"/events/{event_id}")
        payload = await poll_until(session, one, ven_id, "oadrDistributeEvent")
        descriptor = payload["events"][0]["event_descriptor"]
        assert (descriptor["modification_number"], descriptor["event_status"]) == (1, "cancelled")


async def test_an_openleadr_ven_on_one_worker_answers_an_event_created_on_the_other(
    workers: tuple[VtnService, VtnService],
) -> None:
    one, two = workers
    received: list[dict[str, Any]] = []

    async def on_event(event: dict[str, Any]) -> str:
        received.append(event)
        return "optIn"

    ven = OpenADRClient(ven_name="w-ven", vtn_url=two.openadr_url, show_fingerprint=False)
    ven.add_handler("on_event", on_event)
    await ven.run()
    try:
        assert ven.registration_id
        start = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        async with aiohttp.ClientSession() as session:
            body = {
                "group": "w",
                "start": start,
                "duration_minutes": 30,
                "reduction_kw": 1.0,
                "price_gbp_per_mwh": 100.0,
            }
            event_id = (await api(session, one, "POST", "/events", json=body))["event_id"]
            async with asyncio.timeout(15):
                while True:
                    status = await api(session, one, "GET", f"/events/{event_id}")
                    answers = {t["household_id"]: t["opt_type"] for t in status["targets"]}
                    if answers["w-ven"] == "optIn":
                        break
                    await asyncio.sleep(0.2)
        assert [e["event_descriptor"]["event_id"] for e in received] == [event_id]
    finally:
        await ven.stop()


async def test_two_workers_push_an_event_to_a_push_ven_once(workers: tuple[VtnService, VtnService]) -> None:
    one, two = workers
    received: list[str] = []

    async def on_event(event: dict[str, Any]) -> str:
        received.append(event["event_descriptor"]["event_id"])
        return "optIn"

    ven = OpenADRClient(ven_name="w-ven", vtn_url=two.openadr_url, show_fingerprint=False)
    ven.add_handler("on_event", on_event)
    async with PushEndpoint(ven) as endpoint:
        await ven.run()  # registered for push through worker two
        ven.scheduler.pause()  # no polls: only a push can bring the event
        try:
            start = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
            body = {"targets": ["w-ven"], "start": start, "duration_minutes": 30, "reduction_kw": 1.0}
            async with aiohttp.ClientSession() as session:
                event_id = (
                    await api(session, one, "POST", "/events", json={**body, "price_gbp_per_mwh": 1.0})
                )["event_id"]
                async with asyncio.timeout(15):
                    while True:
                        status = await api(session, one, "GET", f"/events/{event_id}")
                        if status["targets"][0]["opt_type"] == "optIn":
                            break
                        await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # several more push rounds on both workers
            # Both workers' pushers saw the event; the database gave it to exactly one of them.
            assert one.pusher.pushed + two.pusher.pushed == 1
            assert (one.pusher.failed, two.pusher.failed) == (0, 0)
            assert endpoint.received == 1
            assert received == [event_id]
        finally:
            await ven.stop()
