"""Every documented error status, provoked as a generic client would meet it: 401 (with the RFC 6750
challenge) without or with a bad token, 403 for a missing scope, 404 for an unknown object, 400 for a
body or query the document refuses, 409 for a conflict. A 5xx is never an answer (conftest)."""

from __future__ import annotations

import re

import pytest

from tests.vtn.oadr3.conformance.conftest import Api, document, event_body, operations, program_body
from tests.vtn.oadr3.conformance.objects import (
    report_request,
    resource_request,
    subscription_request,
    ven_request,
    world,
)

SECURED = [op for op in operations() if document().operations[op].scopes]


def filled(template: str) -> str:
    return re.sub(r"\{\w+\}", "unknown-id", template)


@pytest.mark.parametrize(("method", "template"), SECURED, ids=[f"{m} {p}" for m, p in SECURED])
async def test_401_with_a_challenge_without_a_token_or_with_a_bad_one(
    api: Api, method: str, template: str
) -> None:
    answer = await api.call(method, filled(template), None, template=template)
    assert answer.status == 401 and answer.body["status"] == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer realm=")
    answer = await api.call(method, filled(template), None, template=template, token="forged.token")
    assert answer.status == 401 and 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


# Operations a VEN client's scopes do not grant, and one business logic's do not (it writes no reports).
FORBIDDEN = [
    ("POST", "/programs", "ven-hh1", program_body("x")),
    ("PUT", "/programs/{programID}", "ven-hh1", program_body("x")),
    ("DELETE", "/programs/{programID}", "ven-hh1", None),
    ("POST", "/events", "ven-hh1", event_body("default")),
    ("PUT", "/events/{eventID}", "ven-hh1", event_body("default")),
    ("DELETE", "/events/{eventID}", "ven-hh1", None),
    ("GET", "/notifiers/mqtt/topics/events", "ven-hh1", None),
    ("GET", "/notifiers/mqtt/topics/reports", "ven-hh1", None),
    ("GET", "/notifiers/mqtt/topics/subscriptions", "ven-hh1", None),
    ("GET", "/notifiers/mqtt/topics/vens", "ven-hh1", None),
    ("GET", "/notifiers/mqtt/topics/resources", "ven-hh1", None),
    ("POST", "/reports", "bl", report_request("e", "bl")),
]


@pytest.mark.parametrize(
    ("method", "template", "who", "body"), FORBIDDEN, ids=[f"{f[0]} {f[1]}" for f in FORBIDDEN]
)
async def test_403_without_the_scope(api: Api, method: str, template: str, who: str, body: object) -> None:
    answer = await api.call(method, filled(template), who, body, template=template)
    assert answer.status == 403 and "scope" in answer.body["detail"]


UNKNOWN = [op for op in operations() if "{" in op[1]]


@pytest.mark.parametrize(("method", "template"), UNKNOWN, ids=[f"{m} {p}" for m, p in UNKNOWN])
async def test_404_for_an_unknown_object(api: Api, method: str, template: str) -> None:
    await api.call("POST", "/vens", "ven-hh1", ven_request("hh1"))
    bodies = {
        "/programs/{programID}": program_body("x"),
        "/events/{eventID}": event_body("default"),
        "/vens/{venID}": ven_request("unknown-id"),
        "/resources/{resourceID}": resource_request("hh1", "r"),
        "/reports/{reportID}": report_request("e", "hh1"),
        "/subscriptions/{subscriptionID}": subscription_request("hh1", ["EVENT"]),
    }
    who = "bl" if method != "PUT" or "reports" not in template else "ven-hh1"
    if template.startswith(("/reports", "/resources", "/subscriptions")) and method != "GET":
        who = "ven-hh1"
    body = bodies.get(template) if method == "PUT" else None
    answer = await api.call(method, filled(template), who, body, template=template)
    assert answer.status == 404, answer.body


