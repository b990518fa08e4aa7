"""The operator API: events are validated, stored, cancelled; bad input gets 400 and changes nothing."""

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
        for hh, group in (("hh1", "north"), ("hh2", "north"), ("hh3", "south")):
            async with http.put(f"/api/households/{hh}", json={"group": group, "category": "B"}) as r:
                assert r.status == 200
        yield http


def event_body(**changes: Any) -> dict[str, Any]:
    body = {
        "targets": ["hh1", "hh2"],
        "start": iso(NOW + timedelta(hours=1)),
        "duration_minutes": 30,
        "reduction_kw": 1.5,
        "price_gbp_per_mwh": 1812,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def test_create_read_and_cancel_event(api: aiohttp.ClientSession) -> None:
    async with api.post("/api/events", json=event_body()) as r:
        assert r.status == 201
        created = await r.json()
    assert created["status"] == "far"
    assert [t["household_id"] for t in created["targets"]] == ["hh1", "hh2"]
    assert created["totals"]["no_response"] == 2
    async with api.delete(f"/api/events/{created['event_id']}") as r:
        assert r.status == 200
        cancelled = await r.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["modification_number"] == 1
    async with api.delete(f"/api/events/{created['event_id']}") as r:
        assert r.status == 409


async def test_group_targets_every_household_in_it(api: aiohttp.ClientSession) -> None:
    async with api.post("/api/events", json=event_body(targets=None, group="north")) as r:
        assert r.status == 201
        assert [t["household_id"] for t in (await r.json())["targets"]] == ["hh1", "hh2"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration_minutes": None, "end": iso(NOW + timedelta(minutes=30))}, "ends before it starts"),
        ({"reduction_kw": -2}, "'reduction_kw' must be positive"),
        ({"targets": ["hh1", "nobody"]}, "unknown household(s): nobody"),
        ({"targets": None, "group": "west"}, "group 'west' has no households"),
        ({"start": "2026-11-25T18:00:00"}, "no UTC offset"),
        ({"price_gbp_per_mwh": "lots"}, "'price_gbp_per_mwh' must be a number"),
        ({"start": iso(NOW - timedelta(hours=2))}, "already over"),
        ({"colour": "red"}, "unknown fields: colour"),
        ({"targets": []}, "non-empty list"),
        ({"duration_minutes": 24 * 60 + 1}, "an event lasts at most 1 day"),
        ({"duration_minutes": 9.0e14}, "an event lasts at most 1 day"),  # found by schemathesis: overflowed
        # Trust boundaries, money: each was accepted before, and 1e300 then crashed settlement with a 500.
        ({"price_gbp_per_mwh": 1e300}, "'price_gbp_per_mwh' must be between 0 and 10000"),
        ({"start": "9999-11-25T18:00:00Z"}, "'start' must fall in the years 2000..2100"),
        ({"start": "1900-11-25T18:00:00Z", "duration_minutes": None, "end": iso(NOW)}, "years 2000..2100"),
        ({"duration_minutes": 1e-9}, "'duration_minutes' must be at least 1"),
        ({"duration_minutes": None, "end": iso(NOW + timedelta(hours=1, seconds=1))}, "at least 0:01:00"),
    ],
)
async def test_bad_event_gets_400_and_stores_nothing(
    api: aiohttp.ClientSession, changes: dict[str, Any], message: str
) -> None:
    async with api.post("/api/events", json=event_body(**changes)) as r:
        assert r.status == 400
        assert message in (await r.json())["error"]
    async with api.get("/api/events") as r:
        assert await r.json() == []


async def test_body_that_is_not_json_gets_400(api: aiohttp.ClientSession) -> None:
    async with api.post("/api/events", data=b"{not json", headers={"content-type": "application/json"}) as r:
        assert r.status == 400
        assert "not valid JSON" in (await r.json())["error"]


async def test_unknown_event_is_404(api: aiohttp.ClientSession) -> None:
    async with api.get("/api/events/ev-nope") as r:
        assert r.status == 404
    async with api.delete("/api/events/ev-nope") as r:
        assert r.status == 404


