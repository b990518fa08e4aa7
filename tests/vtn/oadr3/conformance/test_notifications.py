"""Notifications as the document's MQTT binding describes them: a VEN discovers its topics, and each
operation on an event that targets it (create, update, delete) arrives there as a valid notification;
a VEN no longer targeted after a modification is told the event is deleted for it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from homeflex.mqtt.session import MqttSession
from tests.vtn.oadr3.conformance.conftest import Api, document, event_body, start
from tests.vtn.oadr3.conformance.objects import ven_request


async def test_event_lifecycle_reaches_each_targeted_ven_on_its_topics(api: Api) -> None:
    queues: dict[str, asyncio.Queue[dict[str, Any]]] = {"hh1": asyncio.Queue(), "hh2": asyncio.Queue()}
    session = MqttSession(api.mqtt_url, f"conformance-{api.topic_prefix}")
    for ven, queue in queues.items():
        await api.call("POST", "/vens", f"ven-{ven}", ven_request(ven))
        found = await api.call(
            "GET",
            f"/notifiers/mqtt/topics/vens/{ven}/events",
            f"ven-{ven}",
            template="/notifiers/mqtt/topics/vens/{venID}/events",
        )
        session.subscribe(found.body["topics"]["ALL"], lambda t, p, q=queue: q.put_nowait(json.loads(p)))

    async def next_of(ven: str) -> dict[str, Any]:
        message = await asyncio.wait_for(queues[ven].get(), 10)
        assert document().schema_errors("notification", message) == []
        return message

    async with session:
        await asyncio.sleep(0.2)  # the subscriptions reach the broker
        created = (
            await api.call("POST", "/events", "bl", event_body("default", targets=["hh1", "hh2"]))
        ).body
        for ven in queues:
            message = await next_of(ven)
            assert (message["operation"], message["object"]["id"], message["object"]["targets"]) == (
                "CREATE",
                created["id"],
                [ven],
            )
        path = f"/events/{created['id']}"
        later = event_body("default", targets=["hh1"], intervalPeriod={"start": start(7), "duration": "PT1H"})
        assert (await api.call("PUT", path, "bl", later, template="/events/{eventID}")).status == 200
        update = await next_of("hh1")
        assert (
            update["operation"] == "UPDATE" and update["object"]["intervalPeriod"] == later["intervalPeriod"]
        )
        removed = await next_of("hh2")
        assert (removed["operation"], removed["object"]["id"]) == ("DELETE", created["id"])
        assert (await api.call("DELETE", path, "bl", template="/events/{eventID}")).status == 200
        assert (await next_of("hh1"))["operation"] == "DELETE"
