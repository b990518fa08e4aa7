"""The portal's REST API: the same actions as the pages, JSON in and out, bearer tokens from
POST /api/portal/login, and an OpenAPI 3 document at /api/portal/openapi.json.

Errors are {"error": "<why>"}: 400 bad input, 401/403 access, 404 unknown, 409 refused by the journey
or the VTN's rules, 502 VTN unreachable. Nothing the client sends should produce a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from homeflex.core.domain import Category, household_id_problem
from homeflex.core.timeutil import iso
from homeflex.ledger.books import household_statement
from homeflex.ledger.statements import statement_json
from homeflex.portal.actions import ActionError, LoginError
from homeflex.portal.apidoc import OPENAPI, P
from homeflex.portal.energy import ProfileError
from homeflex.portal.funnel import funnel
from homeflex.portal.journey import JourneyError, Role, Step, allowed_next
from homeflex.portal.vtnclient import VtnError
from homeflex.portal.web import PUBLIC, Handler, actor, allow, client_address, portal
from homeflex.storage.portal import Customer, TokenError


def _error(status: int, why: str) -> web.Response:
    return web.json_response({"error": why}, status=status)


def api(*roles: Role | str) -> Callable[[Handler], Handler]:
    """allow(...) plus the translation of domain errors into status codes."""

    def wrap(handler: Handler) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except (JourneyError, TokenError) as err:
                return _error(409, str(err))
            except LoginError as err:
                return _error(401, str(err))
            except ProfileError as err:
                return web.json_response({"error": str(err), "fields": err.errors}, status=400)
            except VtnError as err:
                return _error(err.status if 400 <= err.status < 500 else 502, str(err))
            except LookupError as err:
                return _error(404, str(err).strip("'\""))
            except (ActionError, ValueError, TypeError) as err:
                return _error(400, str(err))

        run.__name__ = handler.__name__
        return allow(*roles)(run)

    return wrap


async def body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ActionError(f"the body is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ActionError("the body must be a JSON object")
    return data


def customer_json(c: Customer, role: Role) -> dict[str, Any]:
    return {
        "household_id": c.household_id,
        "name": c.name,
        "email": c.email,
        "postcode": c.postcode,
        "step": c.state.step.value,
        "since": iso(c.state.since),
        "left_from": c.state.left_from.value if c.state.left_from else None,
        "next": [s.value for s in allowed_next(c.state, role)],
        "plan": c.data.get("plan"),
        "profile": c.data.get("profile"),
    }


async def _own(request: web.Request) -> Customer:
    if problem := household_id_problem(request.match_info["household_id"]):
        raise ActionError(problem)
    found = await portal(request).store.customer(request.match_info["household_id"])
    if found is None:
        raise LookupError(f"no household {request.match_info['household_id']!r}")
    return found


@api(PUBLIC)
async def login(request: web.Request) -> web.Response:
    b = await body(request)
    s = await portal(request).login(
        str(b.get("email", "")), str(b.get("password", "")), client_address(request)
    )
    return web.json_response(
        {"token": s.token, "role": s.account.role.value, "household_id": s.account.household_id}
    )


@api(PUBLIC)
async def interest(request: web.Request) -> web.Response:
    b = await body(request)
    if not isinstance(b.get("intentions", []), list) or not isinstance(b.get("owned", {}), dict):
        raise ActionError("'intentions' must be a list and 'owned' an object")
    household_id, _ = await portal(request).express_interest(b)  # the private link goes by email only
    return web.json_response({"household_id": household_id}, status=201)


@api(Role.OPERATOR)
async def households(request: web.Request) -> web.Response:
    return web.json_response(
        [customer_json(c, Role.OPERATOR) for c in await portal(request).store.customers()]
    )


@api(Role.HOUSEHOLDER, Role.OPERATOR)
async def household(request: web.Request) -> web.Response:
    c = await _own(request)
    _, role = actor(request)
    history = await portal(request).store.categories(c.household_id)
    return web.json_response(
        {
            **customer_json(c, role),
            "categories": [
                {
                    "category": h.category.value,
                    "vulnerable": h.vulnerable,
                    "since": iso(h.since),
                    "reason": h.reason,
                }
                for h in history
            ],
        }
    )


@api(Role.HOUSEHOLDER, Role.OPERATOR)
async def audit(request: web.Request) -> web.Response:
    c = await _own(request)
    return web.json_response(
        [
            {
                "from": e.from_step.value if e.from_step else None,
                "to": e.to_step.value,
                "role": e.role.value,
                "at": iso(e.at),
                "reason": e.reason,
            }
            for e in await portal(request).store.audit(c.household_id)
        ]
    )


@api(Role.HOUSEHOLDER, Role.OPERATOR)
async def transition(request: web.Request) -> web.Response:
    p, c, b = portal(request), await _own(request), await body(request)
    who, role = actor(request)
    to = Step(str(b.get("to", "")))
    reason = str(b.get("reason", ""))
    extra: dict[str, Any] = {}
    if role is Role.OPERATOR:
        creds = await p.operator_move(c, to, who, reason)
        if creds:
            extra["credentials"] = creds
    elif to is Step.LEFT:
        await p.leave(c, who, role, reason)
    elif c.state.step is Step.LEFT:
        await p.come_back(c, who, role)
    else:
        raise JourneyError("a householder moves on by filling in the pages' forms, or leaves or returns")
    c = await _own(request)
    return web.json_response({**customer_json(c, role), **extra})


@api(Role.OPERATOR)
async def set_category(request: web.Request) -> web.Response:
    p, c, b = portal(request), await _own(request), await body(request)
    who, _ = actor(request)
    await p.set_category(
        c, str(b.get("category", "")), bool(b.get("vulnerable", False)), str(b.get("reason", "")), who
    )
    return web.json_response({"household_id": c.household_id, "category": b.get("category")})


@api(Role.HOUSEHOLDER, Role.OPERATOR)
async def config(request: web.Request) -> web.Response:
    """The household's configuration document, as its agent runs it (the newest version)."""
    c = await _own(request)
    record = await portal(request).storage.latest_household_config(c.household_id)
    if record is None:
        raise LookupError(f"no configuration for {c.household_id} yet: fill in the smart energy profile")
    return web.json_response(record.document)


