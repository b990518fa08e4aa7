"""Reading OpenADR events (as openleadr parses them) into FlexEvents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from openleadr.messaging import create_message, parse_message

from homeflex.storage.records import EventRecord
from homeflex.ven.events import parse_event
from homeflex.vtn.events import openadr_event

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def round_trip(record: EventRecord) -> dict[str, object]:
    """Through real openleadr XML, as a VEN receives it."""
    xml = create_message(
        "oadrDistributeEvent",
        events=[openadr_event(record, "ven-hh1", NOW)],
        vtn_id="VTN",
        request_id="r1",
        response={"response_code": 200, "response_description": "OK", "request_id": "r1"},
    )
    _, payload = parse_message(xml)
    return payload["events"][0]  # type: ignore[no-any-return]


def record(**kw: object) -> EventRecord:
    values: dict[str, object] = {
        "event_id": "ev1",
        "modification_number": 2,
        "status": "scheduled",
        "start": NOW + timedelta(minutes=30),
        "duration": timedelta(minutes=30),
        "reduction_kw": 1.5,
        "price_gbp_per_mwh": 1812.0,
        "created_at": NOW,
    }
    values.update(kw)
    return EventRecord(**values)  # type: ignore[arg-type]


def test_vtn_event_reads_back_as_the_same_flex_event() -> None:
    flex = parse_event(round_trip(record()))
    assert flex.event_id == "ev1"
    assert flex.modification_number == 2
    assert flex.start == NOW + timedelta(minutes=30)
    assert flex.duration == timedelta(minutes=30)
    assert flex.reduction_w == 1500.0
    assert flex.price_gbp_per_mwh == 1812.0
    assert not flex.cancelled


def test_cancellation_survives_the_round_trip() -> None:
    assert parse_event(round_trip(record(status="cancelled"))).cancelled


def test_event_without_dispatch_signal_is_refused() -> None:
    event = round_trip(record())
    event["event_signals"] = [s for s in event["event_signals"] if s["signal_name"] != "LOAD_DISPATCH"]  # type: ignore[attr-defined, index]
    with pytest.raises(ValueError, match="LOAD_DISPATCH"):
        parse_event(event)
