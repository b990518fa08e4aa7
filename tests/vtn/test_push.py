"""OpenADR 2.0b push: a real openleadr VEN serving homeflex.ven.push.PushEndpoint gets an event without
polling for it, and a VEN whose endpoint is down gets it by polling. The VTN polls are set to a minute,
so only a push can bring the event in the first case."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from openleadr import OpenADRClient
from openleadr.messaging import create_message, parse_message

from bench.vtn_load import poll_message
from homeflex.core.clock import WallClock
from homeflex.core.domain import Category
from homeflex.mqtt.broker import free_port
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.ven.push import PushEndpoint
from homeflex.vtn.push import push_url
from homeflex.vtn.service import VtnService


async def no_settle(event_id: str) -> list[Any]:
    return []


def event_body(targets: list[str]) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(hours=1)
    return {
        "targets": targets,
        "start": start.isoformat(),
        "duration_minutes": 30,
        "reduction_kw": 1.0,
        "price_gbp_per_mwh": 300.0,
    }


async def opt(storage: SQLiteStorage, event_id: str, household: str) -> str | None:
    return {t.household_id: t.opt_type for t in await storage.event_targets(event_id)}[household]


def test_push_is_asked_for_with_an_http_endpoint_and_pull_model_false() -> None:
    assert push_url({"http_pull_model": False, "transport_address": "http://10.0.0.2:8080/x"}) == (
        "http://10.0.0.2:8080/x"
    )
    assert push_url({"http_pull_model": True, "transport_address": "http://10.0.0.2/x"}) is None
    assert push_url({"http_pull_model": False, "transport_address": None}) is None
    assert push_url({"http_pull_model": False, "transport_address": "file:///etc/passwd"}) is None
    assert push_url({"ven_name": "hh1"}) is None


async def test_a_push_ven_gets_the_event_without_polling_and_a_dead_endpoint_falls_back_to_pull(
    storage: SQLiteStorage, uid: str
) -> None:
    push_hh, dead_hh, pull_hh = f"p{uid}", f"d{uid}", f"l{uid}"
    for hid in (push_hh, dead_hh, pull_hh):
        await storage.upsert_household(
            HouseholdRecord(id=hid, group="g", category=Category.A), WallClock().now()
        )
    received: list[str] = []

    async def on_event(event: dict[str, Any]) -> str:
        received.append(event["event_descriptor"]["event_id"])
        return "optIn"

    async with VtnService(storage, WallClock(), no_settle, port=0, poll_interval=timedelta(minutes=1)) as vtn:
        ven = OpenADRClient(ven_name=push_hh, vtn_url=vtn.openadr_url, show_fingerprint=False)
        ven.add_handler("on_event", on_event)
        async with PushEndpoint(ven) as endpoint, aiohttp.ClientSession() as session:
            await ven.run()  # registers for push; its next poll is a minute away
            try:
                # A VEN registered for push at an endpoint where nothing listens, and a pull-only one.
                dead = f"http://127.0.0.1:{free_port()}/push"
                for hid, address in ((dead_hh, dead), (pull_hh, None)):
                    msg = registration(hid, address)
                    async with session.post(
                        f"{vtn.openadr_url}/EiRegisterParty",
                        data=msg,
                        headers={"content-type": "application/xml"},
                    ) as r:
                        assert parse_message(await r.read())[0] == "oadrCreatedPartyRegistration"
                assert set(await storage.push_vens()) == {push_hh, dead_hh}

                async with session.post(
                    f"{vtn.url}/api/events", json=event_body([push_hh, dead_hh, pull_hh])
                ) as r:
                    assert r.status == 201
                    event_id = (await r.json())["event_id"]
                async with asyncio.timeout(15):
                    while await opt(storage, event_id, push_hh) != "optIn":
                        await asyncio.sleep(0.05)
                assert received == [event_id]
                assert endpoint.received == 1
                async with asyncio.timeout(15):
                    while vtn.pusher.failed < 1:
                        await asyncio.sleep(0.05)
                assert vtn.pusher.pushed == 1  # only the push VEN: the pull-only one was left to poll
                # The dead endpoint's VEN, and the pull-only one, get the event when they poll.
                for hid in (dead_hh, pull_hh):
                    async with session.post(
                        f"{vtn.openadr_url}/OadrPoll",
                        data=poll_message(f"ven-{hid}"),
                        headers={"content-type": "application/xml"},
                    ) as r:
                        msg_type, payload = parse_message(await r.read())
                    assert msg_type == "oadrDistributeEvent"
                    assert [e["event_descriptor"]["event_id"] for e in payload["events"]] == [event_id]
            finally:
                await ven.stop()


def registration(ven_name: str, address: str | None) -> bytes:
    return create_message(
        "oadrCreatePartyRegistration",
        request_id="r1",
        ven_name=ven_name,
        http_pull_model=address is None,
        xml_signature=False,
        report_only=False,
        profile_name="2.0b",
        transport_name="simpleHttp",
        transport_address=address,
    ).encode()
