"""Every operation of the document, called as documented, answers its documented success status with a
body the document allows, and objects round-trip: what a client writes it reads back."""

from __future__ import annotations

from typing import Any

from tests.vtn.oadr3.conformance.conftest import LATER, Api, event_body, operations, program_body, start
from tests.vtn.oadr3.conformance.objects import (
    report_request,
    resource_request,
    subscription_request,
    ven_request,
    world,
)


def same(written: dict[str, Any], served: dict[str, Any]) -> None:
    """Every member written comes back unchanged."""
    assert {k: served.get(k) for k in written} == written


async def test_every_documented_operation_answers_its_success_status(api: Api) -> None:
    w = await world(api)
    pid, eid, r1, rep1, s1 = (
        w.program["id"],
        w.event["id"],
        w.resource1["id"],
        w.report1["id"],
        w.subscription1["id"],
    )
    api.covered.add(("POST", "/auth/token"))  # called by every token() above
    gets = [  # (path, the document's template when ids are filled in, who)
        ("/auth/server", None, None),
        ("/notifiers", None, "ven-hh1"),
        ("/notifiers/mqtt/topics/programs", None, "bl"),
        (f"/notifiers/mqtt/topics/programs/{pid}", "/notifiers/mqtt/topics/programs/{programID}", "bl"),
        ("/notifiers/mqtt/topics/events", None, "bl"),
        (
            f"/notifiers/mqtt/topics/programs/{pid}/events",
            "/notifiers/mqtt/topics/programs/{programID}/events",
            "bl",
        ),
        ("/notifiers/mqtt/topics/reports", None, "bl"),
        ("/notifiers/mqtt/topics/subscriptions", None, "bl"),
        ("/notifiers/mqtt/topics/vens", None, "bl"),
        ("/notifiers/mqtt/topics/resources", None, "bl"),
        ("/notifiers/mqtt/topics/vens/hh1", "/notifiers/mqtt/topics/vens/{venID}", "ven-hh1"),
        ("/notifiers/mqtt/topics/vens/hh1/events", "/notifiers/mqtt/topics/vens/{venID}/events", "ven-hh1"),
        (
            "/notifiers/mqtt/topics/vens/hh1/programs",
            "/notifiers/mqtt/topics/vens/{venID}/programs",
            "ven-hh1",
        ),
        (
            "/notifiers/mqtt/topics/vens/hh1/resources",
            "/notifiers/mqtt/topics/vens/{venID}/resources",
            "ven-hh1",
        ),
        ("/programs", None, "ven-hh1"),
        (f"/programs/{pid}", "/programs/{programID}", "ven-hh1"),
        ("/events", None, "bl"),
        (f"/events/{eid}", "/events/{eventID}", "ven-hh1"),
        ("/vens", None, "bl"),
        ("/vens/hh1", "/vens/{venID}", "ven-hh1"),
        ("/resources", None, "ven-hh1"),
        (f"/resources/{r1}", "/resources/{resourceID}", "ven-hh1"),
        ("/reports", None, "bl"),
        (f"/reports/{rep1}", "/reports/{reportID}", "ven-hh1"),
        ("/subscriptions", None, "ven-hh1"),
        (f"/subscriptions/{s1}", "/subscriptions/{subscriptionID}", "ven-hh1"),
    ]
    for path, template, who in gets:
        answer = await api.call("GET", path, who, template=template)
        assert answer.status == 200, (path, answer.body)
    # Modifications and deletions, each answering 200 with the object.
    puts = [
        (
            f"/programs/{pid}",
            "/programs/{programID}",
            "bl",
            program_body("flex-north", targets=["north", "south"]),
        ),
        (f"/events/{eid}", "/events/{eventID}", "bl", event_body(pid, targets=["hh1"])),
        ("/vens/hh1", "/vens/{venID}", "ven-hh1", ven_request("hh1")),
        (f"/resources/{r1}", "/resources/{resourceID}", "ven-hh1", resource_request("hh1", "battery-2")),
        (f"/reports/{rep1}", "/reports/{reportID}", "ven-hh1", report_request(eid, "hh1")),
        (
            f"/subscriptions/{s1}",
            "/subscriptions/{subscriptionID}",
            "ven-hh1",
            subscription_request("hh1", ["PROGRAM"]),
        ),
    ]
    for path, template, who, body in puts:
        answer = await api.call("PUT", path, who, body, template=template)
        assert answer.status == 200, (path, answer.body)
    event2 = await api.call("POST", "/events", "bl", event_body(pid, intervalPeriod=LATER))
    deletes = [
        (f"/subscriptions/{s1}", "/subscriptions/{subscriptionID}", "ven-hh1"),
        (f"/reports/{rep1}", "/reports/{reportID}", "ven-hh1"),
        (f"/resources/{r1}", "/resources/{resourceID}", "ven-hh1"),
        ("/vens/hh2", "/vens/{venID}", "ven-hh2"),
        (f"/events/{eid}", "/events/{eventID}", "bl"),
        (f"/events/{event2.body['id']}", "/events/{eventID}", "bl"),
    ]
    for path, template, who in deletes:
        answer = await api.call("DELETE", path, who, template=template)
        assert answer.status == 200, (path, answer.body)
    spare = await api.call("POST", "/programs", "bl", program_body("spare"))
    answer = await api.call("DELETE", f"/programs/{spare.body['id']}", "bl", template="/programs/{programID}")
    assert answer.status == 200, answer.body
    assert api.covered == set(operations()), set(operations()) - api.covered


