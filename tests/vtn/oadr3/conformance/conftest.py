"""A black-box OpenADR 3.1 conformance suite: it speaks to the running VTN only over HTTP (and MQTT for
notifications), as a generic 3.1 client would, and checks every answer against the OpenAPI document
(the published 3.1.1 openadr3.yaml, shipped as homeflex/vtn/oadr3/openadr3.yaml) and its prose.

Three clients: business logic `bl` and the VEN clients `ven-hh1` and `ven-hh2` (households hh1, hh2 and
hh3 are enrolled through the operator API before the suite starts, as the DSO's onboarding would)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

import aiohttp
import pytest
import yaml

from homeflex.storage import SQLiteStorage
from homeflex.vtn.oadr3 import PREFIX
from homeflex.vtn.oadr3.spec import OpenApi
from homeflex.vtn.oadr3.webhooks import WebhookPolicy
from tests.vtn.oadr3.conftest import NOW, running_vtn


@cache
def document() -> OpenApi:
    """The document itself, read from its file (not the VTN's parsed copy)."""
    text = (resources.files("homeflex.vtn.oadr3") / "openadr3.yaml").read_text()
    return OpenApi(yaml.safe_load(text))


def operations() -> list[tuple[str, str]]:
    return sorted(document().operations)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Api:
    http: aiohttp.ClientSession
    secrets: dict[str, str]
    topic_prefix: str
    mqtt_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    covered: set[tuple[str, str]] = field(default_factory=set)  # operations called

    async def token(self, client_id: str) -> str:
        if client_id not in self.tokens:
            form = {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": self.secrets[client_id],
            }
            async with self.http.post(f"{PREFIX}/auth/token", data=form) as r:
                assert r.status == 200, await r.text()
                self.tokens[client_id] = (await r.json())["access_token"]
        return self.tokens[client_id]

    async def call(
        self,
        method: str,
        path: str,
        who: str | None,
        body: Any = None,
        *,
        template: str | None = None,
        params: Any = None,
        token: str | None = None,
    ) -> Answer:
        """One operation; `template` is the document's path when `path` has ids filled in. The answer is
        checked against the document (status listed, body valid) and any break recorded."""
        headers = {"Authorization": f"Bearer {token or await self.token(who)}"} if who or token else {}
        async with self.http.request(method, PREFIX + path, json=body, headers=headers, params=params) as r:
            raw = await r.read()
            assert r.status < 500, raw
            answer = Answer(r.status, json.loads(raw) if raw else None, dict(r.headers))
        key = (method, template or path)
        assert key in document().operations, f"{key} is not a documented operation"
        self.covered.add(key)
        for error in document().response_errors(method, key[1], answer.status, answer.body):
            if answer.status in (401, 409):  # unlisted statuses: deviations, checked as problem bodies
                errors = document().schema_errors("problem", answer.body)
                self.violations += [f"{method} {path} -> {answer.status}: {e}" for e in errors]
                break
            self.violations.append(f"{method} {path} -> {answer.status}: {error}")
        assert answer.status < 500, answer.body
        return answer


@pytest.fixture
async def api(storage: SQLiteStorage, mqtt_url: str, uid: str) -> AsyncIterator[Api]:
    # The operator's explicit choice (oadr3_webhook_allow): the suite's callbacks are on loopback.
    allow = WebhookPolicy.from_setting("127.0.0.0/8")
    async with running_vtn(storage, mqtt_url, f"conf-{uid}/OpenADR/3.1/", allow) as vtn:
        client = Api(vtn.http, vtn.secrets, vtn.topic_prefix, vtn.mqtt_url)
        yield client
    assert client.violations == [], "answers that break the document"


def start(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def event_body(program_id: str, **changes: Any) -> dict[str, Any]:
    """An event in five hours for hh1 (a second event for the same households needs another window:
    a household takes part in one event at a time, e.g. ``intervalPeriod=LATER``)."""
    body: dict[str, Any] = {
        "programID": program_id,
        "eventName": "evening peak",
        "priority": 2,
        "targets": ["hh1"],
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": "DISPATCH_SETPOINT_RELATIVE",
                "units": "KW",
            }
        ],
        "intervalPeriod": {"start": start(5), "duration": "PT30M"},
        "intervals": [{"id": 0, "payloads": [{"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-2.0]}]}],
    }
    body.update(changes)
    return body


LATER = {"start": start(7), "duration": "PT30M"}


def program_body(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "programName": name,
        "intervalPeriod": {"start": start(0), "duration": "P1D"},
        "programDescriptions": [{"URL": "https://dso.example/programs/flex"}],
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": "PRICE",
                "units": "KWH",
                "currency": "GBP",
            }
        ],
        "attributes": [{"type": "LOCATION", "values": ["north"]}],
        "targets": ["north"],
    }
    body.update(changes)
    return body