@api(Role.HOUSEHOLDER, Role.OPERATOR)
async def config_versions(request: web.Request) -> web.Response:
    c = await _own(request)
    _, role = actor(request)
    return web.json_response(
        [
            {"version": v.version, "saved_at": iso(v.saved_at)}
            | ({"actor": v.actor} if role is Role.OPERATOR else {})  # staff emails are the operator's
            for v in await portal(request).storage.household_config_versions(c.household_id)
        ]
    )


@api(Role.HOUSEHOLDER, Role.OPERATOR)
async def events(request: web.Request) -> web.Response:
    p, c = portal(request), await _own(request)
    skipped = {s.event_id for s in await p.store.skips(c.household_id)}
    return web.json_response(
        [
            {
                "event_id": e.event_id,
                "start": iso(e.start),
                "end": iso(e.end),
                "status": e.status,
                "reduction_kw": e.reduction_kw,
                "price_gbp_per_mwh": e.price_gbp_per_mwh,
                "opt_type": opt,
                "skipped": e.event_id in skipped,
            }
            for e, opt in await p.events_for(c.household_id)
        ]
    )


@api(Role.HOUSEHOLDER, Role.OPERATOR)
async def skip(request: web.Request) -> web.Response:
    p, c = portal(request), await _own(request)
    who, _ = actor(request)
    await p.skip_event(c, request.match_info["event_id"], who)
    return web.json_response({"event_id": request.match_info["event_id"], "skipped": True})