async def test_a_program_round_trips_with_creation_and_modification_times(api: Api) -> None:
    written = program_body("tou-2027")
    answer = await api.call("POST", "/programs", "bl", written)
    assert answer.status == 201
    created = answer.body
    same(written, created)
    assert created["objectType"] == "PROGRAM"
    assert created["createdDateTime"] == created["modificationDateTime"] == start(0)  # the VTN's clock
    path, template = f"/programs/{created['id']}", "/programs/{programID}"
    same(written, (await api.call("GET", path, "ven-hh1", template=template)).body)
    changed = program_body("tou-2027", programDescriptions=[{"URL": "https://dso.example/v2"}], targets=None)
    updated = (await api.call("PUT", path, "bl", changed, template=template)).body
    same({k: v for k, v in changed.items() if v is not None}, updated)
    assert updated["targets"] is None and updated["createdDateTime"] == created["createdDateTime"]
    read = (await api.call("GET", path, "bl", template=template)).body
    assert read == updated
    assert (await api.call("DELETE", path, "bl", template=template)).status == 200
    assert (await api.call("GET", path, "bl", template=template)).status == 404


async def test_an_event_round_trips_and_a_modification_is_an_update(api: Api) -> None:
    program = (await api.call("POST", "/programs", "bl", program_body("rt"))).body
    written = event_body(
        program["id"], reportDescriptors=[{"payloadType": "USAGE", "readingType": "DIRECT_READ"}]
    )
    created = (await api.call("POST", "/events", "bl", written)).body
    same(written, created)
    assert created["eventName"] == "evening peak" and created["id"] != created["eventName"]
    path, template = f"/events/{created['id']}", "/events/{eventID}"
    same(written, (await api.call("GET", path, "bl", template=template)).body)
    later = event_body(
        program["id"],
        eventName="moved",
        targets=["hh1", "hh2"],
        intervalPeriod={"start": start(6), "duration": "PT1H"},
        intervals=[{"id": 0, "payloads": [{"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-3.5]}]}],
    )
    updated = await api.call("PUT", path, "bl", later, template=template)
    assert updated.status == 200
    same(later, updated.body)
    assert updated.body["createdDateTime"] == created["createdDateTime"]
    # An untargeted event is allowed: it applies to the program's VENs (here north: hh1 and hh2).
    untargeted = (await api.call("POST", "/events", "bl", event_body(program["id"], targets=None))).body
    assert untargeted["targets"] is None
    await api.call("POST", "/vens", "ven-hh2", ven_request("hh2"))
    seen = (await api.call("GET", "/events", "ven-hh2")).body
    assert untargeted["id"] in [e["id"] for e in seen]
