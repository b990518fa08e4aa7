"""The portal's aiohttp plumbing: sessions from an HttpOnly SameSite cookie, CSRF on every form POST,
authorisation declared on every route (a route without a declaration is refused, never open), security
headers, and rendering. Tokens and passwords never reach the logs: aiohttp's access log is off and
paths with a token are not logged by the portal."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import jinja2
from aiohttp import web

from homeflex.jsonguard import json_depth_guard, text_guard
from homeflex.portal import auth
from homeflex.portal.actions import Portal
from homeflex.portal.journey import Role
from homeflex.portal.templates import CSS, environment, render
from homeflex.storage.portal import Account

log = logging.getLogger(__name__)

PORTAL = web.AppKey("portal", Portal)
JINJA = web.AppKey("jinja", jinja2.Environment)
SESSION_COOKIE = "hf_session"
ANON_CSRF_COOKIE = "hf_csrf"
PUBLIC = "public"  # a route anyone may open
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ACCOUNT = web.RequestKey("portal_account", Account)
CSRF = web.RequestKey("portal_csrf", str)
ANON_CSRF = web.RequestKey("portal_anon_csrf", bool)
SESSION_TOKEN = web.RequestKey("portal_session_token", str)
BEARER = web.RequestKey("portal_bearer", bool)


def allow(*roles: Role | str) -> Callable[[Handler], Handler]:
    """Declare who may call a route: PUBLIC, or roles. Household routes also check ownership."""

    def mark(handler: Handler) -> Handler:
        handler.allowed = frozenset(roles)  # type: ignore[attr-defined]
        return handler

    return mark


def portal(request: web.Request) -> Portal:
    return request.app[PORTAL]


def account(request: web.Request) -> Account | None:
    return request.get(ACCOUNT)


def client_address(request: web.Request) -> str:
    """Who is asking, for the login throttle: the peer, or, when the peer is a trusted reverse proxy
    (PortalConfig.trusted_proxies), the last address it appended to X-Forwarded-For."""
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if not forwarded or not _trusted(peer, portal(request).config.trusted_proxies):
        return peer
    return forwarded.split(",")[-1].strip()[:64] or peer


def _trusted(peer: str, proxies: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(p, strict=False) for p in proxies)


def actor(request: web.Request) -> tuple[str, Role]:
    a = account(request)
    assert a is not None  # only called on routes that need an account
    return a.email, a.role


def page(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    html = render(
        request.app[JINJA], name, {"account": account(request), "csrf": request.get(CSRF, ""), **context}
    )
    return web.Response(text=html, content_type="text/html", status=status)


def message(
    request: web.Request,
    title: str,
    text: str,
    status: int = 200,
    link: str | None = None,
    link_text: str = "",
) -> web.Response:
    return page(
        request, "message.html", status=status, title=title, message=text, link=link, link_text=link_text
    )


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def set_session_cookie(response: web.StreamResponse, token: str, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=secure, path="/")


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/")


async def _load_session(request: web.Request) -> None:
    p = portal(request)
    token = request.cookies.get(SESSION_COOKIE)
    header = request.headers.get("Authorization", "")
    if _wants_json(request) and header.startswith("Bearer "):
        token = header.removeprefix("Bearer ").strip()  # the REST API: bearer tokens, no cookies
        request[BEARER] = True
    if not token:
        return
    found = await p.store.session(auth.token_hash(token), p.clock.now())
    if found is not None:
        request[ACCOUNT], request[CSRF] = found
        request[SESSION_TOKEN] = token


def _denied(request: web.Request, status: int, why: str) -> web.StreamResponse:
    if _wants_json(request):
        return web.json_response({"error": why}, status=status)
    if status == 401:
        return redirect("/login")
    return message(request, "Not allowed", why, status=status)


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    await _load_session(request)
    if request.get(CSRF) is None:  # anonymous visitors: a double-submit token in its own cookie
        request[CSRF] = request.cookies.get(ANON_CSRF_COOKIE) or auth.new_token()
        request[ANON_CSRF] = True
    response = await _checked(request, handler)
    if request.get(ANON_CSRF) and ANON_CSRF_COOKIE not in request.cookies:
        response.set_cookie(ANON_CSRF_COOKIE, request[CSRF], httponly=True, samesite="Strict", path="/")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self';"
        " frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")  # links carry single-use tokens
    response.headers.setdefault("Cache-Control", "no-store")
    return response


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    route_handler = getattr(request.match_info.route, "handler", None)
    allowed: frozenset[Any] | None = getattr(route_handler, "allowed", None)
    if allowed is None:
        if request.match_info.http_exception is not None:
            return await handler(request)  # 404 / 405 from the router
        return _denied(request, 403, "this route declares no access rule")
    # CSRF wherever a browser's ambient credentials (cookies) could be used; bearer API calls carry none.
    ambient = not _wants_json(request) or request.get(ACCOUNT) is not None
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not request.get(BEARER) and ambient:
        form = await request.post() if request.content_type != "application/json" else {}
        sent = request.headers.get("X-CSRF-Token") or str(form.get("csrf", ""))
        if not sent or not auth.same(sent, request[CSRF]):
            return _denied(
                request, 403, "the form has expired or did not come from this site: reload and try again"
            )
    if PUBLIC not in allowed:
        a = account(request)
        if a is None:
            return _denied(request, 401, "log in first")
        if a.role not in allowed:
            return _denied(request, 403, "your account cannot open this page")
        household_id = request.match_info.get("household_id")
        if household_id is not None and a.role is Role.HOUSEHOLDER and household_id != a.household_id:
            return _denied(request, 403, "this is not your household")
    return await handler(request)


@allow(PUBLIC)
async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(text=CSS, content_type="text/css", headers={"Cache-Control": "max-age=3600"})


def build_app(p: Portal, routes: list[web.RouteDef]) -> web.Application:
    app = web.Application(
        middlewares=[security, json_depth_guard, text_guard], client_max_size=6 * 1024 * 1024
    )
    app[PORTAL] = p
    app[JINJA] = environment()
    app.add_routes([web.get("/static/portal.css", stylesheet), *routes])
    return app
