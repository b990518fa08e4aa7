"""The operator API for aggregators: create one with its portfolio and see it; bad input gets a 400
with the reason and changes nothing; events target the aggregator's resources, never the aggregator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from homeflex.core.clock import ManualClock
from homeflex.core.timeutil import iso
from homeflex.storage import SQLiteStorage
from homeflex.vtn.service import VtnService

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


async def no_settle(event_id: str) -> list[Any]:
    return []


@pytest.fixture
async def api(storage: SQLiteStorage) -> AsyncIterator[aiohttp.ClientSession]:
    async with (
        VtnService(storage, ManualClock(NOW), no_settle, port=0) as vtn,
        aiohttp.ClientSession(base_url=vtn.url) as http,
    ):
        for hh in ("hh1", "hh2", "hh3"):
            async with http.put(f"/api/households/{hh}", json={"group": "north", "category": "B"}) as r:
                assert r.status == 200
        yield http


def members(**offered: float) -> list[dict[str, Any]]:
    return [{"household_id": h, "offered_kw": kw} for h, kw in offered.items()]


async def test_create_and_see_an_aggregator_with_its_portfolio(api: aiohttp.ClientSession) -> None:
    async with api.put(
        "/api/aggregators/agg1", json={"name": "Flex Co", "members": members(hh2=1, hh1=0.5)}
    ) as r:
        assert r.status == 200
    async with api.get("/api/aggregators/agg1") as r:
        assert await r.json() == {
            "id": "agg1",
            "name": "Flex Co",
            "ven_name": "agg1",
            "members": members(hh1=0.5, hh2=1.0),
            "offered_kw": 1.5,
        }
    async with api.get("/api/aggregators") as r:
        assert [a["id"] for a in await r.json()] == ["agg1"]
    async with api.get("/api/households") as r:  # its own account: category A, group aggregators
        assert {"id": "agg1", "group": "aggregators", "category": "A", "vulnerable": False} in await r.json()
    async with api.get("/api/aggregators/nobody") as r:
        assert r.status == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({"members": members(hh1=1), "colour": "red"}, "unknown fields: colour"),
        ({"name": "", "members": []}, "'name' must be a non-empty string"),
        ({"members": "hh1"}, "'members' must be a list"),
        ({"members": [{"household_id": "hh1"}]}, "'offered_kw' must be a finite number"),
        ({"members": [{"household_id": "hh1", "offered_kw": True}]}, "'offered_kw' must be a finite number"),
        ({"members": members(hh1=-1)}, "'offered_kw' must be between 0 and 100.0 kW"),
        ({"members": [{"household_id": "", "offered_kw": 1}]}, "'household_id' must be a non-empty string"),
        ({"members": [{"household_id": "hh1", "offered_kw": 1, "x": 1}]}, "each member must be"),
        ({"members": members(hh1=1) * 2}, "'members' lists a household twice"),
        ({"members": members(agg1=1)}, "cannot be a member of its own portfolio"),
        ({"members": members(ghost=1)}, "unknown household 'ghost': enrol it first"),
    ],
)
async def test_bad_portfolios_get_400_with_the_reason_and_change_nothing(
    api: aiohttp.ClientSession, body: Any, message: str
) -> None:
    async with api.put("/api/aggregators/agg1", json=body) as r:
        assert r.status == 400
        assert message in (await r.json())["error"]
    async with api.get("/api/aggregators") as r:
        assert await r.json() == []


async def test_a_household_in_one_portfolio_cannot_join_another_and_ids_do_not_clash(
    api: aiohttp.ClientSession,
) -> None:
    async with api.put("/api/aggregators/agg1", json={"members": members(hh1=1)}) as r:
        assert r.status == 200
    async with api.put("/api/aggregators/agg2", json={"members": members(hh2=1, hh1=1)}) as r:
        assert r.status == 400
        assert (await r.json())["error"] == "'hh1' is already in aggregator 'agg1''s portfolio"
    async with api.put("/api/aggregators/hh3", json={"members": members(hh2=1)}) as r:
        assert r.status == 400
        assert "'hh3' is already a household" in (await r.json())["error"]
    async with api.put("/api/aggregators/agg2", json={"members": members(agg1=1)}) as r:
        assert r.status == 400
        assert (await r.json())["error"] == "'agg1' is an aggregator, not a household"
    async with api.put("/api/aggregators/agg1", json={"members": members(hh1=2, hh2=1)}) as r:
        assert r.status == 200  # its own portfolio may be replaced


async def test_events_target_the_resources_or_a_group_never_the_aggregator(
    api: aiohttp.ClientSession,
) -> None:
    async with api.put("/api/aggregators/agg1", json={"members": members(hh1=1, hh2=1)}) as r:
        assert r.status == 200
    event = {"start": iso(NOW + timedelta(hours=1)), "duration_minutes": 30, "reduction_kw": 1.0}
    event["price_gbp_per_mwh"] = 500
    async with api.post("/api/events", json={**event, "targets": ["agg1", "hh3"]}) as r:
        assert r.status == 400
        assert "agg1: an aggregator is not a resource" in (await r.json())["error"]
    async with api.post("/api/events", json={**event, "targets": ["hh1", "hh3"]}) as r:
        assert r.status == 201
        assert [t["household_id"] for t in (await r.json())["targets"]] == ["hh1", "hh3"]
    later = {**event, "start": iso(NOW + timedelta(hours=2))}  # hh1 and hh3 are in the first one till then
    async with api.post("/api/events", json={**later, "group": "north"}) as r:
        assert r.status == 201
        assert [t["household_id"] for t in (await r.json())["targets"]] == ["hh1", "hh2", "hh3"]
    async with api.post("/api/events", json={**event, "group": "aggregators"}) as r:
        assert r.status == 400
        assert "has no households" in (await r.json())["error"]
