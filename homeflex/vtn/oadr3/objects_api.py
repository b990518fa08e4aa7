"""3.1 VENs, resources, subscriptions and reports. A VEN is a household (its id and venName are the
household id); reports also land in ven_reports, where 2.0b reports land."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from homeflex.storage.records import Oadr3Object, Oadr3Query
from homeflex.vtn.oadr3.access import may_see
from homeflex.vtn.oadr3.events_api import event_targets, own_ven_ids
from homeflex.vtn.oadr3.http import Handler, Problem, body, ctx, paging, principal
from homeflex.vtn.oadr3.model import metadata, report_values
from homeflex.vtn.oadr3.webhooks import WebhookRefused
from homeflex.vtn.openadr import household_of, ven_id_for

ID_PARAM = {"VEN": "venID", "RESOURCE": "resourceID", "SUBSCRIPTION": "subscriptionID", "REPORT": "reportID"}
DEFAULTS: dict[str, dict[str, Any]] = {
    "VEN": {"targets": None, "attributes": None},
    "RESOURCE": {"targets": None, "attributes": None},
    "SUBSCRIPTION": {"targets": None},
    "REPORT": {"reportName": None, "payloadDescriptors": None},
}
# The query parameters a collection is filtered by: each must equal the document's field of that name.
FILTERS = {
    "VEN": ("venName",),
    "RESOURCE": ("venID", "resourceName"),
    "SUBSCRIPTION": ("programID", "clientName"),
    "REPORT": ("programID", "eventID", "clientName"),
}
# Repeatable query parameters matched as any-of against a list the document holds.
ANY_OF = {"VEN": ("targets",), "RESOURCE": ("targets",), "SUBSCRIPTION": ("objects",), "REPORT": ()}


def list_query(request: web.Request, object_type: str, own: set[str] | None) -> Oadr3Query:
    """The list operation's filters, page and the caller's visibility (access.may_see) as one storage
    query: a VEN client's VENs and their resources, its own subscriptions and reports; BL sees all."""
    who = principal(request)
    skip, limit = paging(request)
    return Oadr3Query(
        object_type=object_type,
        equal=tuple((k, request.query[k]) for k in FILTERS[object_type] if k in request.query),
        any_of=tuple((n, tuple(request.query.getall(n))) for n in ANY_OF[object_type] if n in request.query),
        client_id=None if who.is_bl or object_type == "RESOURCE" else who.client_id,
        ven_ids=tuple(sorted(own)) if own is not None and object_type in ("VEN", "RESOURCE") else None,
        skip=skip,
        limit=limit,
    )


def served(obj: Oadr3Object) -> dict[str, Any]:
    doc = {**DEFAULTS[obj.object_type], **obj.document, "clientID": obj.client_id}
    return {**metadata(obj.object_type, obj.id, obj.created_at, obj.modified_at), **doc}


async def _may_see(request: web.Request, obj: Oadr3Object) -> bool:
    return may_see(await own_ven_ids(request), principal(request).client_id, obj.object_type, served(obj))


async def _get(request: web.Request, object_type: str) -> Oadr3Object:
    object_id = request.match_info[ID_PARAM[object_type]]
    found = await ctx(request).storage.get_oadr3_object(object_type, object_id)
    if found is None or not await _may_see(request, found):
        raise Problem(404, f"no {object_type.lower()} {object_id!r}")
    return found


