"""3.1 programs and events over the VTN's programmes and events tables, shared with 2.0b."""

from __future__ import annotations

import dataclasses
import re
import uuid

from aiohttp import web

from homeflex import metrics
from homeflex.storage import OverlappingEventError, Storage
from homeflex.storage.records import EventRecord, ProgrammeRecord
from homeflex.vtn.events import new_event, parse_event_request
from homeflex.vtn.oadr3.http import Problem, body, ctx, page, principal
from homeflex.vtn.oadr3.model import event_json, operator_body, program_json

OBJECT_ID = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


def _targets_query(request: web.Request) -> set[str]:
    return set(request.query.getall("targets", []))


async def own_ven_ids(request: web.Request) -> set[str] | None:
    """The VENs (= household ids) this client acts for; None for business logic (sees everything)."""
    who = principal(request)
    if who.is_bl:
        return None
    return {v.id for v in await ctx(request).storage.list_oadr3_objects("VEN", who.client_id)}


# -- programs -------------------------------------------------------------------------------------


async def list_programs(request: web.Request) -> web.Response:
    programmes = await ctx(request).storage.list_programmes()
    found = [] if _targets_query(request) else [program_json(p) for p in programmes]  # untargeted
    return web.json_response(page(request, found))


async def _programme(request: web.Request) -> ProgrammeRecord:
    found = await ctx(request).storage.get_programme(request.match_info["programID"])
    if found is None:
        raise Problem(404, f"no program {request.match_info['programID']!r}")
    return found


async def get_program(request: web.Request) -> web.Response:
    return web.json_response(program_json(await _programme(request)))


async def _name_taken(storage: Storage, name: str, but: str | None = None) -> bool:
    return any(p.name == name and p.id != but for p in await storage.list_programmes())


async def create_program(request: web.Request) -> web.Response:
    c, doc = ctx(request), body(request)
    name = doc["programName"]
    program_id = name if OBJECT_ID.match(name) else f"prog-{uuid.uuid4().hex[:12]}"
    if await c.storage.get_programme(program_id) is not None or await _name_taken(c.storage, name):
        raise Problem(409, f"a program named {name!r} exists")
    record = ProgrammeRecord(id=program_id, name=name)  # paid like the default: utilisation only
    await c.storage.upsert_programme(record, c.clock.now())
    created = program_json(record)
    c.notify(c.notifier.notify("PROGRAM", "CREATE", created))
    return web.json_response(created, status=201)


async def update_program(request: web.Request) -> web.Response:
    c, doc = ctx(request), body(request)
    record = dataclasses.replace(await _programme(request), name=doc["programName"])
    if await _name_taken(c.storage, record.name, but=record.id):
        raise Problem(409, f"a program named {record.name!r} exists")
    await c.storage.upsert_programme(record, c.clock.now())
    updated = program_json(record)
    c.notify(c.notifier.notify("PROGRAM", "UPDATE", updated))
    return web.json_response(updated)


async def delete_program(request: web.Request) -> web.Response:
    await _programme(request)
    raise Problem(400, "programs are not deleted here: events and settlements refer to them")


# -- events ---------------------------------------------------------------------------------------


async def event_targets(storage: Storage, event_id: str) -> list[str]:
    return [t.household_id for t in await storage.event_targets(event_id)]


def visible(targets: list[str], own: set[str] | None) -> list[str]:
    return targets if own is None else [t for t in targets if t in own]


async def list_events(request: web.Request) -> web.Response:
    c, own, wanted = ctx(request), await own_ven_ids(request), _targets_query(request)
    program_id, now = request.query.get("programID"), c.clock.now()
    active_only = request.query.get("active", "false").lower() == "true"
    found = []
    for e in await c.storage.list_events():
        if e.status == "cancelled" or (program_id and e.programme_id != program_id):
            continue
        if active_only and now >= e.end:
            continue
        seen = visible(await event_targets(c.storage, e.event_id), own)
        if (own is not None and not seen) or not wanted <= set(seen):
            continue
        found.append(event_json(e, seen))
    return web.json_response(page(request, found))


async def _event(request: web.Request) -> tuple[EventRecord, list[str]]:
    c, event_id = ctx(request), request.match_info["eventID"]
    found = await c.storage.get_event(event_id)
    if found is None or found.status == "cancelled":
        raise Problem(404, f"no event {event_id!r}")
    targets = await event_targets(c.storage, event_id)
    seen = visible(targets, await own_ven_ids(request))
    if not principal(request).is_bl and not seen:
        raise Problem(404, f"no event {event_id!r}")  # not 403: a VEN must not learn others' events
    return found, seen


async def get_event(request: web.Request) -> web.Response:
    found, seen = await _event(request)
    return web.json_response(event_json(found, seen))


async def resolve_targets(storage: Storage, targets: list[str] | None) -> list[str]:
    """3.1 target strings to household ids: a household id, or a group of households."""
    if not targets:
        raise Problem(400, "an event needs targets: household (VEN) ids or group names")
    households: list[str] = []
    for target in targets:
        if await storage.get_household(target) is not None:
            found = [target]
        else:
            found = [h.id for h in await storage.list_households(target)]
        if not found:
            raise Problem(400, f"target {target!r} is neither a household nor a group with households")
        households += [h for h in found if h not in households]
    return households


async def create_event(request: web.Request) -> web.Response:
    c, doc, now = ctx(request), body(request), ctx(request).clock.now()
    households = await resolve_targets(c.storage, doc.get("targets"))
    req = parse_event_request(operator_body(doc, households), now)
    if await c.storage.get_programme(req.programme) is None:
        raise Problem(400, f"unknown programID {req.programme!r}")
    event = new_event(req, now)
    try:
        await c.storage.create_event(event, households)  # 2.0b VENs get it on their next poll
    except OverlappingEventError as err:
        raise Problem(409, str(err)) from err
    metrics.EVENTS.labels("created").inc()
    created = event_json(event, households)
    c.notify(c.notifier.notify("EVENT", "CREATE", created, ven_ids=households))
    return web.json_response(created, status=201)


async def update_event(request: web.Request) -> web.Response:
    await _event(request)
    raise Problem(400, "events are not modified here: delete the event and create a new one")


async def delete_event(request: web.Request) -> web.Response:
    c = ctx(request)
    found, seen = await _event(request)
    if c.clock.now() >= found.end:
        raise Problem(400, f"event {found.event_id} is over and cannot be cancelled")
    await c.storage.cancel_event(found.event_id, c.clock.now())  # 2.0b VENs see it cancelled
    metrics.EVENTS.labels("cancelled").inc()
    deleted = event_json(found, seen)
    c.notify(c.notifier.notify("EVENT", "DELETE", deleted, ven_ids=seen))
    return web.json_response(deleted)


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
