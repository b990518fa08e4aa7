"""3.1 programs and events over the VTN's programmes and events tables, shared with 2.0b.

One lifecycle across both protocols: creating, modifying (PUT) and deleting a 3.1 event writes the same
events row 2.0b VENs poll, so a modification bumps the modification number they re-answer, and a deletion
is the cancellation they see; 3.1 VENs get the matching notification."""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any, Protocol

from aiohttp import web

from homeflex import metrics
from homeflex.settlement.limits import MAX_DURATION
from homeflex.storage import OverlappingEventError
from homeflex.storage.deliveries import DeliveryStore
from homeflex.storage.households import HouseholdStore
from homeflex.storage.programmes import ProgrammeStore
from homeflex.storage.records import EventQuery, EventRecord, Oadr3Program
from homeflex.vtn.events import EventRequest, new_event, parse_event_request
from homeflex.vtn.oadr3.access import own_vens
from homeflex.vtn.oadr3.http import Problem, body, ctx, flag, page, paging, principal
from homeflex.vtn.oadr3.model import (
    event_json,
    given_targets,
    operator_body,
    program_json,
    stored_document,
)

OBJECT_ID = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


class TargetStore(HouseholdStore, ProgrammeStore, Protocol):
    """What resolving an event's households reads: households and groups, and the program's targets."""


def _targets_query(request: web.Request) -> tuple[str, ...]:
    return tuple(dict.fromkeys(request.query.getall("targets", [])))


async def own_ven_ids(request: web.Request) -> set[str] | None:
    """The VENs (= household ids) this client acts for; None for business logic (sees everything)."""
    who = principal(request)
    return await own_vens(ctx(request).storage, who.client_id, who.role)


# -- programs -------------------------------------------------------------------------------------


async def list_programs(request: web.Request) -> web.Response:
    wanted = set(_targets_query(request))
    found = [
        program_json(p)
        for p in await ctx(request).storage.list_oadr3_programs()
        if not wanted or wanted & set(p.document.get("targets") or [])  # any of them
    ]
    return web.json_response(page(request, found))


async def _program(request: web.Request) -> Oadr3Program:
    found = await ctx(request).storage.get_oadr3_program(request.match_info["programID"])
    if found is None:
        raise Problem(404, f"no program {request.match_info['programID']!r}")
    return found


async def get_program(request: web.Request) -> web.Response:
    return web.json_response(program_json(await _program(request)))


async def _name_taken(storage: ProgrammeStore, name: str, but: str | None = None) -> bool:
    return any(p.name == name and p.id != but for p in await storage.list_programmes())


async def _save_program(request: web.Request, program_id: str, operation: str) -> dict[str, Any]:
    c, doc = ctx(request), body(request)
    name = doc["programName"]
    if await _name_taken(c.storage, name, but=program_id):
        raise Problem(409, f"a program named {name!r} exists")
    await c.storage.put_oadr3_program(program_id, name, stored_document(doc, "programName"), c.clock.now())
    saved = await c.storage.get_oadr3_program(program_id)
    assert saved is not None
    served = program_json(saved)
    c.notify(c.notifier.notify("PROGRAM", operation, served))
    return served


async def create_program(request: web.Request) -> web.Response:
    c, name = ctx(request), body(request)["programName"]
    program_id = name if OBJECT_ID.match(name) else f"prog-{uuid.uuid4().hex[:12]}"
    if await c.storage.get_programme(program_id) is not None:
        raise Problem(409, f"a program named {name!r} exists")
    return web.json_response(await _save_program(request, program_id, "CREATE"), status=201)


async def update_program(request: web.Request) -> web.Response:
    old = await _program(request)
    return web.json_response(await _save_program(request, old.id, "UPDATE"))


async def delete_program(request: web.Request) -> web.Response:
    c, found = ctx(request), await _program(request)
    deleted = await c.storage.delete_programme(found.id)
    if deleted is None:
        raise Problem(409, f"events (and their settlements) refer to program {found.id!r}: it is kept")
    served = program_json(found)
    c.notify(c.notifier.notify("PROGRAM", "DELETE", served))
    return web.json_response(served)


# -- events ---------------------------------------------------------------------------------------


async def event_targets(storage: DeliveryStore, event_id: str) -> list[str]:
    return [t.household_id for t in await storage.event_targets(event_id)]


def visible(targets: list[str], own: set[str] | None) -> list[str]:
    return targets if own is None else [t for t in targets if t in own]


def served_event(event: EventRecord, households: list[str], own: set[str] | None) -> dict[str, Any]:
    """The event as this reader sees it: business logic its targets as given, a VEN its own households."""
    return event_json(event, given_targets(event, households) if own is None else visible(households, own))


async def list_events(request: web.Request) -> web.Response:
    c, own, now = ctx(request), await own_ven_ids(request), ctx(request).clock.now()
    skip, limit = paging(request)
    active = flag(request, "active")
    query = EventQuery(
        program_ids=tuple(request.query.getall("programID", [])),
        targets=_targets_query(request),
        visible_to=None if own is None else tuple(sorted(own)),
        ended_after=now if active else None,
        started_after=now - MAX_DURATION if active else None,  # no event lasts longer
        skip=skip,
        limit=limit,
    )
    found = [served_event(e, households, own) for e, households in await c.storage.events_page(query)]
    return web.json_response(found)