BAD_BODIES = [
    ("POST", "/programs", "bl", {"programName": ""}),
    ("PUT", "/programs/{programID}", "bl", {"programDescriptions": []}),
    ("POST", "/events", "bl", {"eventName": "no program"}),
    ("PUT", "/events/{eventID}", "bl", {"programID": 7}),
    ("POST", "/vens", "ven-hh1", {"objectType": "VEN_VEN_REQUEST"}),
    ("PUT", "/vens/{venID}", "ven-hh1", {"venName": "hh1"}),
    ("POST", "/resources", "ven-hh1", {"objectType": "VEN_RESOURCE_REQUEST", "venID": "hh1"}),
    ("PUT", "/resources/{resourceID}", "ven-hh1", {"resourceName": "x"}),
    ("POST", "/reports", "ven-hh1", {"eventID": "e"}),
    ("PUT", "/reports/{reportID}", "ven-hh1", {"clientName": "x"}),
    ("POST", "/subscriptions", "ven-hh1", {"clientName": "x", "objectOperations": [{"objects": ["NOPE"]}]}),
    ("PUT", "/subscriptions/{subscriptionID}", "ven-hh1", {"clientName": "x"}),
]


@pytest.mark.parametrize(
    ("method", "template", "who", "body"), BAD_BODIES, ids=[f"{b[0]} {b[1]}" for b in BAD_BODIES]
)
async def test_400_for_a_body_the_document_refuses(
    api: Api, method: str, template: str, who: str, body: object
) -> None:
    w = await world(api)
    ids = {
        "programID": w.program["id"],
        "eventID": w.event["id"],
        "venID": "hh1",
        "resourceID": w.resource1["id"],
        "reportID": w.report1["id"],
        "subscriptionID": w.subscription1["id"],
    }
    path = re.sub(r"\{(\w+)\}", lambda m: ids[m[1]], template)
    answer = await api.call(method, path, who, body, template=template)
    assert answer.status == 400 and answer.body["detail"], answer.body
    answer = await api.call(method, path, who, None, template=template)  # no body at all
    assert answer.status == 400


LISTS = [
    op
    for op in operations()
    if op[0] == "GET"
    and any(
        p.get("name") == "limit" for p in document().document["paths"][op[1]]["get"].get("parameters", [])
    )
]


@pytest.mark.parametrize(("method", "template"), LISTS, ids=[p for _, p in LISTS])
@pytest.mark.parametrize("query", [{"limit": "51"}, {"limit": "-1"}, {"skip": "-1"}, {"skip": "x"}])
async def test_400_for_paging_outside_the_document(
    api: Api, method: str, template: str, query: dict[str, str]
) -> None:
    answer = await api.call(method, template, "bl", params=query)
    assert answer.status == 400 and answer.body["status"] == 400


async def test_400_for_an_active_flag_that_is_not_a_boolean(api: Api) -> None:
    assert (await api.call("GET", "/events", "bl", params={"active": "maybe"})).status == 400


async def test_409_for_conflicts(api: Api) -> None:
    w = await world(api)
    assert (await api.call("POST", "/programs", "bl", program_body("flex-north"))).status == 409
    other = (await api.call("POST", "/programs", "bl", program_body("other"))).body
    rename = await api.call(
        "PUT", f"/programs/{other['id']}", "bl", program_body("flex-north"), template="/programs/{programID}"
    )
    assert rename.status == 409
    # A VEN name is unique: the conflict answer is 409 (the document lists none for POST /vens).
    again = await api.call("POST", "/vens", "ven-hh1", ven_request("hh1"))
    assert again.status == 409 and again.body["title"] == "Conflict"
    twin = await api.call(
        "POST", "/resources", "ven-hh1", resource_request("hh1", w.resource1["resourceName"])
    )
    assert twin.status == 409
    # A program its events (and their settlements) refer to is kept.
    kept = await api.call("DELETE", f"/programs/{w.program['id']}", "bl", template="/programs/{programID}")
    assert kept.status == 409
