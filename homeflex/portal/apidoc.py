"""The OpenAPI document of the portal's REST API (served at /api/portal/openapi.json; the tests check
every route against it)."""

from __future__ import annotations

from typing import Any

P = "/api/portal"


def _op(
    summary: str,
    *,
    params: tuple[str, ...] = (),
    body_schema: dict[str, Any] | None = None,
    public: bool = False,
    ok: int = 200,
    query: tuple[str, ...] = (),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in params
        ]
        + [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in query],
        "responses": {
            str(ok): {"description": "OK"},
            "400": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"},
            "409": {"$ref": "#/components/responses/Error"},
        },
    }
    if not public:
        op["responses"]["401"] = {"$ref": "#/components/responses/Error"}
        op["responses"]["403"] = {"$ref": "#/components/responses/Error"}
    else:
        op["security"] = []
    if body_schema is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body_schema}}}
    return op


def _obj(**props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props}


S, N, B = {"type": "string"}, {"type": "number"}, {"type": "boolean"}
HH, EV = ("household_id",), ("event_id",)
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "homeflex portal API", "version": "1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "responses": {
            "Error": {
                "description": "why the request failed",
                "content": {"application/json": {"schema": _obj(error=S)}},
            }
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        f"{P}/login": {
            "post": _op("a bearer token for an account", public=True, body_schema=_obj(email=S, password=S))
        },
        f"{P}/interest": {
            "post": _op(
                "an expression of interest",
                public=True,
                ok=201,
                body_schema=_obj(
                    name=S,
                    email=S,
                    postcode=S,
                    intentions={"type": "array", "items": S},
                    owned={"type": "object"},
                    vulnerable=B,
                ),
            )
        },
        f"{P}/households": {"get": _op("every customer (operator)")},
        f"{P}/households/{{household_id}}": {
            "get": _op("one customer with journey and categories", params=HH)
        },
        f"{P}/households/{{household_id}}/audit": {"get": _op("the journey's audit trail", params=HH)},
        f"{P}/households/{{household_id}}/transitions": {
            "post": _op("move the customer along the journey", params=HH, body_schema=_obj(to=S, reason=S))
        },
        f"{P}/households/{{household_id}}/category": {
            "post": _op(
                "change the category (history kept)",
                params=HH,
                body_schema=_obj(category=S, vulnerable=B, reason=S),
            )
        },
        f"{P}/households/{{household_id}}/config": {
            "get": _op("the household's configuration document (newest version)", params=HH)
        },
        f"{P}/households/{{household_id}}/config/versions": {
            "get": _op("every version of the household's configuration", params=HH)
        },
        f"{P}/households/{{household_id}}/events": {"get": _op("events for the household", params=HH)},
        f"{P}/households/{{household_id}}/events/{{event_id}}/skip": {
            "post": _op("skip an upcoming event (customer override)", params=HH + EV)
        },
        f"{P}/households/{{household_id}}/statements/{{month}}": {
            "get": _op("a monthly statement with evidence", params=(*HH, "month"))
        },
        f"{P}/funnel": {"get": _op("the funnel, optionally for one category", query=("category",))},
        f"{P}/sessions": {
            "get": _op("information sessions"),
            "post": _op(
                "schedule an information session",
                ok=201,
                body_schema=_obj(
                    starts_at=S,
                    mode={"type": "string", "enum": ["face_to_face", "online"]},
                    place=S,
                    capacity={"type": "integer"},
                ),
            ),
        },
        f"{P}/events": {
            "post": _op(
                "create an event through the VTN",
                ok=201,
                body_schema=_obj(
                    group=S,
                    targets={"type": "array", "items": S},
                    start=S,
                    end=S,
                    duration_minutes=N,
                    reduction_kw=N,
                    price_gbp_per_mwh=N,
                    programme=S,
                ),
            )
        },
        f"{P}/events/{{event_id}}": {
            "get": _op("an event with live delivery", params=EV),
            "delete": _op("cancel an event", params=EV),
        },
        f"{P}/events/{{event_id}}/settle": {"post": _op("run settlement for an event", params=EV)},
        f"{P}/payments": {"get": _op("ledger balances per account")},
        f"{P}/openapi.json": {"get": _op("this document", public=True)},
    },
}
