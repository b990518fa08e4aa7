"""oadrRequestEvent is answered on the VTN's clock, not openleadr's wall clock: a VEN starting up while an
event is running by our clock (here a clock a year ahead of the wall clock, as in a fast demo) is told
the event is active."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from openleadr import OpenADRClient

from homeflex.core.clock import ManualClock, WallClock
from homeflex.core.timeutil import iso
from homeflex.storage import SQLiteStorage
from homeflex.vtn.service import VtnService
from tests.vtn.test_api import no_settle

AHEAD = WallClock().now().replace(microsecond=0) + timedelta(days=400)


@pytest.fixture
async def vtn(storage: SQLiteStorage) -> AsyncIterator[VtnService]:
    async with VtnService(storage, ManualClock(AHEAD), no_settle, port=0) as service:
        yield service


async def test_a_starting_ven_is_told_the_status_on_the_vtns_clock(vtn: VtnService) -> None:
    async with aiohttp.ClientSession(base_url=vtn.url) as http:
        async with http.put("/api/households/hh1", json={"group": "north", "category": "B"}) as r:
            assert r.status == 200
        body = {
            "targets": ["hh1"],
            "start": iso(AHEAD - timedelta(minutes=10)),  # running by the VTN's clock, a year ahead
            "duration_minutes": 60,
            "reduction_kw": 1.5,
            "price_gbp_per_mwh": 1812,
        }
        async with http.post("/api/events", json=body) as r:
            assert r.status == 201, await r.text()
            event_id = (await r.json())["event_id"]
    client = OpenADRClient(ven_name="hh1", vtn_url=vtn.openadr_url)
    try:
        await client.create_party_registration(ven_id="hh1")
        response_type, payload = await client.request_event()
    finally:
        await client.client_session.close()
    assert response_type == "oadrDistributeEvent"
    [event] = payload["events"]
    assert event["event_descriptor"]["event_id"] == event_id
    assert event["event_descriptor"]["event_status"] == "active"  # openleadr's own handler said "far"


async def test_a_ven_with_nothing_pending_gets_an_empty_response(vtn: VtnService) -> None:
    async with (
        aiohttp.ClientSession(base_url=vtn.url) as http,
        http.put("/api/households/hh2", json={"group": "north", "category": "B"}) as r,
    ):
        assert r.status == 200
    client = OpenADRClient(ven_name="hh2", vtn_url=vtn.openadr_url)
    try:
        await client.create_party_registration(ven_id="hh2")
        response_type, _ = await client.request_event()
    finally:
        await client.client_session.close()
    assert response_type == "oadrResponse"
