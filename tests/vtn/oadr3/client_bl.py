"""The DSO's business logic on the independent `openadr3-client` package (PyPI, ElaadNL), run under
Python 3.12 in its own venv by test_oadr3_client.py. Not imported by the test suite (it needs 3.12+).

argv: VTN base URL, client id, client secret, event start (ISO 8601). One step per line read on stdin
(the test checks both VENs between steps); prints one JSON object per step:
{"program": ...}, {"event": ...}, {"updated": ...}, {"deleted": ...}.
"""

import json
import sys
from datetime import datetime, timedelta

from openadr3_client.bl.http_factory import BusinessLogicHttpClientFactory
from openadr3_client.oadr310.models.event.event import EventUpdate, NewEvent
from openadr3_client.oadr310.models.program.program import NewProgram
from openadr3_client.version import OADRVersion


def say(**fields: object) -> None:
    print(json.dumps(fields, default=str), flush=True)


def step() -> None:
    if not sys.stdin.readline():
        sys.exit("the test went away")


def event_doc(program_id: str, start: datetime, kw: float, name: str) -> dict[str, object]:
    return {
        "programID": program_id,
        "eventName": name,
        "targets": ["hh1", "hh2"],
        "intervalPeriod": {"start": start.isoformat(), "duration": "PT30M"},
        "intervals": [
            {
                "id": 0,
                "payloads": [
                    {"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-kw]},
                    {"type": "PRICE", "values": [1.812]},
                ],
            }
        ],
    }


def main() -> None:
    base_url, client_id, secret, start_text = sys.argv[1:5]
    start = datetime.fromisoformat(start_text)
    bl = BusinessLogicHttpClientFactory.create_http_bl_client(
        base_url, client_id, secret, token_url=None, allow_insecure_http=True, version=OADRVersion.OADR_310
    )
    program = bl.programs.create_program(
        NewProgram.model_validate(
            {
                "programName": "evening-flex",
                "programDescriptions": [{"URL": "https://dso.example/evening-flex"}],
                "intervalPeriod": {"start": start.isoformat(), "duration": "P1D"},
            }
        )
    )
    read = bl.programs.get_program_by_id(program.id)
    say(program=program.id, descriptions=[str(d.url) for d in read.program_descriptions or ()])
    step()
    event = bl.events.create_event(NewEvent.model_validate(event_doc(program.id, start, 2.0, "first")))
    say(event=event.id, name=event.event_name)
    step()
    moved = event_doc(program.id, start + timedelta(minutes=30), 3.0, "moved")
    updated = bl.events.update_event_by_id(event.id, EventUpdate.model_validate(moved))
    say(updated=updated.id, name=updated.event_name, modified=updated.modification_date_time.isoformat())
    step()
    deleted = bl.events.delete_event_by_id(event.id)
    say(deleted=deleted.id)


if __name__ == "__main__":
    main()
