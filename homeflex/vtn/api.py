"""The operator HTTP API: enrol households, create and cancel events, read their status, and show each
household's learned stage-1 profile with its readiness.

JSON in and out; a bad request gets 400 with {"error": "<why>"} and changes nothing.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Protocol

from aiohttp import web

from homeflex import metrics
from homeflex.core.clock import Clock
from homeflex.core.domain import Category, household_id_problem
from homeflex.core.timeutil import iso
from homeflex.ledger.books import household_statement, reconcile_books
from homeflex.ledger.statements import statement_json
from homeflex.profiles.job import profile_document
from homeflex.settlement.limits import UnsettleableEventError
from homeflex.settlement.programme import programme_from_json, programme_json, rules_from_record
from homeflex.storage import CorruptRecordError, OverlappingEventError, Storage
from homeflex.storage.deliveries import DeliveryStore
from homeflex.storage.records import EventRecord, HouseholdRecord, ProfileVersion, SettlementRecord
from homeflex.storage.settlement import SettlementStore
from homeflex.vtn import aggregators
from homeflex.vtn.events import TRIAL_PROGRAMME, BadRequest, event_status, new_event, parse_event_request
from homeflex.vtn.openapi import openapi_json

Settle = Callable[[str], Awaitable[list[SettlementRecord]]]
STORAGE = web.AppKey("storage", Storage)


class EventSettlements(DeliveryStore, SettlementStore, Protocol):
    """An event's targets with what they answered and how they were settled."""


