"""No 500 from any HTTP API for odd but possible input: every operation of the operator API, the OpenADR
3.1 API and the portal's REST API gets years 0001 and 9999, a millisecond duration, huge and negative
numbers, a 100,000-deep JSON body, bodies without a content type, empty and null bodies, and bearer
tokens with odd claims. The answers may be 2xx or 4xx (that is for each API to decide); never 5xx.

The values are crossed with every documented operation (82 of them) deterministically, so a failure names
its request; the schemathesis runs (test_fuzz_api.py, tests/portal/test_api.py) generate from the schemas.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

import homeflex
from homeflex.core.clock import ManualClock
from homeflex.jsonguard import MAX_DEPTH, too_deep
from homeflex.portal.apidoc import OPENAPI as PORTAL_API
from homeflex.portal.journey import Role
from homeflex.portal.service import PortalService
from homeflex.storage import SQLiteStorage
from homeflex.vtn.oadr3 import PREFIX, Oadr3Service, provision_client
from homeflex.vtn.openapi import OPENAPI as OPERATOR_API
from homeflex.vtn.service import VtnService

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
OADR3_API = yaml.safe_load((Path(homeflex.__file__).parent / "vtn" / "oadr3" / "openadr3.yaml").read_text())
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000
ODD = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "PT0.001S", "P0D", "-P1D", "PT99999999999H", 1e308, -1]
FIELDS = ("start", "end", "duration", "intervalPeriod", "from", "to", "month", "programName", "targets", "at")
BODIES: list[str | bytes] = [
    DEEP_ARRAY,
    DEEP_OBJECT,
    b"",
    b"null",
    b"[]",
    b'"x"',
    b"not json",
    *(json.dumps(dict.fromkeys(FIELDS, v)) for v in ODD),
    json.dumps({"intervalPeriod": {"start": "9999-12-31T23:59:59Z", "duration": "PT0.001S"}}),
]


def _jwt(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def part(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}.signature"


ODD_TOKENS = [
    "",
    "a.b.c",
    _jwt({"alg": "none"}, {"sub": "bl", "role": "bl", "scope": "read_all write_events", "exp": 1e30}),
    _jwt({"alg": "HS256"}, {"sub": None, "role": [], "scope": 5, "exp": "never"}),
    "x" * 4000,
]


Operation = tuple[str, str, dict[str, str]]


@dataclass
class Apis:
    http: aiohttp.ClientSession
    operations: list[Operation]  # method, URL, the headers of a valid caller


def _operations(base: str, doc: dict[str, Any], auth: dict[str, str]) -> list[Operation]:
    methods = ("get", "post", "put", "delete", "patch")
    return [
        (m.upper(), base + re.sub(r"\{[^}]+\}", "hh1", path), auth)
        for path, ops in doc["paths"].items()
        for m in ops
        if m in methods
    ]


@pytest.fixture
async def apis(storage: SQLiteStorage) -> AsyncIterator[Apis]:
    clock = ManualClock(NOW)
    oadr3 = Oadr3Service(storage, clock, mqtt_url=None)

    async def no_settle(event_id: str) -> list[Any]:
        return []

    async with (
        VtnService(storage, clock, no_settle, port=0, oadr3=oadr3, api_token="operator-token") as vtn,
        PortalService(storage, clock, vtn.url, port=0, vtn_token="operator-token") as portal,
        aiohttp.ClientSession() as http,
    ):
        await portal.portal.create_account("op@example.org", Role.OPERATOR, "operator-password-1")
        secret = await provision_client(storage, clock, "bl", "bl")
        form = {"grant_type": "client_credentials", "client_id": "bl", "client_secret": secret}
        async with http.post(f"{vtn.url}{PREFIX}/auth/token", data=form) as r:
            oadr3_token = (await r.json())["access_token"]
        login = {"email": "op@example.org", "password": "operator-password-1"}
        async with http.post(f"{portal.url}/api/portal/login", json=login) as r:
            portal_token = (await r.json())["token"]
        yield Apis(
            http=http,
            operations=[
                *_operations(vtn.url, OPERATOR_API, {"Authorization": "Bearer operator-token"}),
                *_operations(vtn.url + PREFIX, OADR3_API, {"Authorization": f"Bearer {oadr3_token}"}),
                *_operations(portal.url, PORTAL_API, {"Authorization": f"Bearer {portal_token}"}),
            ],
        )


async def _status(
    http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: Any
) -> int:
    async with http.request(method, url, headers=headers, data=body) as r:
        await r.read()
        return r.status


async def test_no_server_error_for_odd_bodies_dates_and_durations(apis: Apis) -> None:
    errors: list[str] = []
    sent = 0
    for method, url, auth in apis.operations:
        for body in BODIES:
            for content_type in ({}, {"Content-Type": "application/json"}):
                status = await _status(apis.http, method, url, {**auth, **content_type}, body)
                sent += 1
                if status >= 500:
                    errors.append(f"{method} {url} {content_type} {str(body)[:60]!r}: {status}")
        keys = ("from", "to", "start", "end", "month", "limit")
        query = "&".join(f"{k}={v}" for k in keys for v in ODD[:3])
        status = await _status(apis.http, method, f"{url}?{query}", auth, None)
        if status >= 500:
            errors.append(f"{method} {url}?{query}: {status}")
    print(f"hostile inputs: {sent} requests over {len(apis.operations)} operations")
    assert len(apis.operations) >= 60
    assert not errors, "\n".join(errors[:20])


async def test_no_server_error_for_odd_tokens(apis: Apis) -> None:
    errors = []
    for method, url, _ in apis.operations:
        for token in ODD_TOKENS:
            status = await _status(apis.http, method, url, {"Authorization": f"Bearer {token}"}, b"{}")
            if status >= 500:
                errors.append(f"{method} {url} token {token[:30]!r}: {status}")
    assert not errors, "\n".join(errors[:20])


def test_the_depth_guard_measures_nesting_not_brackets_in_strings() -> None:
    assert not too_deep(json.dumps({"text": "[" * 1000}).encode())
    assert not too_deep(json.dumps([[1]] * 1000).encode())  # many, but shallow
    assert too_deep(("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode())
    assert not too_deep(("[" * MAX_DEPTH + "]" * MAX_DEPTH).encode())
