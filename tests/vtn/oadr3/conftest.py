"""A VTN serving 2.0b and 3.1 on loopback, with enrolled households, provisioned 3.1 clients and a
private MQTT topic prefix; every 3.1 response the tests see is checked against the OpenAPI document.
Webhooks may reach loopback (`vtn`) or, as by default, only public addresses (`serve` without)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from homeflex.core.clock import ManualClock
from homeflex.storage import SQLiteStorage
from homeflex.vtn.oadr3 import PREFIX, Oadr3Service, provision_client
from homeflex.vtn.oadr3.webhooks import WebhookPolicy
from homeflex.vtn.service import VtnService

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HOUSEHOLDS = (("hh1", "north"), ("hh2", "north"), ("hh3", "south"))


async def no_settle(event_id: str) -> list[Any]:
    return []


@dataclass
class Vtn:
    service: VtnService
    oadr3: Oadr3Service
    storage: SQLiteStorage
    clock: ManualClock
    http: aiohttp.ClientSession  # base_url: the VTN; 3.1 paths start with PREFIX
    secrets: dict[str, str]  # client id -> secret: "bl", "ven-hh1", "ven-hh2", "ven-hh3"
    topic_prefix: str
    mqtt_url: str

    async def token(self, client_id: str, **form: str) -> str:
        data = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": self.secrets[client_id],
        }
        async with self.http.post(f"{PREFIX}/auth/token", data={**data, **form}) as r:
            assert r.status == 200, await r.text()
            return str((await r.json())["access_token"])

    async def call(
        self, method: str, path: str, client_id: str | None, json: Any = None, **kw: Any
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {await self.token(client_id)}"} if client_id else {}
        async with self.http.request(method, PREFIX + path, json=json, headers=headers, **kw) as r:
            return r.status, await r.json()


@asynccontextmanager
async def running_vtn(
    storage: SQLiteStorage, mqtt_url: str, topic_prefix: str, webhooks: WebhookPolicy | None = None
) -> AsyncIterator[Vtn]:
    """The VTN on a free loopback port with households hh1-hh3 enrolled and clients provisioned."""
    clock = ManualClock(NOW)
    oadr3 = Oadr3Service(
        storage, clock, mqtt_url=mqtt_url, topic_prefix=topic_prefix, check_responses=True, webhooks=webhooks
    )
    secrets = {"bl": await provision_client(storage, clock, "bl", "bl")}
    for hh, _ in HOUSEHOLDS:
        secrets[f"ven-{hh}"] = await provision_client(storage, clock, f"ven-{hh}", "ven")
    async with (
        VtnService(storage, clock, no_settle, port=0, oadr3=oadr3) as service,
        aiohttp.ClientSession(base_url=service.url) as http,
    ):
        for hh, group in HOUSEHOLDS:
            async with http.put(f"/api/households/{hh}", json={"group": group, "category": "B"}) as r:
                assert r.status == 200
        yield Vtn(service, oadr3, storage, clock, http, secrets, topic_prefix, mqtt_url)
        await oadr3.drain()
    assert oadr3.violations == [], "responses that break the OpenAPI document"


def serve(storage: SQLiteStorage, mqtt_url: str, uid: str, webhooks: WebhookPolicy) -> Any:
    return running_vtn(storage, mqtt_url, f"test-{uid}/OpenADR/3.1/", webhooks)


@pytest.fixture
async def vtn(storage: SQLiteStorage, mqtt_url: str, uid: str) -> AsyncIterator[Vtn]:
    """The operator's explicit choice: webhooks may call receivers on loopback (the tests' own)."""
    async with serve(storage, mqtt_url, uid, WebhookPolicy.from_setting("127.0.0.0/8")) as served:
        yield served


async def register_ven(vtn: Vtn, household: str) -> None:
    """The household's 3.1 VEN registers itself (VEN_VEN_REQUEST)."""
    status, body = await vtn.call(
        "POST", "/vens", f"ven-{household}", {"objectType": "VEN_VEN_REQUEST", "venName": household}
    )
    assert status == 201, body
