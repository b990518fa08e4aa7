"""3.1 token endpoint, auth server discovery, notifier bindings and MQTT topic names."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from aiohttp import web

from homeflex.vtn.oadr3.auth import AuthError
from homeflex.vtn.oadr3.events_api import own_ven_ids
from homeflex.vtn.oadr3.http import Handler, Problem, ctx, problem
from homeflex.vtn.oadr3.model import Topics


def _basic(header: str) -> tuple[str, str] | None:
    """client_id and secret from HTTP Basic (RFC 6749 §2.3.1: form-urlencoded, then base64)."""
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote(user), unquote(password)


async def token(request: web.Request) -> web.Response:
    """OAuth2 client credentials; the client authenticates in the form or with HTTP Basic."""
    c = ctx(request)
    form = dict(await request.post())
    basic = _basic(request.headers.get("Authorization", ""))
    if basic is not None:
        form.setdefault("client_id", basic[0])
        form.setdefault("client_secret", basic[1])
    errors = c.spec.request_errors("POST", "/auth/token", form)
    if errors:
        return problem(400, "; ".join(errors), error="invalid_request")
    client = await c.storage.get_oadr3_client(str(form["client_id"]))
    try:
        if client is None:
            raise AuthError("invalid_client", "unknown client or wrong secret")
        scope = form.get("scope")
        answer = c.issuer.issue(client, str(form["client_secret"]), str(scope) if scope else None)
    except AuthError as err:
        status = 401 if err.error == "invalid_client" else 400
        return problem(status, err.detail, error=err.error, error_description=err.detail)
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


async def auth_server(request: web.Request) -> web.Response:
    c = ctx(request)
    base = f"{request.scheme}://{request.host}{c.prefix}"
    return web.json_response({"tokenURL": f"{base}/auth/token"})


async def notifiers(request: web.Request) -> web.Response:
    c = ctx(request)
    answer: dict[str, object] = {"WEBHOOK": True}
    if c.notifier_uris:
        answer["MQTT"] = {
            "URIS": c.notifier_uris,
            "serialization": "JSON",
            "authentication": {"method": "ANONYMOUS"},
        }
    return web.json_response(answer)


def _topics(request: web.Request) -> Topics:
    return ctx(request).notifier.topics


async def _program_id(request: web.Request) -> str:
    program_id = request.match_info["programID"]
    if await ctx(request).storage.get_programme(program_id) is None:
        raise Problem(404, f"no program {program_id!r}")
    return program_id


async def _ven_id(request: web.Request) -> str:
    ven_id = request.match_info["venID"]
    own = await own_ven_ids(request)
    if await ctx(request).storage.get_oadr3_object("VEN", ven_id) is None or (
        own is not None and ven_id not in own
    ):
        raise Problem(404, f"no VEN {ven_id!r} for this client")
    return ven_id


def _all(plural: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(Topics.response(_topics(request).base(plural)))

    return handler


async def program_topics(request: web.Request) -> web.Response:
    # Per-object topics are the collection's: a program's own notifications go to programs/*.
    await _program_id(request)
    return web.json_response(Topics.response(_topics(request).base("programs"), create=False))


async def program_event_topics(request: web.Request) -> web.Response:
    base = _topics(request).for_program("events", await _program_id(request))
    return web.json_response(Topics.response(base))


async def ven_topics(request: web.Request) -> web.Response:
    base = _topics(request).for_ven("vens", await _ven_id(request))
    return web.json_response(Topics.response(base, create=False))


def _ven_scoped(plural: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        ven_id = await _ven_id(request)
        topics = _topics(request)
        # Programs are public to every VEN: their VEN-scoped topics are the collection's.
        base = topics.base(plural) if plural == "programs" else topics.for_ven(plural, ven_id)
        return web.json_response(Topics.response(base))

    return handler


ROUTES = [
    ("POST", "/auth/token", token),
    ("GET", "/auth/server", auth_server),
    ("GET", "/notifiers", notifiers),
    ("GET", "/notifiers/mqtt/topics/programs", _all("programs")),
    ("GET", "/notifiers/mqtt/topics/programs/{programID}", program_topics),
    ("GET", "/notifiers/mqtt/topics/events", _all("events")),
    ("GET", "/notifiers/mqtt/topics/programs/{programID}/events", program_event_topics),
    ("GET", "/notifiers/mqtt/topics/reports", _all("reports")),
    ("GET", "/notifiers/mqtt/topics/subscriptions", _all("subscriptions")),
    ("GET", "/notifiers/mqtt/topics/vens", _all("vens")),
    ("GET", "/notifiers/mqtt/topics/vens/{venID}", ven_topics),
    ("GET", "/notifiers/mqtt/topics/resources", _all("resources")),
    ("GET", "/notifiers/mqtt/topics/vens/{venID}/events", _ven_scoped("events")),
    ("GET", "/notifiers/mqtt/topics/vens/{venID}/programs", _ven_scoped("programs")),
    ("GET", "/notifiers/mqtt/topics/vens/{venID}/resources", _ven_scoped("resources")),
]
