"""Valid request bodies and a small world of objects the conformance tests build through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.vtn.oadr3.conformance.conftest import Api, event_body, program_body, start

CALLBACK = "http://127.0.0.1:9/callbacks"  # loopback, nothing listening: deliveries fail fast


def ven_request(name: str) -> dict[str, Any]:
    return {
        "objectType": "VEN_VEN_REQUEST",
        "venName": name,
        "attributes": [{"type": "ROLE", "values": ["home"]}],
    }


def resource_request(ven_id: str, name: str) -> dict[str, Any]:
    return {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": name, "venID": ven_id}


def subscription_request(
    client_name: str, objects: list[str], program_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "clientName": client_name,
        "objectOperations": [
            {"objects": objects, "operations": ["CREATE", "UPDATE"], "callbackUrl": CALLBACK}
        ],
    }
    if program_id:
        body["programID"] = program_id
    return body


def report_request(event_id: str, client_name: str, resource: str = "battery") -> dict[str, Any]:
    return {
        "eventID": event_id,
        "clientName": client_name,
        "reportName": "usage",
        "resources": [
            {
                "resourceName": resource,
                "intervalPeriod": {"start": start(5), "duration": "PT30M"},
                "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [0.4]}]}],
            }
        ],
    }


@dataclass
class World:
    program: dict[str, Any]
    event: dict[str, Any]  # targets hh1 and hh2
    ven1: dict[str, Any]
    ven2: dict[str, Any]
    resource1: dict[str, Any]
    report1: dict[str, Any]
    subscription1: dict[str, Any]


async def created(api: Api, path: str, who: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.call("POST", path, who, body)
    assert answer.status == 201, answer.body
    return dict(answer.body)


async def world(api: Api) -> World:
    """A program, VENs for hh1 and hh2, an event for both, a resource, report and subscription of hh1."""
    program = await created(api, "/programs", "bl", program_body("flex-north"))
    ven1 = await created(api, "/vens", "ven-hh1", ven_request("hh1"))
    ven2 = await created(api, "/vens", "ven-hh2", ven_request("hh2"))
    event = await created(api, "/events", "bl", event_body(program["id"], targets=["hh1", "hh2"]))
    resource1 = await created(api, "/resources", "ven-hh1", resource_request(ven1["id"], "battery"))
    report1 = await created(api, "/reports", "ven-hh1", report_request(event["id"], "hh1"))
    subscription1 = await created(api, "/subscriptions", "ven-hh1", subscription_request("hh1", ["EVENT"]))
    return World(program, event, ven1, ven2, resource1, report1, subscription1)
