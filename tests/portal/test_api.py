"""The REST API: the same journey and console functions as JSON, and schemathesis over the OpenAPI
document (as operator, householder and anonymous): no input produces a 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import tests.hostile  # noqa: F401  (extreme dates and durations for schemathesis)
from homeflex.portal.apidoc import OPENAPI
from homeflex.portal.journey import Role, Step
from homeflex.portal.service import PortalService
from homeflex.settlement.settler import settle_event
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import SettlementRecord
from homeflex.vtn.service import VtnService
from tests.portal.conftest import INSTALLER, NOW, OPERATOR, Stack
from tests.portal.helpers import PASSWORD, customer_at
from tests.threaded import ThreadedService

API = "/api/portal"
ROUTES_IN_SPEC = [(m, p) for p, ops in OPENAPI["paths"].items() for m in ops]


async def _token(http: aiohttp.ClientSession, base: str, email: str, password: str) -> dict[str, str]:
    async with http.post(f"{base}{API}/login", json={"email": email, "password": password}) as r:
        assert r.status == 200
        return {"Authorization": f"Bearer {(await r.json())['token']}"}


async def test_api_journey_console_and_refusals(stack: Stack) -> None:
    c = await customer_at(stack.portal, Step.STAGE_1, "api@example.org")
    base = stack.portal_url
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}{API}/login", json={"email": OPERATOR[0], "password": "nope"}) as r:
            assert r.status == 401
        op = await _token(http, base, *OPERATOR)
        hh = await _token(http, base, "api@example.org", PASSWORD)
        url = f"{base}{API}/households/{c.household_id}"
        async with http.get(url, headers=hh) as r:
            body = await r.json()
            assert body["step"] == "stage_1" and body["next"] == ["left"]
            assert body["categories"][0]["category"] == "B"
        async with http.post(f"{url}/transitions", json={"to": "stage_2"}, headers=hh) as r:
            assert r.status == 409  # a householder cannot move their own stage
        async with http.post(f"{url}/transitions", json={"to": "stage_3"}, headers=op) as r:
            assert r.status == 409 and "cannot move from Stage 1" in (await r.json())["error"]
        for to in ("stage_2", "stage_3"):
            async with http.post(f"{url}/transitions", json={"to": to}, headers=op) as r:
                assert r.status == 200 and (await r.json())["step"] == to
        async with http.post(
            f"{url}/category", json={"category": "A", "vulnerable": True, "reason": "contract"}, headers=op
        ) as r:
            assert r.status == 200
        start = (NOW + timedelta(hours=7)).isoformat()
        event_body = {
            "group": "community",
            "start": start,
            "duration_minutes": 30,
            "reduction_kw": 2,
            "price_gbp_per_mwh": 1812,
        }
        async with http.post(f"{base}{API}/events", json=event_body, headers=hh) as r:
            assert r.status == 403
        async with http.post(f"{base}{API}/events", json=event_body, headers=op) as r:
            assert r.status == 201
            event_id = (await r.json())["event_id"]
        async with http.post(f"{url}/events/{event_id}/skip", headers=hh) as r:
            assert r.status == 200
        async with http.get(f"{url}/events", headers=hh) as r:
            [event] = await r.json()
            assert event["skipped"] and event["opt_type"] == "optOut"
        async with http.post(f"{base}{API}/events/{event_id}/settle", headers=op) as r:
            assert r.status == 409 and "has not ended" in (await r.json())["error"]
        async with http.get(f"{base}{API}/funnel?category=A", headers=op) as r:
            rows = {row["step"]: row for row in await r.json()}
            assert rows["stage_3"]["now_at"] == 1
        async with http.get(f"{url}/statements/2026-13", headers=hh) as r:
            assert r.status == 400
        async with http.get(f"{base}{API}/households", headers={"Authorization": "Bearer forged"}) as r:
            assert r.status == 401
        async with http.get(f"{base}{API}/openapi.json") as r:
            assert (await r.json())["openapi"].startswith("3.")


class LiveStack(ThreadedService):
    """VTN and portal serving from their own thread and event loop (schemathesis calls synchronously)."""

    what = "the live stack"

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.headers: dict[str, dict[str, str]] = {}

    async def serve(self) -> None:
        from homeflex.core.clock import ManualClock

        storage = await SQLiteStorage.open(self.folder / "live.db")
        clock = ManualClock(NOW)

        async def settle(event_id: str) -> list[SettlementRecord]:
            return await settle_event(storage, event_id, clock.now())

        try:
            async with (
                VtnService(storage, clock, settle, port=0) as vtn,
                PortalService(storage, clock, vtn.url, port=0) as service,
            ):
                await service.portal.create_account(OPERATOR[0], Role.OPERATOR, OPERATOR[1])
                await service.portal.create_account(INSTALLER[0], Role.INSTALLER, INSTALLER[1])
                await customer_at(service.portal, Step.STAGE_3, "live@example.org")
                self.url = service.url
                async with aiohttp.ClientSession() as http:
                    self.headers["operator"] = await _token(http, self.url, *OPERATOR)
                    self.headers["householder"] = await _token(http, self.url, "live@example.org", PASSWORD)
                self.headers["anonymous"] = {}
                self.ready.set()
                await self.until_stopped()
        finally:
            await storage.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveStack]:
    with LiveStack(tmp_path) as stack:
        yield stack


def test_schemathesis_finds_no_server_errors(live: LiveStack) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_dict(OPENAPI)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(ROUTES_IN_SPEC)
    calls = 0

    def fuzz(operation: Any, headers: dict[str, str]) -> None:
        @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=live.url, headers=headers, checks=[not_a_server_error])

        run()

    for who, headers in live.headers.items():
        for operation in operations:
            try:
                fuzz(operation, headers)
            except Exception as err:
                raise AssertionError(f"{who}: {operation.method.upper()} {operation.path}: {err}") from err
    assert calls > 200
