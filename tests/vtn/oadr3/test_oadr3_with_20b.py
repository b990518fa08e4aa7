"""The same event reaches a real openleadr 2.0b VEN and a 3.1 VEN: created and cancelled through 3.1."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp
from openleadr import OpenADRClient

from homeflex.core.clock import WallClock
from homeflex.core.domain import Category
from homeflex.core.timeutil import iso
from homeflex.mqtt.broker import free_port
from homeflex.mqtt.session import MqttSession
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.oadr3 import PREFIX, Oadr3Service, provision_client
from homeflex.vtn.service import VtnService


async def no_settle(event_id: str) -> list[Any]:
    return []


class Ven20b:
    """A plain openleadr VEN that opts in and records what it gets."""

    def __init__(self, name: str, url: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.client = OpenADRClient(ven_name=name, vtn_url=url, show_fingerprint=False)
        self.client.add_handler("on_event", self.on_event)
        self.client.add_handler("on_update_event", self.on_update)

    async def on_event(self, event: dict[str, Any]) -> str:
        self.events.append(event)
        return "optIn"

    async def on_update(self, event: dict[str, Any]) -> str:
        self.updates.append(event)
        return "optIn"


async def wait_until(predicate: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.1)


async def test_31_event_reaches_openleadr_and_31_vens_alike(
    storage: SQLiteStorage, mqtt_url: str, uid: str
) -> None:
    clock, port, prefix = WallClock(), free_port(), f"test-{uid}/OpenADR/3.1/"
    for hh in ("hh1", "hh2"):
        await storage.upsert_household(HouseholdRecord(id=hh, group="g", category=Category.B), clock.now())
    secrets = {c: await provision_client(storage, clock, c, r) for c, r in (("bl", "bl"), ("ven-hh2", "ven"))}
    oadr3 = Oadr3Service(storage, clock, mqtt_url=mqtt_url, topic_prefix=prefix, check_responses=True)
    ven20 = Ven20b("hh1", f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b")
    got31: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    session = MqttSession(mqtt_url, f"test-31-{uid}")
    session.subscribe(f"{prefix}events/vens/hh2/+", lambda t, p: got31.put_nowait(json.loads(p)))
    async with (
        VtnService(
            storage, clock, no_settle, port=port, poll_interval=timedelta(seconds=0.5), oadr3=oadr3
        ) as vtn,
        aiohttp.ClientSession(base_url=vtn.url) as http,
        session,
    ):

        async def bearer(client_id: str) -> dict[str, str]:
            form = {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secrets[client_id],
            }
            async with http.post(f"{PREFIX}/auth/token", data=form) as r:
                return {"Authorization": f"Bearer {(await r.json())['access_token']}"}

        async with http.post(
            f"{PREFIX}/vens",
            json={"objectType": "VEN_VEN_REQUEST", "venName": "hh2"},
            headers=await bearer("ven-hh2"),
        ) as r:
            assert r.status == 201
        await ven20.client.run()
        try:
            doc = {
                "programID": "default",
                "targets": ["hh1", "hh2"],
                "intervalPeriod": {"start": iso(clock.now() + timedelta(hours=1)), "duration": "PT30M"},
                "intervals": [
                    {
                        "id": 0,
                        "payloads": [
                            {"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-2.0]},
                            {"type": "PRICE", "values": [1.812]},
                        ],
                    }
                ],
            }
            bl = await bearer("bl")
            async with http.post(f"{PREFIX}/events", json=doc, headers=bl) as r:
                assert r.status == 201
                event_id = (await r.json())["id"]
            note = await asyncio.wait_for(got31.get(), 15)
            assert (note["operation"], note["object"]["id"], note["object"]["targets"]) == (
                "CREATE",
                event_id,
                ["hh2"],
            )

            async def opted_in() -> bool:
                return [t.opt_type for t in await storage.event_targets(event_id)] == ["optIn", None]

            await wait_until(opted_in)  # the 2.0b VEN got it on its poll and answered over 2.0b
            signals = {s["signal_name"]: s for s in ven20.events[0]["event_signals"]}
            assert signals["LOAD_DISPATCH"]["intervals"][0]["signal_payload"] == 2.0
            assert signals["ELECTRICITY_PRICE"]["intervals"][0]["signal_payload"] == 1812.0

            async with http.delete(f"{PREFIX}/events/{event_id}", headers=bl) as r:
                assert r.status == 200
            assert (await asyncio.wait_for(got31.get(), 15))["operation"] == "DELETE"

            async def cancelled_seen() -> bool:
                return (
                    bool(ven20.updates)
                    and ven20.updates[-1]["event_descriptor"]["event_status"] == "cancelled"
                )

            await wait_until(cancelled_seen)
        finally:
            await ven20.client.stop()
        await oadr3.drain()
    assert oadr3.violations == []
