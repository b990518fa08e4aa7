"""Every query filter of every list operation, as the document defines it: targets any-of, program ids,
names, object types, `active`, and skip/limit paging in a stable order."""

from __future__ import annotations

from typing import Any

from tests.vtn.oadr3.conformance.conftest import NOW, Api, event_body, program_body, start
from tests.vtn.oadr3.conformance.objects import (
    report_request,
    resource_request,
    subscription_request,
    ven_request,
    world,
)


async def ids(api: Api, path: str, who: str = "bl", **params: Any) -> list[str]:
    answer = await api.call(
        "GET",
        path,
        who,
        params=[(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])],
    )
    assert answer.status == 200, answer.body
    return [o["id"] for o in answer.body]


async def test_events_by_targets_any_of_program_active_and_pages(api: Api) -> None:
    p1 = (await api.call("POST", "/programs", "bl", program_body("p1"))).body["id"]
    p2 = (await api.call("POST", "/programs", "bl", program_body("p2"))).body["id"]
    a = (
        await api.call(
            "POST",
            "/events",
            "bl",
            event_body(p1, targets=["hh1"], intervalPeriod={"start": start(1), "duration": "PT30M"}),
        )
    ).body["id"]
    b = (
        await api.call(
            "POST",
            "/events",
            "bl",
            event_body(p2, targets=["hh2"], intervalPeriod={"start": start(2), "duration": "PT30M"}),
        )
    ).body["id"]
    c = (
        await api.call(
            "POST",
            "/events",
            "bl",
            event_body(p1, targets=["hh3"], intervalPeriod={"start": start(3), "duration": "PT30M"}),
        )
    ).body["id"]
    assert await ids(api, "/events") == [a, b, c]
    assert await ids(api, "/events", targets=["hh1", "hh2"]) == [a, b]  # any of them, not all of them
    assert await ids(api, "/events", targets="south") == [c]  # a group target: hh3's group
    assert await ids(api, "/events", targets="nobody") == []
    assert await ids(api, "/events", programID=p1) == [a, c]
    assert await ids(api, "/events", programID=p1, targets="hh2") == []
    assert await ids(api, "/events", skip=1, limit=1) == [b]
    assert await ids(api, "/events", skip=3) == []
    assert await ids(api, "/events", limit=0) == []
    assert await ids(api, "/events", active="true") == [a, b, c]
    assert NOW  # the VTN's clock is the suite's NOW: every event above is still to come


async def test_programs_by_targets_and_pages(api: Api) -> None:
    north = (await api.call("POST", "/programs", "bl", program_body("n", targets=["north"]))).body["id"]
    both = (await api.call("POST", "/programs", "bl", program_body("b", targets=["north", "south"]))).body[
        "id"
    ]
    await api.call("POST", "/programs", "bl", program_body("u", targets=None))
    assert await ids(api, "/programs", targets="south") == [both]
    assert sorted(await ids(api, "/programs", targets=["south", "north"])) == sorted([north, both])
    every = await ids(api, "/programs")
    assert {north, both, "default"} < set(every)  # the operator's programmes are programs too
    assert await ids(api, "/programs", skip=1, limit=2) == every[1:3]