async def test_bad_household_category_gets_400(api: aiohttp.ClientSession) -> None:
    async with api.put("/api/households/hh9", json={"category": "Z"}) as r:
        assert r.status == 400
    async with api.get("/api/households") as r:
        assert [h["id"] for h in await r.json()] == ["hh1", "hh2", "hh3"]


async def test_metrics_endpoint_counts_events(api: aiohttp.ClientSession) -> None:
    async def created() -> float:
        async with api.get("/metrics") as r:
            assert r.status == 200
            text = await r.text()
        line = next(x for x in text.splitlines() if x.startswith('homeflex_events_total{action="created"}'))
        return float(line.split()[-1])

    async with api.post("/api/events", json=event_body()) as r:
        assert r.status == 201
    before = await created()
    async with api.post("/api/events", json=event_body(start=iso(NOW + timedelta(hours=2)))) as r:
        assert r.status == 201
    assert await created() == before + 1


async def test_an_overlapping_event_gets_409_and_a_later_one_is_created(api: aiohttp.ClientSession) -> None:
    async with api.post("/api/events", json=event_body()) as r:
        assert r.status == 201
        first = (await r.json())["event_id"]
    later = iso(NOW + timedelta(hours=1, minutes=15))
    async with api.post("/api/events", json=event_body(targets=["hh3", "hh2"], start=later)) as r:
        assert r.status == 409
        assert f"hh2 already in event {first}" in (await r.json())["error"]
    async with api.get("/api/events") as r:
        assert [e["event_id"] for e in await r.json()] == [first]
    async with api.post("/api/events", json=event_body(targets=["hh3"], start=later)) as r:
        assert r.status == 201


async def test_programmes_are_validated_and_events_name_them(api: aiohttp.ClientSession) -> None:
    body = {
        "name": "DFS-like",
        "baseline_method": "n_in_n",
        "baseline_params": {"n": 10},
        "payment_curve": [[0.5, 0], [0.5, 0.5], [1, 1]],
        "community_share": "0.1",
    }
    async with api.put("/api/programmes/dfs", json=body) as r:
        assert r.status == 200, await r.text()
    async with api.get("/api/programmes/dfs") as r:
        assert (await r.json())["baseline_params"] == {"n": 10}
    async with api.post("/api/events", json=event_body(programme="dfs")) as r:
        assert r.status == 201
    for bad, message in [
        ({**body, "baseline_method": "crystal_ball"}, "unknown baseline method"),
        ({**body, "baseline_params": {"n": 10, "m": 2}}, "unknown parameters"),
        ({**body, "community_share": "1.5"}, "community_share"),
        ({**body, "payment_curve": [[1, 1], [0.5, 0]]}, "non-decreasing"),
        ({**body, "payment_curve": [[0.5, 0], [1, 1e300]]}, "factors must be between 0 and 2"),
        ({**body, "availability_gbp_per_mw_h": "1e300"}, "availability_gbp_per_mw_h must be between"),
        ({**body, "baseline_params": {"n": 10, "lookback_days": 1e9}}, "'lookback_days' = 1000000000.0"),
        ({"name": ""}, "'name' is required"),
    ]:
        async with api.put("/api/programmes/bad", json=bad) as r:
            assert r.status == 400
            assert message in (await r.json())["error"]
    async with api.get("/api/programmes/bad") as r:
        assert r.status == 404
    async with api.post("/api/events", json=event_body(programme="nope")) as r:
        assert r.status == 400
        assert "unknown programme 'nope'" in (await r.json())["error"]


async def test_books_endpoints(api: aiohttp.ClientSession) -> None:
    async with api.get("/api/ledger/reconciliation") as r:
        assert await r.json() == {"ok": True, "problems": [], "balances": {}}
    async with api.get("/api/households/hh1/statements/2026-11") as r:
        assert (await r.json())["lines"] == []
    async with api.get("/api/households/hh1/statements/November") as r:
        assert r.status == 400
    async with api.get("/api/households/nobody/statements/2026-11") as r:
        assert r.status == 404