@api(Role.HOUSEHOLDER, Role.OPERATOR)
async def statement(request: web.Request) -> web.Response:
    c = await _own(request)
    s = await household_statement(portal(request).storage, c.household_id, request.match_info["month"])
    return web.json_response(statement_json(s))


@api(Role.OPERATOR)
async def get_funnel(request: web.Request) -> web.Response:
    p = portal(request)
    chosen = request.query.get("category")
    category = Category(chosen) if chosen else None
    current = {c.household_id: c.category for c in await p.store.categories()}
    rows = funnel(await p.store.audit(), current, category)
    return web.json_response(
        [
            {
                "step": r.step.value,
                "now_at": r.now_at,
                "reached": r.reached,
                "left_here": r.left_here,
                "median_days": r.median_days,
            }
            for r in rows
        ]
    )


@api(Role.OPERATOR)
async def list_sessions(request: web.Request) -> web.Response:
    return web.json_response(
        [
            {
                "id": s.id,
                "starts_at": iso(s.starts_at),
                "mode": s.mode,
                "place": s.place,
                "capacity": s.capacity,
                "booked": s.booked,
            }
            for s in await portal(request).store.info_sessions()
        ]
    )


@api(Role.OPERATOR)
async def create_session(request: web.Request) -> web.Response:
    p, b = portal(request), await body(request)
    from homeflex.core.timeutil import parse_utc

    capacity = b.get("capacity")
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise ActionError("'capacity' must be a whole number")
    session_id = await p.store.create_info_session(
        parse_utc(str(b.get("starts_at", ""))),
        str(b.get("mode", "")),
        str(b.get("place", "")),
        capacity,
        p.clock.now(),
    )
    return web.json_response({"id": session_id}, status=201)


@api(Role.OPERATOR)
async def create_event(request: web.Request) -> web.Response:
    created = await portal(request).create_event(await body(request))
    return web.json_response(created, status=201)


@api(Role.OPERATOR)
async def get_event(request: web.Request) -> web.Response:
    return web.json_response(await portal(request).vtn.event(request.match_info["event_id"]))


@api(Role.OPERATOR)
async def cancel_event(request: web.Request) -> web.Response:
    return web.json_response(await portal(request).vtn.cancel_event(request.match_info["event_id"]))


@api(Role.OPERATOR)
async def settle_event(request: web.Request) -> web.Response:
    return web.json_response(await portal(request).vtn.settle_event(request.match_info["event_id"]))


@api(Role.OPERATOR)
async def payments(request: web.Request) -> web.Response:
    balances = await portal(request).storage.ledger_balances()
    return web.json_response({k: str(v) for k, v in sorted(balances.items())})


@api(PUBLIC)
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


ROUTES = [
    web.post(f"{P}/login", login),
    web.post(f"{P}/interest", interest),
    web.get(f"{P}/households", households),
    web.get(f"{P}/households/{{household_id}}", household),
    web.get(f"{P}/households/{{household_id}}/audit", audit),
    web.post(f"{P}/households/{{household_id}}/transitions", transition),
    web.post(f"{P}/households/{{household_id}}/category", set_category),
    web.get(f"{P}/households/{{household_id}}/config", config),
    web.get(f"{P}/households/{{household_id}}/config/versions", config_versions),
    web.get(f"{P}/households/{{household_id}}/events", events),
    web.post(f"{P}/households/{{household_id}}/events/{{event_id}}/skip", skip),
    web.get(f"{P}/households/{{household_id}}/statements/{{month}}", statement),
    web.get(f"{P}/funnel", get_funnel),
    web.get(f"{P}/sessions", list_sessions),
    web.post(f"{P}/sessions", create_session),
    web.post(f"{P}/events", create_event),
    web.get(f"{P}/events/{{event_id}}", get_event),
    web.delete(f"{P}/events/{{event_id}}", cancel_event),
    web.post(f"{P}/events/{{event_id}}/settle", settle_event),
    web.get(f"{P}/payments", payments),
    web.get(f"{P}/openapi.json", openapi),
]
