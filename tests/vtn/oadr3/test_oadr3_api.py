"""OpenADR 3.1 beside 2.0b: OAuth2 scopes, events shared with 2.0b and the operator API, VENs, reports,
MQTT and webhook notifications; every response checked against the OpenAPI document (conftest)."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from homeflex.core.timeutil import iso
from homeflex.mqtt.session import MqttEndpoint, MqttSession
from homeflex.storage.records import VenRecord
from homeflex.vtn.oadr3 import provision_client
from tests.vtn.oadr3.conftest import NOW, Vtn, register_ven


def event_request(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "programID": "default",
        "targets": ["hh1", "hh2"],
        "intervalPeriod": {"start": iso(NOW + timedelta(hours=5)), "duration": "PT30M"},
        "intervals": [
            {
                "id": 0,
                "payloads": [
                    {"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-2.0]},
                    {"type": "PRICE", "values": [1.812]},
                ],
            }
        ],
    }
    doc.update(changes)
    return doc


async def test_token_endpoint_and_scopes_refuse_with_problem_json(vtn: Vtn) -> None:
    async with vtn.http.get("/openadr3/auth/server") as r:
        assert (await r.json())["tokenURL"].endswith("/openadr3/auth/token")
    bad = {"grant_type": "client_credentials", "client_id": "bl", "client_secret": "wrong"}
    async with vtn.http.post("/openadr3/auth/token", data=bad) as r:
        assert (r.status, (await r.json())["error"]) == (401, "invalid_client")
    async with vtn.http.post("/openadr3/auth/token", data={**bad, "grant_type": "password"}) as r:
        assert (r.status, (await r.json())["error"]) == (400, "invalid_request")
    form = {
        "grant_type": "client_credentials",
        "client_id": "ven-hh1",
        "client_secret": vtn.secrets["ven-hh1"],
    }
    async with vtn.http.post("/openadr3/auth/token", data={**form, "scope": "write_events"}) as r:
        assert (r.status, (await r.json())["error"]) == (400, "invalid_scope")
    status, body = await vtn.call("GET", "/events", None)
    assert (status, body["status"], body["title"]) == (401, 401, "Unauthorized")
    async with vtn.http.get("/openadr3/events", headers={"Authorization": "Bearer forged.token"}) as r:
        assert r.status == 401
    status, body = await vtn.call("POST", "/events", "ven-hh1", event_request())
    assert status == 403 and "write_events" in body["detail"]
    # A token expires on the VTN's clock.
    token = await vtn.token("bl")
    await vtn.clock.advance(3601)
    async with vtn.http.get("/openadr3/events", headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 401 and "expired" in (await r.json())["detail"]


async def test_31_event_is_stored_once_and_reaches_20b_poll_and_31_vens(vtn: Vtn) -> None:
    await register_ven(vtn, "hh1")
    await register_ven(vtn, "hh3")
    status, created = await vtn.call("POST", "/events", "bl", event_request(targets=["hh1", "north"]))
    assert status == 201, created
    assert created["targets"] == ["hh1", "north"]  # as given (the document's round trip) ...
    assert [t.household_id for t in await vtn.storage.event_targets(created["id"])] == ["hh1", "hh2"]
    stored = await vtn.storage.get_event(created["id"])  # ... a group name targets its households
    assert stored is not None
    assert (stored.reduction_kw, stored.price_gbp_per_mwh, stored.duration) == (
        2.0,
        1812.0,
        timedelta(minutes=30),
    )
    # 2.0b: the household's VEN gets it on its next poll, from the same row.
    await vtn.storage.save_ven(
        VenRecord(ven_id="ven-hh2", household_id="hh2", ven_name="hh2", registration_id="r"), NOW
    )
    poll = await vtn.service.handlers.on_poll("ven-hh2")
    assert poll is not None
    assert [e["event_descriptor"]["event_id"] for e in poll[1]["events"]] == [created["id"]]
    # 3.1: a VEN sees the events that target it, with only itself in the targets.
    status, events = await vtn.call("GET", "/events", "ven-hh1")
    assert status == 200 and [(e["id"], e["targets"]) for e in events] == [(created["id"], ["hh1"])]
    assert await vtn.call("GET", "/events", "ven-hh3") == (200, [])
    status, _ = await vtn.call("GET", f"/events/{created['id']}", "ven-hh3")
    assert status == 404
    status, events = await vtn.call("GET", "/events", "bl", params={"targets": "hh2", "limit": "10"})
    assert [e["targets"] for e in events] == [["hh1", "north"]]
    # Deleted through 3.1: cancelled for 2.0b, gone for 3.1.
    status, _ = await vtn.call("DELETE", f"/events/{created['id']}", "bl")
    assert status == 200
    cancelled = await vtn.storage.get_event(created["id"])
    assert cancelled is not None and (cancelled.status, cancelled.modification_number) == ("cancelled", 1)
    assert await vtn.call("GET", "/events", "ven-hh1") == (200, [])


async def test_operator_api_event_is_a_31_event(vtn: Vtn) -> None:
    await register_ven(vtn, "hh2")
    body = {
        "targets": ["hh2"],
        "start": iso(NOW + timedelta(hours=1)),
        "duration_minutes": 60,
        "reduction_kw": 1.5,
        "price_gbp_per_mwh": 500,
    }
    async with vtn.http.post("/api/events", json=body) as r:
        event_id = (await r.json())["event_id"]
    status, event = await vtn.call("GET", f"/events/{event_id}", "ven-hh2")
    assert status == 200
    assert event["intervalPeriod"] == {"start": body["start"], "duration": "PT1H"}
    assert event["intervals"][0]["payloads"] == [
        {"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-1.5]},
        {"type": "PRICE", "values": [0.5]},
    ]


MINUS_2KW = [{"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-2.0]}]


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"programID": None}, "does not match the OpenADR 3.1 schema"),
        ({"targets": ["nobody"]}, "neither a household nor a group"),
        ({"programID": "no-such"}, "unknown programID"),
        ({"intervals": []}, "exactly one interval"),
        ({"intervalPeriod": None}, "intervalPeriod with start and duration"),
        ({"intervalPeriod": {"start": iso(NOW - timedelta(hours=3)), "duration": "PT1H"}}, "already over"),
        ({"intervalPeriod": {"start": iso(NOW), "duration": "P1M"}}, "use ISO 8601 days/hours"),
        ({"intervalPeriod": {"start": iso(NOW), "duration": "30 minutes"}}, "does not match the OpenADR 3.1"),
        (
            {"intervals": [{"id": 0, "payloads": [{"type": "DISPATCH_SETPOINT_RELATIVE", "values": [2]}]}]},
            "must be negative",
        ),
        ({"intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}]}, "unsupported payload"),
        ({"intervalPeriod": {"start": iso(NOW), "duration": "P99999999999W"}}, "out of range"),
        ({"intervalPeriod": {"start": "2200-01-01T00:00:00Z", "duration": "PT1H"}}, "years 2000..2100"),
        (
            {"intervals": [{"id": 0, "payloads": [*MINUS_2KW, {"type": "PRICE", "values": [1e300]}]}]},
            "between 0",
        ),
    ],
)
async def test_bad_event_requests_get_400_and_store_nothing(
    vtn: Vtn, changes: dict[str, Any], detail: str
) -> None:
    doc = {k: v for k, v in event_request(**changes).items() if v is not None}
    status, body = await vtn.call("POST", "/events", "bl", doc)
    assert status == 400 and detail in body["detail"], body
    assert await vtn.storage.list_events() == []


async def test_an_overlapping_31_event_is_refused_like_an_operator_one(vtn: Vtn) -> None:
    status, first = await vtn.call("POST", "/events", "bl", event_request(targets=["hh1"]))
    assert status == 201
    body = {"targets": ["hh1"], "start": iso(NOW + timedelta(hours=5, minutes=10)), "duration_minutes": 30}
    async with vtn.http.post("/api/events", json={**body, "reduction_kw": 1, "price_gbp_per_mwh": 0}) as r:
        assert r.status == 409  # the same storage rule for 2.0b and 3.1 events
    status, problem = await vtn.call("POST", "/events", "bl", event_request(targets=["north"]))
    assert status == 409 and f"hh1 already in event {first['id']}" in problem["detail"]
    assert [e.event_id for e in await vtn.storage.list_events()] == [first["id"]]


async def test_pagination_limit_is_checked(vtn: Vtn) -> None:
    status, body = await vtn.call("GET", "/programs", "bl", params={"limit": "51"})
    assert status == 400 and "limit" in body["detail"]
    status, programs = await vtn.call("GET", "/programs", "ven-hh1", params={"skip": "1", "limit": "1"})
    assert status == 200 and [p["id"] for p in programs] == ["trial"]


async def test_programs_map_to_programmes(vtn: Vtn) -> None:
    status, created = await vtn.call("POST", "/programs", "bl", {"programName": "winter-peak"})
    assert status == 201 and created["id"] == "winter-peak"
    programme = await vtn.storage.get_programme("winter-peak")
    assert programme is not None and programme.baseline_method == "same_day_type"
    assert (await vtn.call("POST", "/programs", "bl", {"programName": "winter-peak"}))[0] == 409
    assert (await vtn.call("POST", "/programs", "ven-hh1", {"programName": "x"}))[0] == 403
    status, event = await vtn.call("POST", "/events", "bl", event_request(programID="winter-peak"))
    assert status == 201 and event["programID"] == "winter-peak"


async def test_vens_are_households_and_private(vtn: Vtn) -> None:
    await register_ven(vtn, "hh1")
    again = {"objectType": "VEN_VEN_REQUEST", "venName": "hh1"}
    status, body = await vtn.call("POST", "/vens", "ven-hh1", again)
    assert status == 409 and "exists" in body["detail"]  # the document's conflict answer
    vtn.secrets["ven-x9"] = await provision_client(vtn.storage, vtn.clock, "ven-x9", "ven")
    status, body = await vtn.call(
        "POST", "/vens", "ven-x9", {"objectType": "VEN_VEN_REQUEST", "venName": "x9"}
    )
    assert status == 400 and "not an enrolled household" in body["detail"]
    bl_request = {"objectType": "BL_VEN_REQUEST", "venName": "hh3", "clientID": "ven-hh3"}
    assert (await vtn.call("POST", "/vens", "ven-hh2", bl_request))[0] == 403
    assert (await vtn.call("POST", "/vens", "bl", bl_request))[0] == 201
    assert [v["id"] for v in (await vtn.call("GET", "/vens", "ven-hh1"))[1]] == ["hh1"]
    assert [v["id"] for v in (await vtn.call("GET", "/vens", "bl"))[1]] == ["hh1", "hh3"]
    assert (await vtn.call("GET", "/vens/hh3", "ven-hh1"))[0] == 404
    resource = {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": "heat-pump", "venID": "hh1"}
    status, created = await vtn.call("POST", "/resources", "ven-hh1", resource)
    assert status == 201 and created["clientID"] == "ven-hh1"
    assert (await vtn.call("POST", "/resources", "ven-hh1", resource))[0] == 409
    assert (await vtn.call("POST", "/resources", "ven-hh2", resource))[0] == 400  # not its VEN
    assert (await vtn.call("GET", f"/resources/{created['id']}", "ven-hh2"))[0] == 404
    assert (await vtn.call("DELETE", "/vens/hh1", "ven-hh1"))[0] == 200
    assert (await vtn.call("GET", "/resources", "bl"))[1] == []


async def test_31_reports_land_where_20b_reports_land(vtn: Vtn) -> None:
    await register_ven(vtn, "hh1")
    _, event = await vtn.call("POST", "/events", "bl", event_request())
    start = NOW + timedelta(hours=5)
    report = {
        "eventID": event["id"],
        "clientName": "hh1",
        "resources": [
            {
                "resourceName": "meter",
                "intervalPeriod": {"start": iso(start), "duration": "PT15M"},
                "intervals": [
                    {"id": 0, "payloads": [{"type": "USAGE", "values": [1.25]}]},
                    {"id": 1, "payloads": [{"type": "USAGE", "values": [0.5]}]},
                ],
            }
        ],
    }
    status, created = await vtn.call("POST", "/reports", "ven-hh1", report)
    assert status == 201 and created["clientID"] == "ven-hh1"
    assert await vtn.storage.ven_reports("ven-hh1") == [
        ("meter/USAGE", start, 1.25),
        ("meter/USAGE", start + timedelta(minutes=15), 0.5),
    ]
    assert (await vtn.call("POST", "/reports", "bl", report))[0] == 403  # write_reports: VENs only
    status, body = await vtn.call("POST", "/reports", "ven-hh3", {**report, "clientName": "hh3"})
    assert status == 400 and "does not target" in body["detail"]
    assert [r["id"] for r in (await vtn.call("GET", "/reports", "bl"))[1]] == [created["id"]]
    assert (await vtn.call("GET", "/reports", "ven-hh2"))[1] == []


class Webhook:
    """A subscriber's callback endpoint on loopback."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def handle(self, request: web.Request) -> web.Response:
        await self.received.put((request.headers.get("Authorization", ""), await request.json()))
        return web.json_response({})


