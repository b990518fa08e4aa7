"""The operator API shows each household's latest learned profile, its readiness and its versions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from homeflex.core.clock import ManualClock
from homeflex.core.domain import Category, MeterReading
from homeflex.profiles.job import learn_and_store
from homeflex.storage import Storage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.service import VtnService

START = datetime(2026, 11, 2, tzinfo=UTC)
NOW = START + timedelta(days=3)


async def no_settle(event_id: str) -> list[Any]:
    return []


@pytest.fixture
async def api(backend: Storage) -> AsyncIterator[aiohttp.ClientSession]:
    """hh1 has three days of readings (1 kWh per half-hour); hh2 is enrolled with nothing learned."""
    for hid in ("hh1", "hh2"):
        await backend.upsert_household(HouseholdRecord(id=hid, group="g", category=Category.B), START)
    readings = [
        MeterReading(
            household_id="hh1",
            ts=START + timedelta(minutes=30 * n),
            import_wh=1000.0 * n,
            export_wh=0,
            power_w=0,
        )
        for n in range(3 * 48 + 1)
    ]
    await backend.insert_readings(readings, NOW)
    async with (
        VtnService(backend, ManualClock(NOW), no_settle, port=0) as vtn,
        aiohttp.ClientSession(base_url=vtn.url) as http,
    ):
        yield http


async def get(api: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with api.get(path) as r:
        return r.status, await r.json()


async def test_no_profile_yet_is_404_and_says_so(api: aiohttp.ClientSession) -> None:
    for path in ("/api/households/hh2/profile", "/api/households/hh2/profile/versions"):
        assert await get(api, path) == (404, {"error": "household 'hh2' has no learned profile yet"})
    for path in ("/api/households/nobody/profile", "/api/households/nobody/profile/versions"):
        assert await get(api, path) == (404, {"error": "no household 'nobody'"})


async def test_latest_profile_with_readiness_and_reasons(
    api: aiohttp.ClientSession, backend: Storage
) -> None:
    await learn_and_store(backend, "hh1", NOW - timedelta(days=1), learned_at=NOW)
    await learn_and_store(backend, "hh1", NOW, learned_at=NOW + timedelta(minutes=5))
    status, body = await get(api, "/api/households/hh1/profile")
    assert status == 200
    assert {k: v for k, v in body.items() if k != "profile"} == {
        "household_id": "hh1",
        "version": 2,
        "as_of": "2026-11-05T00:00:00Z",
        "learned_at": "2026-11-05T00:05:00Z",
        "ready": False,
        "reasons": ["3 of 14 days observed", "3 of 5 weekdays observed", *body["reasons"][2:]],
    }
    assert "0 of 2 weekend or bank-holiday days observed" in body["reasons"]
    profile = body["profile"]
    assert (profile["household_id"], profile["version"], profile["as_of"]) == ("hh1", 2, body["as_of"])
    assert profile["coverage"]["days_observed"] == 3
    assert profile["weekday"]["mean_kwh"][0] == pytest.approx(1.0)

    status, versions = await get(api, "/api/households/hh1/profile/versions")
    assert status == 200
    assert [(v["version"], v["as_of"], v["ready"]) for v in versions] == [
        (1, "2026-11-04T00:00:00Z", False),
        (2, "2026-11-05T00:00:00Z", False),
    ]
    assert versions[0]["reasons"][0] == "2 of 14 days observed"
    assert "profile" not in versions[0]


async def test_a_corrupt_stored_profile_is_a_clear_500(api: aiohttp.ClientSession, backend: Storage) -> None:
    await backend.save_profile("hh2", as_of=NOW, learned_at=NOW, ready=False, reasons=["x"], profile={})
    status, body = await get(api, "/api/households/hh2/profile")
    assert status == 500
    assert body == {
        "error": "stored profile of household 'hh2' version 1 is corrupt: unsupported profile"
        " schema None; expected 1"
    }
    assert (await get(api, "/api/households/hh2/profile/versions"))[0] == 200  # the metadata still reads