def _lister(object_type: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        own, client_id = await own_ven_ids(request), principal(request).client_id
        found = await ctx(request).storage.oadr3_objects_page(list_query(request, object_type, own))
        # The query holds the visibility rule; may_see stays the one definition of it, checked again.
        served_objects = [served(obj) for obj in found]
        return web.json_response([obj for obj in served_objects if may_see(own, client_id, object_type, obj)])

    return handler


def _getter(object_type: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(served(await _get(request, object_type)))

    return handler


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("objectType", "clientID", "id")}


async def _save(
    request: web.Request,
    object_type: str,
    object_id: str,
    client_id: str,
    doc: dict[str, Any],
    *,
    old: Oadr3Object | None,
) -> web.Response:
    c, now = ctx(request), ctx(request).clock.now()
    obj = Oadr3Object(
        object_type=object_type,
        id=object_id,
        client_id=client_id,
        document=_strip(doc),
        created_at=old.created_at if old else now,
        modified_at=now,
    )
    await c.storage.put_oadr3_object(obj)
    out = served(obj)
    ven_ids = [obj.id] if object_type == "VEN" else [doc["venID"]] if object_type == "RESOURCE" else []
    operation = "UPDATE" if old else "CREATE"
    c.notify(c.notifier.notify(object_type, operation, out, ven_ids=ven_ids, owner=client_id))
    return web.json_response(out, status=200 if old else 201)


async def _delete(request: web.Request, object_type: str) -> web.Response:
    c, found = ctx(request), await _get(request, object_type)
    await c.storage.delete_oadr3_object(object_type, found.id)
    out = served(found)
    ven_ids = (
        [found.id] if object_type == "VEN" else [found.document["venID"]] if object_type == "RESOURCE" else []
    )
    c.notify(c.notifier.notify(object_type, "DELETE", out, ven_ids=ven_ids, owner=found.client_id))
    return web.json_response(out)


def _deleter(object_type: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return await _delete(request, object_type)

    return handler


# -- VENs -----------------------------------------------------------------------------------------


async def _ven_owner(request: web.Request, doc: dict[str, Any]) -> str:
    """The client a VEN belongs to: the caller if it is a VEN client provisioned for this venName, else
    the BL request's clientID, which must be the VEN client provisioned for it."""
    c, who = ctx(request), principal(request)
    if not who.is_bl:
        if doc["objectType"] != "VEN_VEN_REQUEST":
            raise Problem(403, "a VEN client sends VEN_VEN_REQUEST")
        if who.ven_name is None:
            raise Problem(403, f"client {who.client_id!r} is provisioned for no VEN (ids are ven-<venName>)")
        if doc["venName"] != who.ven_name:
            raise Problem(403, f"client {who.client_id!r} may act only for VEN {who.ven_name!r}")
        return who.client_id
    if doc["objectType"] != "BL_VEN_REQUEST":
        raise Problem(400, "business logic sends BL_VEN_REQUEST with the VEN's clientID")
    client = await c.storage.get_oadr3_client(doc["clientID"])
    if client is None or client.role != "ven":
        raise Problem(400, f"clientID {doc['clientID']!r} is not a provisioned VEN client")
    if household_of(client.client_id) != doc["venName"]:
        raise Problem(400, f"clientID {client.client_id!r} is not provisioned for VEN {doc['venName']!r}")
    return client.client_id


async def create_ven(request: web.Request) -> web.Response:
    c, doc = ctx(request), body(request)
    owner = await _ven_owner(request, doc)
    name = doc["venName"]
    if await c.storage.get_household(name) is None:
        raise Problem(400, f"venName {name!r} is not an enrolled household id")
    if await c.storage.get_oadr3_object("VEN", name) is not None:
        raise Problem(409, f"VEN {name!r} exists")
    if await c.storage.list_oadr3_objects("VEN", owner):
        raise Problem(409, f"client {owner!r} already has a VEN")
    doc = {**doc, "targets": doc.get("targets") or [name]}  # events target households by id
    return await _save(request, "VEN", name, owner, doc, old=None)


async def update_ven(request: web.Request) -> web.Response:
    old, doc = await _get(request, "VEN"), body(request)
    owner = await _ven_owner(request, doc)
    if doc["venName"] != old.id or owner != old.client_id:
        raise Problem(400, "a VEN keeps its venName (household) and client")
    doc = {**doc, "targets": doc.get("targets") or old.document.get("targets")}
    return await _save(request, "VEN", old.id, owner, doc, old=old)


async def delete_ven(request: web.Request) -> web.Response:
    c, ven = ctx(request), await _get(request, "VEN")
    for resource in await c.storage.list_oadr3_objects("RESOURCE"):
        if resource.document.get("venID") == ven.id:  # subscribers hear of each resource going too
            await c.storage.delete_oadr3_object("RESOURCE", resource.id)
            out = served(resource)
            c.notify(c.notifier.notify("RESOURCE", "DELETE", out, ven_ids=[ven.id], owner=resource.client_id))
    return await _delete(request, "VEN")


# -- resources ------------------------------------------------------------------------------------


async def _resource_doc(request: web.Request, doc: dict[str, Any], resource_id: str | None) -> str:
    """Check a resource request; returns the owning client (its VEN's)."""
    c, who = ctx(request), principal(request)
    if not who.is_bl and doc["objectType"] != "VEN_RESOURCE_REQUEST":
        raise Problem(403, "a VEN client sends VEN_RESOURCE_REQUEST")
    ven = await c.storage.get_oadr3_object("VEN", doc["venID"])
    own = await own_ven_ids(request)
    if ven is None or (own is not None and ven.id not in own):
        raise Problem(400, f"no VEN {doc['venID']!r} for this client")
    for other in await c.storage.list_oadr3_objects("RESOURCE", ven.client_id):
        if other.id != resource_id and other.document.get("resourceName") == doc["resourceName"]:
            raise Problem(409, f"VEN {ven.id} has a resource named {doc['resourceName']!r}")
    return ven.client_id


async def create_resource(request: web.Request) -> web.Response:
    doc = body(request)
    owner = await _resource_doc(request, doc, None)
    return await _save(request, "RESOURCE", f"res-{uuid.uuid4().hex[:12]}", owner, doc, old=None)


async def update_resource(request: web.Request) -> web.Response:
    old, doc = await _get(request, "RESOURCE"), body(request)
    owner = await _resource_doc(request, doc, old.id)
    return await _save(request, "RESOURCE", old.id, owner, doc, old=old)


# -- subscriptions --------------------------------------------------------------------------------


async def _check_subscription(request: web.Request, doc: dict[str, Any]) -> None:
    c, program_id = ctx(request), doc.get("programID")
    if program_id and await c.storage.get_programme(program_id) is None:
        raise Problem(400, f"unknown programID {program_id!r}")
    for entry in doc["objectOperations"]:
        try:  # loopback, private and link-local targets only where the operator allows (webhooks.py)
            await c.webhooks.check(entry["callbackUrl"])
        except WebhookRefused as err:
            raise Problem(400, str(err)) from err


async def create_subscription(request: web.Request) -> web.Response:
    doc = body(request)
    await _check_subscription(request, doc)
    sub_id = f"sub-{uuid.uuid4().hex[:12]}"
    return await _save(request, "SUBSCRIPTION", sub_id, principal(request).client_id, doc, old=None)


async def update_subscription(request: web.Request) -> web.Response:
    old, doc = await _get(request, "SUBSCRIPTION"), body(request)
    await _check_subscription(request, doc)
    return await _save(request, "SUBSCRIPTION", old.id, old.client_id, doc, old=old)


# -- reports --------------------------------------------------------------------------------------


async def _report_household(request: web.Request, doc: dict[str, Any]) -> str:
    """The household a VEN reports for: its VEN that the event targets."""
    c = ctx(request)
    event = await c.storage.get_event(doc["eventID"])
    own = await own_ven_ids(request) or set()
    targeted = [h for h in await event_targets(c.storage, doc["eventID"]) if h in own] if event else []
    if not targeted:
        raise Problem(400, f"event {doc['eventID']!r} does not target this client's VEN")
    return targeted[0]


async def _save_report(request: web.Request, report_id: str, old: Oadr3Object | None) -> web.Response:
    c, doc = ctx(request), body(request)
    household = await _report_household(request, doc)
    values = report_values(doc)
    await c.storage.save_ven_reports(ven_id_for(household), f"oadr3:{report_id}", values, c.clock.now())
    event = await c.storage.get_event(doc["eventID"])
    if event is not None:  # kept with the report, so GET /reports?programID= filters on it
        doc = {**doc, "programID": event.programme_id}
    return await _save(request, "REPORT", report_id, principal(request).client_id, doc, old=old)


async def create_report(request: web.Request) -> web.Response:
    return await _save_report(request, f"rep-{uuid.uuid4().hex[:12]}", None)


async def update_report(request: web.Request) -> web.Response:
    old = await _get(request, "REPORT")
    return await _save_report(request, old.id, old)


ROUTES = [
    ("GET", "/vens", _lister("VEN")),
    ("POST", "/vens", create_ven),
    ("GET", "/vens/{venID}", _getter("VEN")),
    ("PUT", "/vens/{venID}", update_ven),
    ("DELETE", "/vens/{venID}", delete_ven),
    ("GET", "/resources", _lister("RESOURCE")),
    ("POST", "/resources", create_resource),
    ("GET", "/resources/{resourceID}", _getter("RESOURCE")),
    ("PUT", "/resources/{resourceID}", update_resource),
    ("DELETE", "/resources/{resourceID}", _deleter("RESOURCE")),
    ("GET", "/subscriptions", _lister("SUBSCRIPTION")),
    ("POST", "/subscriptions", create_subscription),
    ("GET", "/subscriptions/{subscriptionID}", _getter("SUBSCRIPTION")),
    ("PUT", "/subscriptions/{subscriptionID}", update_subscription),
    ("DELETE", "/subscriptions/{subscriptionID}", _deleter("SUBSCRIPTION")),
    ("GET", "/reports", _lister("REPORT")),
    ("POST", "/reports", create_report),
    ("GET", "/reports/{reportID}", _getter("REPORT")),
    ("PUT", "/reports/{reportID}", update_report),
    ("DELETE", "/reports/{reportID}", _deleter("REPORT")),
]
