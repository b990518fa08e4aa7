"""`homeflex vtn` (a real process, on a SQLite file and on PostgreSQL) is killed with SIGKILL mid-event
and started again: registrations, events and opt responses come back from the database; the VENs (real
openleadr clients) keep polling through the outage with the registration they had, get an event that
was created just before the kill, answer it, and see a cancellation made after the restart."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from openleadr import OpenADRClient

from homeflex.core.clock import WallClock
from homeflex.core.timeutil import iso
from homeflex.mqtt.broker import free_port
from tests.reliability.helpers import Service, until

HOUSEHOLDS = ("a", "b", "c")


class Ven:
    def __init__(self, name: str, url: str) -> None:
        self.events: list[str] = []
        self.cancelled: list[str] = []
        self.client = OpenADRClient(ven_name=name, vtn_url=url, show_fingerprint=False)
        self.client.add_handler("on_event", self.on_event)
        self.client.add_handler("on_update_event", self.on_update)

    async def on_event(self, event: dict[str, Any]) -> str:
        self.events.append(event["event_descriptor"]["event_id"])
        return "optIn"

    async def on_update(self, event: dict[str, Any]) -> str:
        if event["event_descriptor"]["event_status"] == "cancelled":
            self.cancelled.append(event["event_descriptor"]["event_id"])
        return "optIn"


async def test_vtn_killed_mid_event_comes_back_from_the_database(
    tmp_path: Path, uid: str, database_url: str
) -> None:
    port = free_port()
    env = {
        "HOMEFLEX_DATABASE_URL": database_url,
        "HOMEFLEX_VTN_PORT": str(port),
        "HOMEFLEX_POLL_INTERVAL_S": "1",
        "HOMEFLEX_REPORT_INTERVAL_S": "1",
        # The explicit choice of a VTN on loopback without TLS or API token (homeflex.vtn.posture)
        "HOMEFLEX_ALLOW_INSECURE_OPENADR": "1",
        "HOMEFLEX_ALLOW_OPEN_API": "1",
    }
    vtn = Service("vtn", env, tmp_path / "vtn.log")
    base = f"http://127.0.0.1:{port}"
    ids = [f"{h}{uid}" for h in HOUSEHOLDS]
    vens = [Ven(hh, f"{base}/OpenADR2/Simple/2.0b") for hh in ids]

    def event(minutes_from_now: float) -> dict[str, Any]:
        return {
            "targets": ids,
            "start": iso(WallClock().now() + timedelta(minutes=minutes_from_now)),
            "duration_minutes": 30,
            "reduction_kw": 1.0,
            "price_gbp_per_mwh": 1000,
        }

    vtn.start()
    try:
        async with aiohttp.ClientSession(base) as api:
            await until(lambda: _up(api), 30, "the VTN answers")
            for hh in ids:
                async with api.put(f"/api/households/{hh}", json={"group": "g", "category": "B"}) as r:
                    assert r.status == 200, await r.text()
            for ven in vens:
                await ven.client.run()
            registered = {v.client.ven_id: v.client.registration_id for v in vens}
            assert all(registered.values())
            async with api.post("/api/events", json=event(-1)) as r:  # under way: started a minute ago
                running = (await r.json())["event_id"]
            await until(lambda: all(running in v.events for v in vens), 15, "the running event is out")
            await until(lambda: _opted_in(api, running, len(ids)), 10, "its opt-ins are stored")

            async with api.post("/api/events", json=event(60)) as r:
                assert r.status == 201
                created = (await r.json())["event_id"]
            vtn.kill()  # at once: the VENs poll every second, most have not seen it yet
            before_restart = sum(created in v.events for v in vens)
            await asyncio.sleep(3)  # polls fail meanwhile; the VENs keep trying
            vtn.start()
            await until(lambda: _up(api), 30, "the VTN answers again")

            await until(
                lambda: all(created in v.events for v in vens), 20, "the event created before the kill"
            )
            await until(lambda: _opted_in(api, created, len(ids)), 10, "its opt-ins are stored")
            async with api.get(f"/api/events/{running}") as r:
                body = await r.json()
            assert body["status"] == "active" and body["totals"]["opted_in"] == len(ids)
            async with api.delete(f"/api/events/{running}") as r:
                assert r.status == 200
            await until(lambda: all(running in v.cancelled for v in vens), 20, "the cancellation")
            assert {v.client.ven_id: v.client.registration_id for v in vens} == registered
            assert all(v.events.count(running) == 1 and v.events.count(created) == 1 for v in vens)
            print(f"{before_restart} of {len(vens)} VENs had the new event before the kill")
    finally:
        for ven in vens:
            await ven.client.stop()
        vtn.stop()


async def _up(api: aiohttp.ClientSession) -> bool:
    try:
        async with api.get("/api/households") as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def _opted_in(api: aiohttp.ClientSession, event_id: str, n: int) -> bool:
    async with api.get(f"/api/events/{event_id}") as r:
        return bool((await r.json())["totals"]["opted_in"] == n)
