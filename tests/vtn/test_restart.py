"""Real openleadr VENs against our VTN: events arrive, opt responses are stored, and a VTN restarted
mid-event keeps registrations, the event and the opt responses; VENs carry on without registering."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from openleadr import OpenADRClient, enums

from homeflex.core.clock import WallClock
from homeflex.core.domain import Category
from homeflex.mqtt.broker import free_port
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import EventRecord, HouseholdRecord
from homeflex.vtn.service import VtnService


async def no_settle(event_id: str) -> list[Any]:
    return []


class Ven:
    """A plain openleadr VEN that records what it gets."""

    def __init__(self, name: str, url: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.client = OpenADRClient(ven_name=name, vtn_url=url, show_fingerprint=False)
        self.client.add_handler("on_event", self.on_event)
        self.client.add_handler("on_update_event", self.on_update)
        self.client.add_report(
            callback=lambda: 1234.0,
            resource_id=f"{name}-meter",
            measurement=enums.MEASUREMENTS.REAL_POWER,
            unit="W",
            sampling_rate=timedelta(seconds=1),
            report_duration=timedelta(hours=1),
        )

    async def on_event(self, event: dict[str, Any]) -> str:
        self.events.append(event)
        return "optIn"

    async def on_update(self, event: dict[str, Any]) -> str:
        self.updates.append(event)
        return "optOut"


async def reports_stored(storage: SQLiteStorage, at_least: int) -> bool:
    values = await storage.ven_reports("ven-hh1")
    assert all(v == 1234.0 for _, _, v in values)
    return len(values) >= at_least


async def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.1)


async def test_vtn_restart_keeps_state_and_vens_carry_on(tmp_path: Path) -> None:
    clock, port, db = WallClock(), free_port(), tmp_path / "vtn.db"
    poll = timedelta(seconds=0.5)
    storage = await SQLiteStorage.open(db)
    for hh in ("hh1", "hh2"):
        await storage.upsert_household(HouseholdRecord(id=hh, group="g", category=Category.B), clock.now())
    vens = [Ven(hh, f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b") for hh in ("hh1", "hh2")]
    try:
        async with VtnService(
            storage, clock, no_settle, port=port, poll_interval=poll, report_interval=timedelta(seconds=1)
        ):
            for ven in vens:
                await ven.client.run()
            registered = {v.client.ven_id: v.client.registration_id for v in vens}
            assert set(registered) == {"ven-hh1", "ven-hh2"}
            event = EventRecord(
                event_id="ev1",
                modification_number=0,
                status="scheduled",
                start=clock.now() + timedelta(minutes=5),
                duration=timedelta(minutes=30),
                reduction_kw=2.0,
                price_gbp_per_mwh=1812.0,
                created_at=clock.now(),
            )
            await storage.create_event(event, ["hh1", "hh2"])

            async def both_opted_in() -> bool:
                return [t.opt_type for t in await storage.event_targets("ev1")] == ["optIn", "optIn"]

            await wait_until(both_opted_in)
            await wait_until(lambda: reports_stored(storage, 1))
            assert all(len(v.events) == 1 for v in vens)
            signals = {s["signal_name"]: s for s in vens[0].events[0]["event_signals"]}
            assert signals["LOAD_DISPATCH"]["intervals"][0]["signal_payload"] == 2.0
            assert signals["ELECTRICITY_PRICE"]["intervals"][0]["signal_payload"] == 1812.0
        await storage.close()

        # The VTN is down; VENs keep polling into the void. A new VTN process opens the same database.
        await asyncio.sleep(1.0)
        storage = await SQLiteStorage.open(db)
        async with VtnService(
            storage, clock, no_settle, port=port, poll_interval=poll, report_interval=timedelta(seconds=1)
        ):
            assert await storage.count_vens() == 2
            targets = await storage.event_targets("ev1")
            assert [(t.opt_type, t.acked_modification) for t in targets] == [("optIn", 0), ("optIn", 0)]
            await storage.cancel_event("ev1", clock.now())

            async def both_acked_cancel() -> bool:
                return [t.acked_modification for t in await storage.event_targets("ev1")] == [1, 1]

            await wait_until(both_acked_cancel)
            # Reports keep arriving under the report request made before the restart.
            before = len(await storage.ven_reports("ven-hh1"))
            await wait_until(lambda: reports_stored(storage, before + 2))
            assert all(v.updates[-1]["event_descriptor"]["event_status"] == "cancelled" for v in vens)
            # Nobody registered again: same ids, and no event was delivered twice as new.
            assert {v.client.ven_id: v.client.registration_id for v in vens} == registered
            assert all(len(v.events) == 1 for v in vens)
    finally:
        for ven in vens:
            await ven.client.stop()
        await storage.close()


async def test_unknown_household_cannot_register(storage: SQLiteStorage) -> None:
    async with VtnService(storage, WallClock(), no_settle, port=0) as vtn:
        ven = OpenADRClient(ven_name="stranger", vtn_url=vtn.openadr_url, show_fingerprint=False)
        try:
            await ven.run()
            assert ven.registration_id is None
            assert await storage.count_vens() == 0
        finally:
            await ven.client_session.close() if ven.client_session else None
