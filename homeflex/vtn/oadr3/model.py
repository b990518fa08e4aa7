"""Pure mapping between OpenADR 3.1 JSON and the VTN's records: events, programs, reports, notifications.

A 3.1 program is a programme (same id) with its 3.1 document kept as given; a 3.1 event is a row of the
events table whose targets resolve to household ids (a 3.1 VEN's id and venName are its household id).
The event carries one interval: the reduction per household as DISPATCH_SETPOINT_RELATIVE in kW
(negative: import less) and the utilisation price as PRICE in GBP per kWh. What a 3.1 client gave beyond
that (name, priority, descriptors, targets as given) is stored with the event and served back as given.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

from homeflex.core.timeutil import iso, parse_utc
from homeflex.storage.records import EventRecord, Oadr3Program
from homeflex.vtn.events import BadRequest

REDUCTION = "DISPATCH_SETPOINT_RELATIVE"
PRICE = "PRICE"
# Members the server sets: a client's copy of them is not stored (the columns are the truth).
SERVER_MEMBERS = ("id", "createdDateTime", "modificationDateTime", "objectType")
_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def iso_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def parse_duration(text: str) -> timedelta:
    """ISO 8601 durations in weeks, days, hours, minutes and seconds (years and months are ambiguous)."""
    match = _DURATION.match(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise BadRequest(f"duration {text!r}: use ISO 8601 days/hours/minutes/seconds, e.g. PT30M")
    weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    try:
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError as err:  # e.g. P99999999999W: far beyond any event, not a server error
        raise BadRequest(f"duration {text!r} is out of range") from err


def metadata(
    object_type: str, object_id: str, created: datetime | str, modified: datetime | str
) -> dict[str, Any]:
    return {
        "id": object_id,
        "createdDateTime": created if isinstance(created, str) else iso(created),
        "modificationDateTime": modified if isinstance(modified, str) else iso(modified),
        "objectType": object_type,
    }


def stored_document(doc: dict[str, Any], *columns: str) -> dict[str, Any]:
    """A 3.1 request as kept beside the columns: without server members and what the columns hold."""
    return {k: v for k, v in doc.items() if k not in SERVER_MEMBERS and k not in columns}


def _operator_event(event: EventRecord) -> dict[str, Any]:
    """The 3.1 members of an event made by the operator API (no 3.1 document)."""
    return {
        "priority": None,
        "reportDescriptors": None,
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": REDUCTION,
                "units": "KW",
                "currency": None,
            },
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": PRICE,
                "units": "KWH",
                "currency": "GBP",
            },
        ],
        "intervalPeriod": {"start": iso(event.start), "duration": iso_duration(event.duration)},
        "intervals": [
            {
                "id": 0,
                "payloads": [
                    {"type": REDUCTION, "values": [-event.reduction_kw]},
                    {"type": PRICE, "values": [event.price_gbp_per_mwh / 1000]},
                ],
            }
        ],
    }


def event_json(event: EventRecord, targets: list[str] | None) -> dict[str, Any]:
    """The 3.1 event; `targets` are what this reader may see (as given, or household ids)."""
    members = _operator_event(event) if event.document is None else event.document
    return {
        **metadata("EVENT", event.event_id, event.created_at, event.last_modified),
        **members,
        "programID": event.programme_id,
        "eventName": event.name,
        "targets": targets,
    }


def given_targets(event: EventRecord, households: list[str]) -> list[str] | None:
    """The targets a business-logic reader sees: as the 3.1 client gave them (None: untargeted), or the
    households of an operator's event."""
    return households if event.document is None else event.document.get("targets")


def program_json(p: Oadr3Program) -> dict[str, Any]:
    defaults = {"programDescriptions": None, "payloadDescriptors": None, "attributes": None, "targets": None}
    return {
        **metadata("PROGRAM", p.id, p.created_at, p.modified_at),
        **defaults,
        **p.document,
        "programName": p.name,
    }


def _single_number(values: Any, what: str) -> float:
    if not isinstance(values, list) or len(values) != 1:
        raise BadRequest(f"{what} carries exactly one value")
    value = values[0]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest(f"{what} must be a finite number")
    return float(value)


