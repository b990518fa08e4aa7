"""A 3.1 VEN built on the independent `openadr3-client` package (PyPI, ElaadNL), run under Python 3.12
in its own venv by test_oadr3_client.py. Not imported by the test suite (it needs Python 3.12+).

argv: VTN base URL, client id, client secret, household id. Prints one JSON object per line:
{"ready": ...} once subscribed over MQTT, then {"notified": ...}, {"events": ...}, {"report": ...}.
"""

import json
import queue
import sys
from urllib.parse import urlsplit

import requests
from openadr3_client.oadr310._vtn.mqtt.client import MQTTClient
from openadr3_client.oadr310.models.report.report import NewReport
from openadr3_client.oadr310.models.ven.ven import NewVenVenRequest
from openadr3_client.ven.http_factory import VirtualEndNodeHttpClientFactory
from openadr3_client.version import OADRVersion


def say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def main() -> None:
    base_url, client_id, secret, household = sys.argv[1:5]
    ven = VirtualEndNodeHttpClientFactory.create_http_ven_client(
        base_url, client_id, secret, token_url=None, allow_insecure_http=True, version=OADRVersion.OADR_310
    )
    created = ven.vens.create_ven(NewVenVenRequest(ven_name=household))
    notifiers = ven.notifiers.get_notifiers()
    topics = ven.notifiers.get_event_topics_for_ven(created.id)
    uri = urlsplit(str(notifiers.mqtt.uris[0]))
    messages: queue.Queue[bytes] = queue.Queue()
    mqtt = MQTTClient(notifiers.mqtt)
    mqtt.on_message = lambda _c, _u, message: messages.put(message.payload)
    mqtt.connect(uri.hostname or "127.0.0.1", uri.port or 1883)
    subscribed = queue.Queue()
    mqtt.on_subscribe = lambda *_args: subscribed.put(True)
    mqtt.loop_start()
    mqtt.subscribe(topics.topics.create, qos=1)
    subscribed.get(timeout=20)
    say(ready=True, ven_id=created.id, client_id=created.client_id, topic=topics.topics.create)
    note = json.loads(messages.get(timeout=60))
    say(notified=note["object"]["id"], operation=note["operation"], targets=note["object"]["targets"])
    events = ven.events.get_events(target=None, pagination=None, program_id=None)
    say(
        events=[
            {
                "id": e.id,
                "program": e.program_id,
                "targets": list(e.targets or ()),
                "payloads": {p.type: list(p.values) for i in e.intervals or () for p in i.payloads},
            }
            for e in events
        ]
    )
    event = events[0]
    report = NewReport.model_validate(
        {
            "eventID": event.id,
            "clientName": household,
            "resources": [
                {
                    "resourceName": "meter",
                    "intervalPeriod": {"start": event.interval_period.start.isoformat(), "duration": "PT30M"},
                    "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [0.75]}]}],
                }
            ],
        }
    )
    try:
        stored = ven.reports.create_report(report)
    except requests.HTTPError as err:
        sys.exit(f"report refused: {err.response.text} for {report.model_dump_json(by_alias=True)}")
    say(report=stored.id, client_id=stored.client_id)
    mqtt.loop_stop()
    mqtt.disconnect()


if __name__ == "__main__":
    main()
