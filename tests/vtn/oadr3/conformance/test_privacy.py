"""Object privacy between two VENs and business logic: a VEN client sees its own VEN, resources,
reports and subscriptions and the events that target it (with only itself in the targets), and learns
nothing of the other VEN's (404, never 403). Tests that rest on VEN-client identity scoping (a VEN client
acts only for the VEN it was provisioned for), which is another change, are xfail(strict=False)."""

from __future__ import annotations

from tests.vtn.oadr3.conformance.conftest import LATER, Api, event_body
from tests.vtn.oadr3.conformance.objects import (
    report_request,
    resource_request,
    subscription_request,
    ven_request,
    world,
)


async def test_a_ven_sees_only_its_own_objects(api: Api) -> None:
    w = await world(api)
    assert [v["id"] for v in (await api.call("GET", "/vens", "ven-hh2")).body] == ["hh2"]
    assert [v["id"] for v in (await api.call("GET", "/vens", "bl")).body] == ["hh1", "hh2"]
    for path, template in [
        ("/vens/hh1", "/vens/{venID}"),
        (f"/resources/{w.resource1['id']}", "/resources/{resourceID}"),
        (f"/reports/{w.report1['id']}", "/reports/{reportID}"),
        (f"/subscriptions/{w.subscription1['id']}", "/subscriptions/{subscriptionID}"),
        ("/notifiers/mqtt/topics/vens/hh1", "/notifiers/mqtt/topics/vens/{venID}"),
        ("/notifiers/mqtt/topics/vens/hh1/events", "/notifiers/mqtt/topics/vens/{venID}/events"),
    ]:
        assert (await api.call("GET", path, "ven-hh2", template=template)).status == 404, path
        assert (await api.call("GET", path, "bl", template=template)).status == 200, path
    assert (await api.call("GET", "/resources", "ven-hh2")).body == []
    assert (await api.call("GET", "/reports", "ven-hh2")).body == []
    assert (await api.call("GET", "/subscriptions", "ven-hh2")).body == []
    # Changing or deleting another VEN's objects: not found.
    assert (
        await api.call("PUT", "/vens/hh1", "ven-hh2", ven_request("hh1"), template="/vens/{venID}")
    ).status == 404
    path = f"/resources/{w.resource1['id']}"
    assert (await api.call("DELETE", path, "ven-hh2", template="/resources/{resourceID}")).status == 404
    assert (await api.call("POST", "/resources", "ven-hh2", resource_request("hh1", "x"))).status == 400


async def test_a_ven_sees_only_events_that_target_it_with_only_itself_as_target(api: Api) -> None:
    w = await world(api)
    only1 = (
        await api.call(
            "POST", "/events", "bl", event_body(w.program["id"], targets=["hh1"], intervalPeriod=LATER)
        )
    ).body
    seen2 = (await api.call("GET", "/events", "ven-hh2")).body
    assert [(e["id"], e["targets"]) for e in seen2] == [(w.event["id"], ["hh2"])]
    assert (
        await api.call("GET", f"/events/{only1['id']}", "ven-hh2", template="/events/{eventID}")
    ).status == 404
    seen1 = {e["id"] for e in (await api.call("GET", "/events", "ven-hh1")).body}
    assert seen1 == {w.event["id"], only1["id"]}
    # A VEN cannot report on an event that does not target it.
    assert (await api.call("POST", "/reports", "ven-hh2", report_request(only1["id"], "hh2"))).status == 400
    assert (
        await api.call("POST", "/subscriptions", "ven-hh2", subscription_request("hh2", ["EVENT"]))
    ).status == 201


async def test_a_ven_client_cannot_register_a_ven_it_was_not_provisioned_for(api: Api) -> None:
    assert (await api.call("POST", "/vens", "ven-hh1", ven_request("hh3"))).status in (400, 403)


async def test_a_ven_client_sees_no_event_through_a_ven_it_was_not_provisioned_for(api: Api) -> None:
    await api.call("POST", "/vens", "ven-hh1", ven_request("hh3"))  # should be refused
    await world_for_hh3(api)
    assert (await api.call("GET", "/events", "ven-hh1")).body == []


async def world_for_hh3(api: Api) -> None:
    await api.call("POST", "/events", "bl", event_body("default", targets=["hh3"]))
