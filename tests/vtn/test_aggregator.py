"""Aggregators end to end: the operator API creates one with its portfolio, a real openleadr VEN acting
as the aggregator (homeflex.ven.aggregator) gets an event targeted at three of its resources once,
with the three as eiTarget resourceIDs, opts in for them and reports each member's power; settlement
then pays the aggregator the sum of its members' deliveries, each against its own baseline, with the
evidence per resource. Push mode delivers to the aggregator's VEN the same way."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp

from homeflex.core.clock import WallClock
from homeflex.core.domain import MeterReading
from homeflex.ledger.reconcile import reconcile
from homeflex.settlement.settler import settle_event
from homeflex.storage import SQLiteStorage
from homeflex.ven.aggregator import AggregatorVen, Resource
from homeflex.ven.push import PushEndpoint
from homeflex.vtn.service import VtnService

EVENT_KW = {"m1": 1.5, "m2": 2.0, "m3": 1.8, "out": 2.5}  # metered in the event; 2.5 kW otherwise
POWER_W = {"m1": 1500.0, "m2": 2000.0, "m3": 1800.0, "m4": 900.0}


async def no_settle(event_id: str) -> list[Any]:
    return []


def next_half_hour(t: datetime) -> datetime:
    return t.replace(minute=0 if t.minute < 30 else 30, second=0, microsecond=0) + timedelta(minutes=30)


async def enrol(session: aiohttp.ClientSession, url: str, uid: str) -> dict[str, str]:
    """Households m1..m4 (the portfolio; m4 is never targeted), `out` outside it, and the aggregator."""
    ids = {k: f"{k}-{uid}" for k in ("m1", "m2", "m3", "m4", "out", "agg")}
    for key in ("m1", "m2", "m3", "m4", "out"):
        async with session.put(f"{url}/api/households/{ids[key]}", json={"category": "B"}) as r:
            assert r.status == 200
    members = [
        {"household_id": ids["m1"], "offered_kw": 1.0},
        {"household_id": ids["m2"], "offered_kw": 0.5},
        {"household_id": ids["m3"], "offered_kw": 2.0},
        {"household_id": ids["m4"], "offered_kw": 1.0},
    ]
    async with session.put(
        f"{url}/api/aggregators/{ids['agg']}", json={"name": "Flex Co", "members": members}
    ) as r:
        assert r.status == 200, await r.text()
        assert (await r.json())["offered_kw"] == 4.5
    async with session.get(f"{url}/api/aggregators/{ids['agg']}") as r:
        shown = await r.json()
    assert [m["household_id"] for m in shown["members"]] == sorted(ids[k] for k in ("m1", "m2", "m3", "m4"))
    return ids


def portfolio(ids: dict[str, str]) -> list[Resource]:
    offered = {"m1": 1.0, "m2": 0.5, "m3": 2.0, "m4": 1.0}
    return [Resource(household_id=ids[k], offered_kw=kw) for k, kw in offered.items()]


async def create_event(session: aiohttp.ClientSession, url: str, targets: list[str], start: datetime) -> str:
    body = {
        "targets": targets,
        "start": start.isoformat(),
        "duration_minutes": 30,
        "reduction_kw": 1.0,
        "price_gbp_per_mwh": 1000.0,
    }
    async with session.post(f"{url}/api/events", json=body) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["event_id"])


async def opts(storage: SQLiteStorage, event_id: str) -> dict[str, str | None]:
    return {t.household_id: t.opt_type for t in await storage.event_targets(event_id)}


async def store_readings(storage: SQLiteStorage, household: str, event_kw: float, start: datetime) -> None:
    """Three weeks at 2.5 kW, `event_kw` in the event's half-hour, 2.5 kW for 5 h after: registers
    read every half-hour."""
    rows, t, register = [], start - timedelta(days=22), 0.0
    while t <= start + timedelta(hours=5):
        kw = event_kw if start <= t < start + timedelta(minutes=30) else 2.5
        rows.append(
            MeterReading(household_id=household, ts=t, import_wh=register, export_wh=0.0, power_w=kw * 1e3)
        )
        register += kw * 500
        t += timedelta(minutes=30)
    await storage.insert_readings(rows, start + timedelta(hours=5))


async def test_an_aggregator_ven_gets_the_event_once_for_its_resources_and_is_paid_their_sum(
    storage: SQLiteStorage, uid: str
) -> None:
    clock = WallClock()
    async with (
        VtnService(
            storage,
            clock,
            no_settle,
            port=0,
            poll_interval=timedelta(seconds=1),
            report_interval=timedelta(seconds=1),
        ) as vtn,
        aiohttp.ClientSession() as session,
    ):
        ids = await enrol(session, vtn.url, uid)
        start = next_half_hour(clock.now()) + timedelta(hours=1)
        targeted = [ids["m1"], ids["m2"], ids["m3"], ids["out"]]
        event_id = await create_event(session, vtn.url, targeted, start)
        power = {ids[k]: w for k, w in POWER_W.items()}
        ven = AggregatorVen(
            ids["agg"],
            portfolio(ids),
            vtn.openadr_url,
            power.__getitem__,
            report_interval=timedelta(seconds=1),
        )
        async with ven:
            async with asyncio.timeout(20):
                while (await opts(storage, event_id))[ids["m1"]] != "optIn":
                    await asyncio.sleep(0.05)
            members = sorted(ids[k] for k in ("m1", "m2", "m3"))
            assert await opts(storage, event_id) == {**dict.fromkeys(members, "optIn"), ids["out"]: None}
            split = ven.splits[event_id]
            # 3 kW asked (1 kW per resource); m2 offered only 0.5 kW, m1 and m3 give their 1 kW each.
            assert split.shares == ((ids["m1"], 1.0), (ids["m2"], 0.5), (ids["m3"], 1.0))
            # Each member's power arrives as its own rID in the aggregator's report.
            async with asyncio.timeout(20):
                while {r for r, _, _ in await storage.ven_reports(f"ven-{ids['agg']}")} != set(power):
                    await asyncio.sleep(0.1)
            reported = {r: v for r, _, v in await storage.ven_reports(f"ven-{ids['agg']}")}
            assert reported == power
            await asyncio.sleep(2.5)  # two more polls: the answered event is not sent again
            assert list(ven.received) == [(event_id, 0, tuple(members))]

        # Settlement, once the event is over: the members' metered energy, each against its own baseline.
        for key, kw in EVENT_KW.items():
            await store_readings(storage, ids[key], kw, start)
        written = await settle_event(storage, event_id, start + timedelta(hours=6))
        assert len(written) == 4
        entries = await storage.ledger(event_id)
        assert {(e.household_id, e.debit_account, e.credit_account, e.amount_gbp) for e in entries} == {
            (ids["m1"], "dso", f"aggregator:{ids['agg']}", "0.50"),  # 1 kW shed for 30 min, capped at 0.5 kWh
            (ids["m2"], "dso", f"aggregator:{ids['agg']}", "0.25"),
            (ids["m3"], "dso", f"aggregator:{ids['agg']}", "0.35"),
        }
        assert reconcile(await storage.ledger(), await storage.latest_settlements(event_id)).ok
        async with session.get(f"{vtn.url}/api/aggregators/{ids['agg']}/events/{event_id}") as r:
            assert r.status == 200
            statement = await r.json()
        assert statement["totals"] == {
            "resources": 3,
            "instructed_kwh": 1.5,
            "delivered_kwh": statement["totals"]["delivered_kwh"],
            "payment_gbp": "1.10",
            "paid_gbp": "1.10",
        }
        assert abs(statement["totals"]["delivered_kwh"] - 1.1) < 1e-9
        rows = {x["household_id"]: x for x in statement["resources"]}
        assert list(rows) == members
        assert [(rows[m]["baseline_kw"], rows[m]["actual_kw"], rows[m]["opt_type"]) for m in members] == [
            (2.5, 1.5, "optIn"),
            (2.5, 2.0, "optIn"),
            (2.5, 1.8, "optIn"),
        ]
        assert [len(rows[m]["evidence"]) for m in members] == [1, 1, 1]  # one half-hour each
        assert Decimal(rows[ids["m3"]]["payment_gbp"]) == Decimal("0.35")
        async with session.get(f"{vtn.url}/api/aggregators/{ids['agg']}/events/nope") as r:
            assert r.status == 404


async def test_a_push_mode_aggregator_ven_gets_the_event_pushed_with_its_resources(
    storage: SQLiteStorage, uid: str
) -> None:
    clock = WallClock()
    async with (
        VtnService(storage, clock, no_settle, port=0, poll_interval=timedelta(minutes=1)) as vtn,
        aiohttp.ClientSession() as session,
    ):
        ids = await enrol(session, vtn.url, uid)
        ven = AggregatorVen(ids["agg"], portfolio(ids), vtn.openadr_url, lambda h: 0.0)
        async with PushEndpoint(ven.client) as endpoint, ven:  # registers for push; polls a minute apart
            start = next_half_hour(clock.now()) + timedelta(hours=1)
            event_id = await create_event(session, vtn.url, [ids["m2"], ids["m4"], ids["out"]], start)
            async with asyncio.timeout(15):
                while (await opts(storage, event_id))[ids["m2"]] is None:
                    await asyncio.sleep(0.05)
            assert list(ven.received) == [(event_id, 0, tuple(sorted((ids["m2"], ids["m4"]))))]
            assert endpoint.received == 1 and vtn.pusher.pushed == 1
            # 2 kW asked of m2 and m4 (offers 0.5 and 1 kW): 1.5 kW is 75 %, so the portfolio opts in.
            assert await opts(storage, event_id) == {ids["m2"]: "optIn", ids["m4"]: "optIn", ids["out"]: None}