CLOCK = web.AppKey("clock", Clock)
SETTLE = web.AppKey("settle", object)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_json(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadRequest(f"the body is not valid JSON: {err}") from err


@web.middleware
async def bad_request_as_400(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadRequest as err:
        return error(400, str(err))


def household_json(h: HouseholdRecord) -> dict[str, Any]:
    return {"id": h.id, "group": h.group, "category": h.category.value, "vulnerable": h.vulnerable}


async def put_household(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    household_id = request.match_info["household_id"]
    if problem := household_id_problem(household_id):
        raise BadRequest(problem)
    try:
        record = HouseholdRecord(
            id=household_id,
            group=str(body.get("group", "community")),
            category=Category(str(body.get("category"))),
            vulnerable=bool(body.get("vulnerable", False)),
        )
    except ValueError as err:
        raise BadRequest(f"'category' must be one of A, B, C, D: {err}") from err
    await request.app[STORAGE].upsert_household(record, request.app[CLOCK].now())
    return web.json_response(household_json(record))


async def list_households(request: web.Request) -> web.Response:
    households = await request.app[STORAGE].list_households(request.query.get("group"))
    return web.json_response([household_json(h) for h in households])


async def create_event(request: web.Request) -> web.Response:
    storage, now = request.app[STORAGE], request.app[CLOCK].now()
    req = parse_event_request(await read_json(request), now)
    if await storage.get_programme(req.programme) is None:
        raise BadRequest(f"unknown programme {req.programme!r}")
    aggregator_ids = {a.id for a in await storage.list_aggregators()}
    if req.targets is not None:
        unknown = [t for t in req.targets if await storage.get_household(t) is None]
        if unknown:
            raise BadRequest(f"unknown household(s): {', '.join(unknown)}")
        if aggregator_ids.intersection(req.targets):
            named = ", ".join(sorted(aggregator_ids.intersection(req.targets)))
            raise BadRequest(f"{named}: an aggregator is not a resource; target its portfolio's households")
        targets = list(req.targets)
    else:
        # An aggregator's own household account is never a resource of a group event.
        targets = [h.id for h in await storage.list_households(req.group) if h.id not in aggregator_ids]
        if not targets:
            raise BadRequest(f"group {req.group!r} has no households")
    event = new_event(req, now)
    try:
        await storage.create_event(event, targets)
    except OverlappingEventError as err:
        return error(409, str(err))
    metrics.EVENTS.labels("created").inc()
    return web.json_response(await event_json(storage, event, now), status=201)


async def get_event(request: web.Request) -> web.Response:
    storage = request.app[STORAGE]
    event = await storage.get_event(request.match_info["event_id"])
    if event is None:
        return error(404, f"no event {request.match_info['event_id']!r}")
    return web.json_response(await event_json(storage, event, request.app[CLOCK].now()))


async def list_events(request: web.Request) -> web.Response:
    storage, now = request.app[STORAGE], request.app[CLOCK].now()
    return web.json_response(
        [
            {"event_id": e.event_id, "status": event_status(e, now), "start": iso(e.start), "end": iso(e.end)}
            for e in await storage.list_events()
        ]
    )


async def cancel_event(request: web.Request) -> web.Response:
    storage, now = request.app[STORAGE], request.app[CLOCK].now()
    event_id = request.match_info["event_id"]
    event = await storage.get_event(event_id)
    if event is None:
        return error(404, f"no event {event_id!r}")
    if event.status == "cancelled":
        return error(409, f"event {event_id} is already cancelled")
    if now >= event.end:
        return error(409, f"event {event_id} is over and cannot be cancelled")
    cancelled = await storage.cancel_event(event_id, now)
    metrics.EVENTS.labels("cancelled").inc()
    assert cancelled is not None
    return web.json_response(await event_json(storage, cancelled, now))


async def settle_event(request: web.Request) -> web.Response:
    storage, now = request.app[STORAGE], request.app[CLOCK].now()
    event = await storage.get_event(request.match_info["event_id"])
    if event is None:
        return error(404, f"no event {request.match_info['event_id']!r}")
    if event.status == "cancelled":
        return error(409, f"event {event.event_id} was cancelled: nothing to settle")
    if now < event.end:
        return error(409, f"event {event.event_id} has not ended yet")
    settle: Settle = request.app[SETTLE]  # type: ignore[assignment]
    try:
        await settle(event.event_id)
    except UnsettleableEventError as err:
        return error(409, str(err))
    return web.json_response(await event_json(storage, event, now))


async def put_programme(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        record = programme_from_json(request.match_info["programme_id"], body)
        rules_from_record(record)  # refuse now what settlement could not use later
    except (TypeError, ValueError) as err:
        raise BadRequest(str(err)) from err
    await request.app[STORAGE].upsert_programme(record, request.app[CLOCK].now())
    return web.json_response(programme_json(record))


async def get_programme(request: web.Request) -> web.Response:
    record = await request.app[STORAGE].get_programme(request.match_info["programme_id"])
    if record is None:
        return error(404, f"no programme {request.match_info['programme_id']!r}")
    return web.json_response(programme_json(record))


async def get_statement(request: web.Request) -> web.Response:
    storage, household_id = request.app[STORAGE], request.match_info["household_id"]
    if await storage.get_household(household_id) is None:
        return error(404, f"no household {household_id!r}")
    try:
        statement = await household_statement(storage, household_id, request.match_info["month"])
    except ValueError as err:
        raise BadRequest(str(err)) from err
    return web.json_response(statement_json(statement))


async def get_reconciliation(request: web.Request) -> web.Response:
    result = await reconcile_books(request.app[STORAGE])
    return web.json_response(
        {
            "ok": result.ok,
            "problems": result.problems,
            "balances": {k: str(v) for k, v in sorted(result.balances.items())},
        }
    )


def profile_version_json(p: ProfileVersion) -> dict[str, Any]:
    return {
        "household_id": p.household_id,
        "version": p.version,
        "as_of": iso(p.as_of),
        "learned_at": iso(p.learned_at),
        "ready": p.ready,
        "reasons": list(p.reasons),
    }


async def get_profile(request: web.Request) -> web.Response:
    """The latest learned profile, with its readiness and the reasons for it."""
    storage, household_id = request.app[STORAGE], request.match_info["household_id"]
    if await storage.get_household(household_id) is None:
        return error(404, f"no household {household_id!r}")
    try:
        record = await storage.latest_profile(household_id)
        if record is None:
            return error(404, f"household {household_id!r} has no learned profile yet")
        document = profile_document(record)
    except CorruptRecordError as err:
        return error(500, str(err))
    return web.json_response({**profile_version_json(record), "profile": document})


async def get_profile_versions(request: web.Request) -> web.Response:
    """Every stored profile version's metadata, oldest first."""
    storage, household_id = request.app[STORAGE], request.match_info["household_id"]
    if await storage.get_household(household_id) is None:
        return error(404, f"no household {household_id!r}")
    try:
        versions = await storage.profile_versions(household_id)
    except CorruptRecordError as err:
        return error(500, str(err))
    if not versions:
        return error(404, f"household {household_id!r} has no learned profile yet")
    return web.json_response([profile_version_json(v) for v in versions])


def delivery_ratio(settlements: list[SettlementRecord]) -> float | None:
    """Delivered over instructed energy, for the settled households (capped per half-hour)."""
    settled = [s for s in settlements if s.status == "settled"]
    instructed = sum(s.instructed_kwh for s in settled)
    return sum(s.delivered_kwh for s in settled) / instructed if instructed else None


def settlement_json(s: SettlementRecord) -> dict[str, Any]:
    return {
        "version": s.version,
        "status": s.status,
        "method": s.method,
        "baseline_kw": s.baseline_kw,
        "actual_kw": s.actual_kw,
        "instructed_kwh": s.instructed_kwh,
        "delivered_kwh": s.delivered_kwh,
        "payment_gbp": s.payment_gbp,
        "household_gbp": s.household_gbp,
        "community_gbp": s.community_gbp,
        "evidence": json.loads(s.evidence),
    }


async def event_json(storage: EventSettlements, event: EventRecord, now: Any) -> dict[str, Any]:
    targets = await storage.event_targets(event.event_id)
    settlements = {s.household_id: s for s in await storage.latest_settlements(event.event_id)}
    rows = []
    for t in targets:
        s = settlements.get(t.household_id)
        rows.append(
            {
                "household_id": t.household_id,
                "opt_type": t.opt_type,
                "acked_modification": t.acked_modification,
                "opt_at": iso(t.opt_at) if t.opt_at else None,
                "late": t.late_opt_in(event.start),  # recorded, never paid
                "settlement": settlement_json(s) if s else None,
            }
        )
    return {
        "event_id": event.event_id,
        "status": event_status(event, now),
        "modification_number": event.modification_number,
        "start": iso(event.start),
        "end": iso(event.end),
        "reduction_kw": event.reduction_kw,
        "price_gbp_per_mwh": event.price_gbp_per_mwh,
        "programme": event.programme_id,
        "trial": event.programme_id == TRIAL_PROGRAMME,
        "targets": rows,
        "totals": {
            "targeted": len(targets),
            "opted_in": sum(t.opt_type == "optIn" for t in targets),
            "late_opt_in": sum(t.late_opt_in(event.start) for t in targets),  # of those: never paid
            "opted_out": sum(t.opt_type == "optOut" for t in targets),
            "no_response": sum(t.opt_type is None for t in targets),
            "delivered_kwh": sum(s.delivered_kwh for s in settlements.values()),
            "instructed_kwh": sum(s.instructed_kwh for s in settlements.values()),
            "delivery_ratio": delivery_ratio(list(settlements.values())),
            "payment_gbp": str(sum((Decimal(s.payment_gbp) for s in settlements.values()), Decimal(0))),
        },
    }


def bearer_token(token: str) -> Any:
    """Every /api request must carry `Authorization: Bearer <token>`; compared in constant time, never
    logged. OpenADR paths keep their own checks (TLS, signatures); /metrics stays open for scraping."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return web.json_response(
                    {"error": "missing or wrong bearer token"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="homeflex"'},
                )
        return await handler(request)

    return check


def add_routes(
    app: web.Application, storage: Storage, clock: Clock, settle: Settle, *, token: str | None = None
) -> None:
    app[STORAGE] = storage
    app[CLOCK] = clock
    app[SETTLE] = settle
    if token:
        app.middlewares.append(bearer_token(token))
    app.middlewares.append(bad_request_as_400)
    app.add_routes(
        [
            web.put("/api/households/{household_id}", put_household),
            web.get("/api/households", list_households),
            web.post("/api/events", create_event),
            web.get("/api/events", list_events),
            web.get("/api/events/{event_id}", get_event),
            web.delete("/api/events/{event_id}", cancel_event),
            web.post("/api/events/{event_id}/settle", settle_event),
            web.get("/metrics", metrics.metrics_handler),
            web.put("/api/programmes/{programme_id}", put_programme),
            web.get("/api/programmes/{programme_id}", get_programme),
            web.get("/api/households/{household_id}/statements/{month}", get_statement),
            web.get("/api/households/{household_id}/profile", get_profile),
            web.get("/api/households/{household_id}/profile/versions", get_profile_versions),
            web.get("/api/ledger/reconciliation", get_reconciliation),
            web.get("/api/openapi.json", openapi_json),
            *aggregators.routes(STORAGE, CLOCK),
        ]
    )
