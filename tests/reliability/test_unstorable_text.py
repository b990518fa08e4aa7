"""Text no database stores — a NUL (PostgreSQL refuses it in text) or a lone UTF-16 surrogate (no UTF-8
has one) — sent to the portal and the operator API the way a client sends it: a form field, a JSON
string escape, a query parameter. On PostgreSQL each reached the database and was a 500; now each is the
client's error (400, said), nothing is stored, and the same request without it goes through."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import pytest

from homeflex.core.clock import ManualClock
from homeflex.jsonguard import unstorable_text
from homeflex.portal.service import PortalService
from homeflex.storage import Storage
from homeflex.vtn.service import VtnService
from tests.portal.helpers import Client
from tests.storage.conftest import new_schema, open_postgres

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@dataclass
class Stack:
    storage: Storage
    vtn: str
    portal: str


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    storage = await open_postgres(new_schema())
    clock = ManualClock(NOW)

    async def settle(event_id: str) -> list[object]:
        return []

    try:
        async with (
            VtnService(storage, clock, settle, port=0) as vtn,  # type: ignore[arg-type]
            PortalService(storage, clock, vtn.url, port=0) as portal,
        ):
            yield Stack(storage, vtn.url, portal.url)
    finally:
        await storage.drop_schema()  # type: ignore[attr-defined]
        await storage.close()


def interest(name: str) -> dict[str, str]:
    return {"name": name, "email": "ann@example.org", "postcode": "SW1A 1AA"}


@pytest.mark.parametrize("name", ["Ann\x00", "Ann\udc80", "\ud83dAnn"], ids=["nul", "low", "high"])
async def test_the_portals_api_refuses_unstorable_text_in_json(stack: Stack, name: str) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{stack.portal}/api/portal/interest"
        async with http.post(
            url, data=json.dumps(interest(name)), headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400 and "NUL or a lone surrogate" in (await r.json())["error"]
        assert await stack.storage.portal.customers() == []
        async with http.post(url, json=interest("Ann \U0001f600")) as r:  # a real pair is fine
            assert r.status == 201, await r.text()
    [customer] = await stack.storage.portal.customers()
    assert customer.name == "Ann \U0001f600"


async def test_a_form_field_with_a_nul_is_refused(stack: Stack) -> None:
    browser = Client(stack.portal)
    try:
        status, _ = await browser.post("/interest", interest("Ann\x00"))  # sent as name=Ann%00
        assert status == 400
        assert await stack.storage.portal.customers() == []
        status, _ = await browser.post("/interest", interest("Ann"))
        assert status in (200, 303)
    finally:
        await browser.close()
    assert [c.name for c in await stack.storage.portal.customers()] == ["Ann"]


async def test_the_operator_api_refuses_unstorable_text_in_the_body_and_the_query(stack: Stack) -> None:
    async with aiohttp.ClientSession() as http:
        body = json.dumps({"group": "g\x00", "category": "C", "vulnerable": False})
        async with http.put(f"{stack.vtn}/api/households/hh1", data=body) as r:
            assert r.status == 400
        async with http.get(f"{stack.vtn}/api/events?status=a%00") as r:
            assert r.status == 400
        assert await stack.storage.get_household("hh1") is None
        async with http.put(f"{stack.vtn}/api/households/hh1", json={"group": "g", "category": "C"}) as r:
            assert r.status in (200, 201), await r.text()
    assert await stack.storage.get_household("hh1") is not None


@pytest.mark.parametrize(
    ("raw", "unstorable"),
    [
        (b'{"a": "x\\u0000"}', True),
        (b'{"a": "x\\U0000"}', True),
        (b'{"a": "\\ud83d\\ude00"}', False),  # a pair: one character
        (b'{"a": "\\ud83d"}', True),
        (b'{"a": "\\ude00x"}', True),
        (b'{"a": "caf\\u00e9 %00"}', False),  # %00 in JSON is text
        (b"a\x00b", True),
    ],
)
def test_which_bodies_carry_unstorable_text(raw: bytes, unstorable: bool) -> None:
    assert unstorable_text(raw) is unstorable
    assert unstorable_text(b"name=Ann%00", percent_encoded=True)