async def test_operator_event_notified_over_mqtt_and_webhook_to_its_vens_only(vtn: Vtn) -> None:
    for hh in ("hh1", "hh2"):
        await register_ven(vtn, hh)
    _, topics = await vtn.call("GET", "/notifiers/mqtt/topics/vens/hh1/events", "ven-hh1")
    _, other = await vtn.call("GET", "/notifiers/mqtt/topics/vens/hh2/events", "ven-hh2")
    assert (await vtn.call("GET", "/notifiers/mqtt/topics/vens/hh2/events", "ven-hh1"))[0] == 404
    _, notifiers = await vtn.call("GET", "/notifiers", "ven-hh1")
    assert notifiers["MQTT"]["URIS"] == [vtn.mqtt_url] and notifiers["WEBHOOK"] is True
    hook = Webhook()
    app = web.Application()
    app.router.add_post("/cb", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    subscription = {
        "clientName": "hh1",
        "objectOperations": [
            {
                "objects": ["EVENT"],
                "operations": ["CREATE", "DELETE"],
                "callbackUrl": f"http://127.0.0.1:{port}/cb",
                "bearerToken": "s3cret",
            }
        ],
    }
    assert (await vtn.call("POST", "/subscriptions", "ven-hh1", subscription))[0] == 201
    mine: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    theirs: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    session = MqttSession(vtn.mqtt_url, f"test-ven-{vtn.topic_prefix}")
    session.subscribe(topics["topics"]["ALL"], lambda t, p: mine.put_nowait(json.loads(p)))
    session.subscribe(other["topics"]["ALL"], lambda t, p: theirs.put_nowait(json.loads(p)))
    try:
        async with session:
            body = {
                "targets": ["hh1"],
                "start": iso(NOW + timedelta(hours=1)),
                "duration_minutes": 30,
                "reduction_kw": 2,
                "price_gbp_per_mwh": 1812,
            }
            async with vtn.http.post("/api/events", json=body) as r:
                event_id = (await r.json())["event_id"]
            message = await asyncio.wait_for(mine.get(), 10)
            assert (message["operation"], message["object"]["id"], message["object"]["targets"]) == (
                "CREATE",
                event_id,
                ["hh1"],
            )
            assert vtn.oadr3.context.spec.schema_errors("notification", message) == []
            auth, hooked = await asyncio.wait_for(hook.received.get(), 10)
            assert auth == "Bearer s3cret" and hooked["object"]["id"] == event_id
            async with vtn.http.delete(f"/api/events/{event_id}") as r:
                assert r.status == 200
            assert (await asyncio.wait_for(mine.get(), 10))["operation"] == "DELETE"
            assert (await asyncio.wait_for(hook.received.get(), 10))[1]["operation"] == "DELETE"
            # hh2 was not targeted: a marker sent on its topic after both notifications arrives first.
            await session.publish(other["topics"]["UPDATE"], {"marker": True})
            assert await asyncio.wait_for(theirs.get(), 10) == {"marker": True}
    finally:
        await runner.cleanup()


async def test_dead_webhook_and_dead_broker_do_not_stop_events(
    vtn: Vtn, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback that refuses connections and a broker that is gone: the event is stored and served."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        await register_ven(vtn, "hh1")
        subscription = {
            "clientName": "hh1",
            "objectOperations": [
                {"objects": ["EVENT"], "operations": ["CREATE"], "callbackUrl": f"http://127.0.0.1:{dead}/cb"}
            ],
        }
        assert (await vtn.call("POST", "/subscriptions", "ven-hh1", subscription))[0] == 201
        vtn.oadr3.notifier.mqtt = MqttEndpoint(host="127.0.0.1", port=dead)
        status, created = await vtn.call("POST", "/events", "bl", event_request(targets=["hh1"]))
        assert status == 201
        await vtn.oadr3.drain()
    logged = [r.getMessage() for r in caplog.records]
    assert any("webhook" in m and "failed" in m for m in logged)
    assert any("MQTT notification" in m and "not sent" in m for m in logged)
    assert not any("3.1 notification failed" in m for m in logged)  # handled, not raised
    assert [e["id"] for e in (await vtn.call("GET", "/events", "ven-hh1"))[1]] == [created["id"]]


async def test_a_quick_cancel_is_notified_after_its_creation(vtn: Vtn) -> None:
    await register_ven(vtn, "hh1")
    _, topics = await vtn.call("GET", "/notifiers/mqtt/topics/vens/hh1/events", "ven-hh1")
    got: asyncio.Queue[str] = asyncio.Queue()
    session = MqttSession(vtn.mqtt_url, f"test-order-{vtn.topic_prefix}")
    session.subscribe(topics["topics"]["ALL"], lambda t, p: got.put_nowait(json.loads(p)["operation"]))
    async with session:
        bl = {"Authorization": f"Bearer {await vtn.token('bl')}"}
        async with vtn.http.post("/openadr3/events", json=event_request(targets=["hh1"]), headers=bl) as r:
            event_id = (await r.json())["id"]
        async with vtn.http.delete(f"/openadr3/events/{event_id}", headers=bl) as r:
            assert r.status == 200
        assert [await asyncio.wait_for(got.get(), 10) for _ in range(2)] == ["CREATE", "DELETE"]


async def test_deleting_a_ven_notifies_the_deletion_of_its_resources(vtn: Vtn) -> None:
    await register_ven(vtn, "hh1")
    resource = {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": "battery", "venID": "hh1"}
    status, created = await vtn.call("POST", "/resources", "ven-hh1", resource)
    assert status == 201
    _, topics = await vtn.call("GET", "/notifiers/mqtt/topics/vens/hh1/resources", "ven-hh1")
    got: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    def heard(topic: str, payload: bytes) -> None:
        note = json.loads(payload)
        got.put_nowait((note["operation"], note["object"]["id"]))

    session = MqttSession(vtn.mqtt_url, f"test-res-{vtn.topic_prefix}")
    session.subscribe(topics["topics"]["ALL"], heard)
    async with session:
        assert (await vtn.call("DELETE", "/vens/hh1", "ven-hh1"))[0] == 200
        heard_ops = [await asyncio.wait_for(got.get(), 10)]
        while heard_ops[-1][0] != "DELETE":  # the creation's own notice may still be on its way
            heard_ops.append(await asyncio.wait_for(got.get(), 10))
        assert heard_ops[-1] == ("DELETE", created["id"])
