"""The OpenADR 3.1 HTTP plumbing: one middleware authenticates, checks scopes and validates the request
against the OpenAPI document, turns errors into the spec's problem JSON and, when asked (tests), checks
every response against the document too."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from homeflex.core.clock import Clock
from homeflex.storage import Storage
from homeflex.vtn.events import BadRequest
from homeflex.vtn.oadr3.auth import AuthError, Principal, TokenIssuer
from homeflex.vtn.oadr3.notify import Notifier
from homeflex.vtn.oadr3.spec import OpenApi
from homeflex.vtn.oadr3.webhooks import WebhookPolicy

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.Response]]
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}
MAX_LIMIT = 50
# Answered as they are even where an operation's list of responses lacks them (docs/openadr3-deviations.md):
# 401 for a missing or bad token on every operation that needs one (GET /notifiers lists only 200), and
# 409 for a conflict (POST /vens lists no 409, though a VEN name is unique).
UNLISTED = (401, 409)
REALM = 'Bearer realm="openadr3"'
# The document asks read_all (a BL scope) to discover notifiers and program topics; VENs must discover them
# too, and programs are public to VENs here, so read_targets (a VEN scope) also grants these.
EXTRA_SCOPES = {
    ("GET", "/notifiers"): ("read_targets",),
    ("GET", "/notifiers/mqtt/topics/programs"): ("read_targets",),
    ("GET", "/notifiers/mqtt/topics/programs/{programID}"): ("read_targets",),
}


class Problem(Exception):
    """An error answered with the spec's problem JSON."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def problem(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    return web.json_response({**body, **extra}, status=status, headers=headers)


def unauthorized(detail: str, error: str | None = None) -> Problem:
    """401 with the RFC 6750 section 3 challenge: no error code when no token came, else invalid_token."""
    challenge = REALM + (f', error="{error}", error_description="{detail}"' if error else "")
    return Problem(401, detail, {"WWW-Authenticate": challenge})


@dataclass(kw_only=True)
class Context:
    """What every 3.1 handler needs; one per mounted API."""

    storage: Storage
    clock: Clock
    spec: OpenApi
    issuer: TokenIssuer
    notifier: Notifier
    prefix: str
    notifier_uris: list[str]
    notify: Callable[[Awaitable[Any]], None]  # run a notification in the background
    check_responses: bool = False
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)  # where callbackUrls may point
    violations: list[str] = field(default_factory=list)  # responses that broke the document


CONTEXT = web.AppKey("oadr3", Context)
PRINCIPAL = web.RequestKey("oadr3_principal", Principal)
BODY = web.RequestKey("oadr3_body", object)


def ctx(request: web.Request) -> Context:
    return request.app[CONTEXT]


def principal(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def body(request: web.Request) -> Any:
    return request[BODY]


def paging(request: web.Request) -> tuple[int, int]:
    """skip and limit of a list operation (limit at most 50, as the document says)."""
    try:
        skip = int(request.query.get("skip", 0))
        limit = int(request.query.get("limit", MAX_LIMIT))
    except ValueError as err:
        raise Problem(400, "skip and limit must be integers") from err
    if not 0 <= skip < 2**31 or not 0 <= limit <= MAX_LIMIT:
        raise Problem(400, f"skip must be between 0 and 2^31-1 and limit between 0 and {MAX_LIMIT}")
    return skip, limit


def page(request: web.Request, items: list[Any]) -> list[Any]:
    """skip/limit pagination of a list already filtered."""
    skip, limit = paging(request)
    return items[skip : skip + limit]


def flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "false").lower()
    if value not in ("true", "false"):
        raise Problem(400, f"{name} must be true or false")
    return value == "true"


def _authenticate(request: web.Request, scopes: tuple[str, ...]) -> Principal | None:
    if not scopes:
        return None
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise unauthorized("send a bearer token from the token endpoint (OAuth2 client credentials)")
    try:
        who = ctx(request).issuer.verify(header.removeprefix("Bearer ").strip())
    except AuthError as err:
        raise unauthorized(err.detail, err.error) from err
    if not who.scopes & set(scopes):
        raise Problem(403, f"this operation needs the scope {' or '.join(scopes)}")
    return who


def drop_nulls(value: Any) -> Any:
    """A null member is read as an absent one. openadr3-client 2.4.2 sends null for optional members the
    document does not make nullable (intervalPeriod, randomizeStart); refusing those would refuse it."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


async def _read_body(request: web.Request, method: str, path: str) -> Any:
    c = ctx(request)
    if c.spec.operations[(method, path)].request is None or not _takes_json(c, method, path):
        return None  # no body, or a form (the token endpoint reads its own)
    # The handler needs the document: a body of another type, none, or null is the client's error.
    if request.content_type != "application/json":
        raise Problem(400, "this operation takes a JSON body, sent as Content-Type: application/json")
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise Problem(400, f"the body is not valid JSON: {err}") from err
    if data is None:
        raise Problem(400, "the body is null: this operation takes a JSON document")
    # Text no database stores (a NUL, a lone surrogate) never gets here: the VTN app's text_guard
    # (homeflex.jsonguard) refuses it for every API on the app, 3.1 included.
    data = drop_nulls(data)
    errors = c.spec.request_errors(method, path, data)
    if errors:
        raise Problem(400, "the request does not match the OpenADR 3.1 schema: " + "; ".join(errors[:5]))
    return data


def _takes_json(c: Context, method: str, path: str) -> bool:
    body = c.spec.document["paths"][path][method.lower()].get("requestBody") or {}
    return "application/json" in (body.get("content") or {})


def _check_response(c: Context, method: str, path: str, response: web.StreamResponse) -> None:
    if not isinstance(response, web.Response) or response.body is None:
        return
    raw = response.body if isinstance(response.body, bytes) else b""
    data = json.loads(raw) if raw else None
    if response.status in UNLISTED and response.status not in c.spec.operations[(method, path)].responses:
        errors = c.spec.schema_errors("problem", data)
    else:
        errors = c.spec.response_errors(method, path, response.status, data)
    for e in errors:
        c.violations.append(f"{method} {path} -> {response.status}: {e}")


@web.middleware
async def oadr3_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    c = request.app[CONTEXT]
    route = request.match_info.route.resource
    template = route.canonical if route is not None else ""
    if not template.startswith(c.prefix + "/"):
        return await handler(request)  # not ours: 2.0b, operator API
    method, path = request.method, template.removeprefix(c.prefix)
    if (method, path) not in c.spec.operations:
        return await handler(request)
    try:
        scopes = c.spec.operations[(method, path)].scopes + EXTRA_SCOPES.get((method, path), ())
        who = _authenticate(request, scopes)
        if who is not None:
            request[PRINCIPAL] = who
        request[BODY] = await _read_body(request, method, path)
        response = await handler(request)
    except Problem as err:
        # Any other status the document does not list for this operation becomes 400.
        documented = err.status in c.spec.operations[(method, path)].responses or err.status in UNLISTED
        response = problem(err.status if documented else 400, err.detail, err.headers)
    except BadRequest as err:
        response = problem(400, str(err))
    if c.check_responses:
        _check_response(c, method, path, response)
    return response