def _price_per_mwh(doc: dict[str, Any], values: Any) -> float:
    price = _single_number(values, PRICE)
    units = {d.get("payloadType"): d.get("units") for d in doc.get("payloadDescriptors") or []}.get(PRICE)
    if units in (None, "KWH"):
        return price * 1000
    if units == "MWH":
        return price
    raise BadRequest(f"PRICE units {units!r}: use KWH or MWH")


def operator_body(doc: dict[str, Any], household_ids: list[str]) -> dict[str, Any]:
    """A schema-valid 3.1 eventRequest as the operator API's event request (checked by the same rules)."""
    intervals = doc.get("intervals") or []
    if len(intervals) != 1:
        raise BadRequest("an event here has exactly one interval (one window per event)")
    interval = intervals[0]
    period = interval.get("intervalPeriod") or doc.get("intervalPeriod") or {}
    if "start" not in period or "duration" not in period:
        raise BadRequest("the event needs an intervalPeriod with start and duration")
    payloads = {p["type"]: p["values"] for p in interval["payloads"]}
    unknown = sorted(set(payloads) - {REDUCTION, PRICE})
    if unknown:
        raise BadRequest(f"unsupported payload types {', '.join(unknown)}: use {REDUCTION} (kW) and {PRICE}")
    if REDUCTION not in payloads:
        raise BadRequest(f"the event needs a {REDUCTION} payload: the reduction per household in kW")
    setpoint = _single_number(payloads[REDUCTION], REDUCTION)
    if setpoint >= 0:
        raise BadRequest(f"{REDUCTION} must be negative: a flex event asks households to import less")
    try:
        parse_utc(period["start"])
    except ValueError as err:
        raise BadRequest(f"intervalPeriod start: {err}") from err
    return {
        "targets": household_ids,
        "start": period["start"],
        "duration_minutes": parse_duration(period["duration"]).total_seconds() / 60,
        "reduction_kw": -setpoint,
        "price_gbp_per_mwh": _price_per_mwh(doc, payloads[PRICE]) if PRICE in payloads else 0.0,
        "programme": doc["programID"],
    }


def report_values(doc: dict[str, Any]) -> list[tuple[str, datetime, float]]:
    """(r_id, interval start, value) for every numeric report value; r_id is `<resourceName>/<type>`."""
    out = []
    for resource in doc["resources"]:
        default = resource.get("intervalPeriod") or {}
        for interval in resource["intervals"]:
            period = interval.get("intervalPeriod") or default
            if "start" not in period:
                raise BadRequest(
                    f"report interval {interval['id']} of {resource['resourceName']} has no start"
                )
            start = parse_utc(period["start"])
            if interval.get("intervalPeriod") is None and "duration" in period:
                start += parse_duration(period["duration"]) * interval["id"]  # successive intervals
            for payload in interval["payloads"]:
                values = payload["values"]
                if (
                    len(values) == 1
                    and isinstance(values[0], int | float)
                    and not isinstance(values[0], bool)
                ):
                    out.append((f"{resource['resourceName']}/{payload['type']}", start, float(values[0])))
    return out


def notification(object_type: str, operation: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"objectType": object_type, "operation": operation, "object": obj, "targets": obj.get("targets")}


class Topics:
    """MQTT topic names (the spec's `{objectType}s/{operation}` shape under a prefix). VEN-scoped topics
    carry only what that VEN may read, so the broker's ACL can keep VENs apart by topic."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def base(self, plural: str, scope: str = "") -> str:
        return f"{self.prefix}{plural}{scope}"

    def for_ven(self, plural: str, ven_id: str) -> str:
        return self.base(plural, f"/{ven_id}" if plural == "vens" else f"/vens/{ven_id}")

    def for_program(self, plural: str, program_id: str) -> str:
        return self.base(plural, f"/programs/{program_id}")

    @staticmethod
    def response(base: str, *, create: bool = True) -> dict[str, Any]:
        topics = {"UPDATE": f"{base}/update", "DELETE": f"{base}/delete", "ALL": f"{base}/+"}
        return {"topics": {"CREATE": f"{base}/create", **topics} if create else topics}
