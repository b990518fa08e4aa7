"""The operator API's OpenAPI 3.0 document, served at /api/openapi.json and fuzzed with schemathesis
(tests/reliability/test_fuzz_api.py). Request bodies are described loosely on purpose: the API must
answer anything with a clear 4xx, so the fuzzer may send what the schema allows and more."""

from __future__ import annotations

from typing import Any

from aiohttp import web

_JSON = "application/json"
_ERROR = {
    "description": "a clear error",
    "content": {_JSON: {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}},
}
_OBJECT = {"description": "OK", "content": {_JSON: {"schema": {"type": "object"}}}}
_LIST = {"description": "OK", "content": {_JSON: {"schema": {"type": "array"}}}}


def _path_param(name: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {_JSON: {"schema": schema}}}


def _op(summary: str, ok: str, ok_body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    responses = {ok: ok_body, "400": _ERROR, "401": _ERROR, "404": _ERROR, "409": _ERROR}
    return {"summary": summary, "responses": responses, **extra}


HOUSEHOLD = {
    "type": "object",
    "properties": {
        "group": {"type": "string"},
        "category": {"type": "string", "enum": ["A", "B", "C", "D"]},
        "vulnerable": {"type": "boolean"},
    },
}
EVENT_REQUEST = {
    "type": "object",
    "properties": {
        "targets": {"type": "array", "items": {"type": "string"}},
        "group": {"type": "string"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "duration_minutes": {"type": "number"},
        "reduction_kw": {"type": "number"},
        "price_gbp_per_mwh": {"type": "number"},
        "programme": {"type": "string"},
        "trial": {"type": "boolean"},
    },
}
PROGRAMME = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "baseline_method": {"type": "string"},
        "baseline_params": {"type": "object"},
        "adjustment": {"type": "object"},
        "payment_curve": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "availability_gbp_per_mw_h": {"type": "string"},
        "community_share": {"type": "string"},
    },
}
HH, EV, PROG = _path_param("household_id"), _path_param("event_id"), _path_param("programme_id")
AGGREGATOR = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "members": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"household_id": {"type": "string"}, "offered_kw": {"type": "number"}},
            },
        },
    },
}
AGG = _path_param("aggregator_id")

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "homeflex operator API", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],  # when the VTN runs with `api_token`
    "paths": {
        "/api/households": {
            "get": _op(
                "enrolled households",
                "200",
                _LIST,
                parameters=[
                    {"name": "group", "in": "query", "required": False, "schema": {"type": "string"}}
                ],
            )
        },
        "/api/households/{household_id}": {
            "put": _op(
                "enrol or update a household", "200", _OBJECT, parameters=[HH], requestBody=_body(HOUSEHOLD)
            )
        },
        "/api/events": {
            "get": _op("all events", "200", _LIST),
            "post": _op("create a flex event", "201", _OBJECT, requestBody=_body(EVENT_REQUEST)),
        },
        "/api/events/{event_id}": {
            "get": _op("an event with its targets' answers", "200", _OBJECT, parameters=[EV]),
            "delete": _op("cancel an event", "200", _OBJECT, parameters=[EV]),
        },
        "/api/events/{event_id}/settle": {"post": _op("settle an event", "200", _OBJECT, parameters=[EV])},
        "/api/programmes/{programme_id}": {
            "get": _op("a programme", "200", _OBJECT, parameters=[PROG]),
            "put": _op(
                "create or update a programme",
                "200",
                _OBJECT,
                parameters=[PROG],
                requestBody=_body(PROGRAMME),
            ),
        },
        "/api/households/{household_id}/statements/{month}": {
            "get": _op("a monthly statement", "200", _OBJECT, parameters=[HH, _path_param("month")])
        },
        "/api/households/{household_id}/profile": {
            "get": _op("the learned stage-1 profile", "200", _OBJECT, parameters=[HH])
        },
        "/api/households/{household_id}/profile/versions": {
            "get": _op("every stored profile version", "200", _LIST, parameters=[HH])
        },
        "/api/ledger/reconciliation": {"get": _op("the books reconciled", "200", _OBJECT)},
        "/api/openapi.json": {"get": _op("this document", "200", _OBJECT)},
        "/api/aggregators": {"get": _op("every aggregator with its portfolio", "200", _LIST)},
        "/api/aggregators/{aggregator_id}": {
            "get": _op("an aggregator with its portfolio", "200", _OBJECT, parameters=[AGG]),
            "put": _op(
                "create an aggregator or replace its portfolio",
                "200",
                _OBJECT,
                parameters=[AGG],
                requestBody=_body(AGGREGATOR),
            ),
        },
        "/api/aggregators/{aggregator_id}/events/{event_id}": {
            "get": _op(
                "the aggregator's settlement of an event, per resource", "200", _OBJECT, parameters=[AGG, EV]
            )
        },
    },
}


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)