async def test_vens_resources_subscriptions_and_reports_by_their_filters(api: Api) -> None:
    w = await world(api)
    assert await ids(api, "/vens", venName="hh2") == ["hh2"]
    assert await ids(api, "/vens", venName="nobody") == []
    assert await ids(api, "/vens", targets="hh1") == ["hh1"]  # a VEN's targets name its household
    assert await ids(api, "/vens", limit=1, skip=1) == ["hh2"]
    r2 = (await api.call("POST", "/resources", "ven-hh2", resource_request("hh2", "heat-pump"))).body["id"]
    assert await ids(api, "/resources", venID="hh2") == [r2]
    assert await ids(api, "/resources", resourceName="battery") == [w.resource1["id"]]
    assert await ids(api, "/resources", venID="hh1", resourceName="heat-pump") == []
    reports = (await api.call("POST", "/subscriptions", "bl", subscription_request("dso", ["REPORT"]))).body[
        "id"
    ]
    programs = (
        await api.call(
            "POST", "/subscriptions", "bl", subscription_request("dso", ["PROGRAM", "EVENT"], w.program["id"])
        )
    ).body["id"]
    assert await ids(api, "/subscriptions", objects="REPORT") == [reports]
    assert sorted(await ids(api, "/subscriptions", objects=["REPORT", "PROGRAM"])) == sorted(
        [reports, programs]
    )
    assert sorted(await ids(api, "/subscriptions", objects="EVENT")) == sorted(
        [w.subscription1["id"], programs]
    )
    assert await ids(api, "/subscriptions", programID=w.program["id"]) == [programs]
    assert await ids(api, "/subscriptions", clientName="hh1") == [w.subscription1["id"]]
    r = (
        await api.call("POST", "/reports", "ven-hh2", report_request(w.event["id"], "hh2", "heat-pump"))
    ).body["id"]
    both = sorted([w.report1["id"], r])  # created at the same instant: the document defines no order
    assert sorted(await ids(api, "/reports", eventID=w.event["id"])) == both
    assert await ids(api, "/reports", clientName="hh2") == [r]
    assert sorted(await ids(api, "/reports", programID=w.program["id"])) == both
    assert await ids(api, "/reports", programID="default") == []
    every = await ids(api, "/reports")
    assert (
        await ids(api, "/reports", limit=1) == every[:1] and await ids(api, "/reports", skip=1) == every[1:]
    )
    assert ven_request  # (imported for symmetry with the other modules)


async def test_a_ven_clients_filters_and_pages_count_only_what_it_may_see(api: Api) -> None:
    """A VEN client's page holds its own objects only, however many of other VENs' there are: `limit`
    and `skip` count what it may see, and a filter naming another VEN's object finds nothing."""
    w = await world(api)
    for n in range(3):
        await api.call("POST", "/resources", "ven-hh2", resource_request("hh2", f"theirs-{n}"))
        await api.call("POST", "/subscriptions", "ven-hh2", subscription_request("hh2", ["EVENT"]))
    pv = (await api.call("POST", "/resources", "ven-hh1", resource_request("hh1", "pv"))).body["id"]
    mine = {w.resource1["id"], pv}
    first, second = [await ids(api, "/resources", "ven-hh1", limit=1, skip=n) for n in (0, 1)]
    assert len(first) == len(second) == 1 and set(first + second) == mine
    assert await ids(api, "/resources", "ven-hh1", skip=2) == []
    assert set(await ids(api, "/resources", "ven-hh1", limit=50)) == mine
    assert await ids(api, "/resources", "ven-hh1", venID="hh2") == []
    assert await ids(api, "/resources", "ven-hh1", resourceName="theirs-0") == []
    assert await ids(api, "/resources", "ven-hh1", resourceName="pv", venID="hh1") == [pv]
    assert await ids(api, "/vens", "ven-hh1", limit=1) == ["hh1"]
    assert await ids(api, "/vens", "ven-hh1", venName="hh2") == []
    assert await ids(api, "/vens", "ven-hh1", skip=1) == []
    assert await ids(api, "/subscriptions", "ven-hh1", objects="EVENT") == [w.subscription1["id"]]
    assert await ids(api, "/subscriptions", "ven-hh1", clientName="hh2") == []
    assert len(await ids(api, "/subscriptions", "ven-hh2", objects="EVENT", limit=2)) == 2
    assert len(await ids(api, "/subscriptions", "ven-hh2", skip=2)) == 1
    assert await ids(api, "/reports", "ven-hh2") == []  # hh1's report only
    assert await ids(api, "/reports", "ven-hh1", limit=1) == [w.report1["id"]]
