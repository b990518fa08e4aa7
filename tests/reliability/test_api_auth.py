"""The operator API with a bearer token (setting `api_token`): every /api route refuses a request without
the token or with a wrong one, accepts the right one, and the token never reaches the logs."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest

from homeflex.core.clock import WallClock
from homeflex.mqtt.broker import free_port
from homeflex.storage import SQLiteStorage
from homeflex.vtn.service import VtnService
from homeflex.vtn.tls import tls_from_settings

TOKEN = "s3cret-operator-token-123"

ROUTES = [
    ("PUT", "/api/households/hh1", {"group": "g", "category": "B"}),
    ("GET", "/api/households", None),
    ("POST", "/api/events", {}),
    ("GET", "/api/events", None),
    ("GET", "/api/events/x", None),
    ("DELETE", "/api/events/x", None),
    ("POST", "/api/events/x/settle", None),
    ("PUT", "/api/programmes/p", {}),
    ("GET", "/api/programmes/p", None),
    ("GET", "/api/households/hh1/statements/2026-11", None),
    ("GET", "/api/households/hh1/profile", None),
    ("GET", "/api/households/hh1/profile/versions", None),
    ("GET", "/api/ledger/reconciliation", None),
]


async def no_settle(event_id: str) -> list[Any]:
    return []


async def test_every_api_route_wants_the_bearer_token(
    storage: SQLiteStorage, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    with caplog.at_level(logging.DEBUG):
        async with (
            VtnService(storage, WallClock(), no_settle, port=port, api_token=TOKEN) as vtn,
            aiohttp.ClientSession(vtn.url) as http,
        ):
            for method, path, body in ROUTES:
                for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                    async with http.request(method, path, json=body, headers=headers) as r:
                        assert r.status == 401, (method, path, headers)
                        assert r.headers["WWW-Authenticate"].startswith("Bearer")
                        assert await r.json() == {"error": "missing or wrong bearer token"}
            auth = {"Authorization": f"Bearer {TOKEN}"}
            async with http.put(
                "/api/households/hh1", json={"group": "g", "category": "B"}, headers=auth
            ) as r:
                assert r.status == 200
            async with http.get("/api/households", headers=auth) as r:
                assert r.status == 200 and [h["id"] for h in await r.json()] == ["hh1"]
            async with http.get("/metrics") as r:  # scraping stays open
                assert r.status == 200
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_tls_settings_are_all_or_nothing() -> None:
    assert tls_from_settings(None, None, None) is None
    with pytest.raises(ValueError, match="together"):
        tls_from_settings("vtn.crt", None, "ca.crt")