async def _event(request: web.Request) -> tuple[EventRecord, list[str], set[str] | None]:
    c, event_id = ctx(request), request.match_info["eventID"]
    found = await c.storage.get_event(event_id)
    if found is None or found.status == "cancelled":
        raise Problem(404, f"no event {event_id!r}")
    targets = await event_targets(c.storage, event_id)
    own = await own_ven_ids(request)
    if not principal(request).is_bl and not visible(targets, own):
        raise Problem(404, f"no event {event_id!r}")  # not 403: a VEN must not learn others' events
    return found, targets, own


async def get_event(request: web.Request) -> web.Response:
    found, targets, own = await _event(request)
    return web.json_response(served_event(found, targets, own))


async def resolve_targets(storage: HouseholdStore, targets: list[str]) -> list[str]:
    """3.1 target strings to household ids: a household id, or a group of households."""
    households: dict[str, None] = {}  # ordered and without repeats, in linear time
    for target in targets:
        if await storage.get_household(target) is not None:
            found = [target]
        else:
            found = [h.id for h in await storage.list_households(target)]
        if not found:
            raise Problem(400, f"target {target!r} is neither a household nor a group with households")
        households.update(dict.fromkeys(found))
    return list(households)


async def _event_households(storage: TargetStore, doc: dict[str, Any]) -> list[str]:
    """The households an event is for: its targets, or (untargeted) its program's, or (an untargeted
    program) every enrolled household, as the document says an untargeted event applies to the program's
    VENs."""
    if doc.get("targets"):
        return await resolve_targets(storage, doc["targets"])
    program = await storage.get_oadr3_program(doc["programID"])
    program_targets = program.document.get("targets") if program is not None else None
    if program_targets:
        return await resolve_targets(storage, program_targets)
    households = [h.id for h in await storage.list_households()]
    if not households:
        raise Problem(400, "an untargeted event needs enrolled households to apply to")
    return households


async def _checked(request: web.Request) -> tuple[EventRequest, list[str], dict[str, Any]]:
    c, doc, now = ctx(request), body(request), ctx(request).clock.now()
    if await c.storage.get_programme(doc["programID"]) is None:
        raise Problem(400, f"unknown programID {doc['programID']!r}")
    households = await _event_households(c.storage, doc)
    req = parse_event_request(operator_body(doc, households), now)
    return req, households, stored_document(doc, "programID", "eventName")


async def create_event(request: web.Request) -> web.Response:
    c, now = ctx(request), ctx(request).clock.now()
    req, households, document = await _checked(request)
    event = dataclasses.replace(new_event(req, now), name=body(request).get("eventName"), document=document)
    try:
        await c.storage.create_event(event, households)  # 2.0b VENs get it on their next poll
    except OverlappingEventError as err:
        raise Problem(409, str(err)) from err
    metrics.EVENTS.labels("created").inc()
    created = served_event(event, households, None)
    c.notify(c.notifier.notify("EVENT", "CREATE", created, ven_ids=households))
    return web.json_response(created, status=201)


async def update_event(request: web.Request) -> web.Response:
    """A modification: window, payload, targets, program and name replaced, the modification number
    bumped (2.0b VENs receive it on their next poll or push and answer it again); VENs no longer
    targeted are told of a deletion."""
    c, now = ctx(request), ctx(request).clock.now()
    old, old_targets, own = await _event(request)
    if now >= old.end:
        raise Problem(409, f"event {old.event_id} is over and cannot be modified")
    req, households, document = await _checked(request)
    changed = dataclasses.replace(
        old,
        start=req.start,
        duration=req.duration,
        reduction_kw=req.reduction_kw,
        price_gbp_per_mwh=req.price_gbp_per_mwh,
        programme_id=req.programme,
        name=body(request).get("eventName"),
        document=document,
        modified_at=now,
    )
    try:
        stored = await c.storage.modify_event(changed, households)
    except OverlappingEventError as err:
        raise Problem(409, str(err)) from err
    if stored is None:
        raise Problem(404, f"no event {old.event_id!r}")  # cancelled meanwhile
    metrics.EVENTS.labels("modified").inc()
    updated = served_event(stored, households, own)
    c.notify(c.notifier.notify("EVENT", "UPDATE", served_event(stored, households, None), ven_ids=households))
    staying = set(households)  # a set: a group of 10,000 households stays 10,000 lookups, not 10^8
    removed = [h for h in old_targets if h not in staying]
    if removed:
        c.notify(c.notifier.notify("EVENT", "DELETE", served_event(old, old_targets, None), ven_ids=removed))
    return web.json_response(updated)


async def delete_event(request: web.Request) -> web.Response:
    c = ctx(request)
    found, targets, own = await _event(request)
    if c.clock.now() >= found.end:
        raise Problem(409, f"event {found.event_id} is over and cannot be cancelled")
    await c.storage.cancel_event(found.event_id, c.clock.now())  # 2.0b VENs see it cancelled
    metrics.EVENTS.labels("cancelled").inc()
    c.notify(c.notifier.notify("EVENT", "DELETE", served_event(found, targets, None), ven_ids=targets))
    return web.json_response(served_event(found, targets, own))


ROUTES = [
    ("GET", "/programs", list_programs),
    ("POST", "/programs", create_program),
    ("GET", "/programs/{programID}", get_program),
    ("PUT", "/programs/{programID}", update_program),
    ("DELETE", "/programs/{programID}", delete_program),
    ("GET", "/events", list_events),
    ("POST", "/events", create_event),
    ("GET", "/events/{eventID}", get_event),
    ("PUT", "/events/{eventID}", update_event),
    ("DELETE", "/events/{eventID}", delete_event),
]
