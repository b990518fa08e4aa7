"""Pure parts of OpenADR 3.1: the document as validators, event mapping, durations, reports, tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.clock import ManualClock
from homeflex.storage.records import EventRecord, Oadr3Client
from homeflex.vtn.events import BadRequest, parse_event_request
from homeflex.vtn.oadr3.auth import AuthError, TokenIssuer, hash_secret
from homeflex.vtn.oadr3.model import event_json, iso_duration, operator_body, parse_duration, report_values
from homeflex.vtn.oadr3.notify import per_ven_messages
from homeflex.vtn.oadr3.spec import json_schema, openapi

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EVENT = EventRecord(
    event_id="ev-1",
    modification_number=0,
    status="scheduled",
    start=NOW + timedelta(hours=5),
    duration=timedelta(minutes=90),
    reduction_kw=2.5,
    price_gbp_per_mwh=1812.0,
    created_at=NOW,
    programme_id="default",
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("PT30M", timedelta(minutes=30)),
        ("PT1H30M", timedelta(minutes=90)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("P1W", timedelta(weeks=1)),
        ("PT0.5S", timedelta(seconds=0.5)),
    ],
)
def test_durations(text: str, value: timedelta) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize("text", ["P1M", "P1Y", "PT", "P", "30M", "PT1H30"])
def test_ambiguous_or_broken_durations_are_refused(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_duration(text)


@pytest.mark.parametrize("minutes", [1, 30, 60, 90, 24 * 60])
def test_iso_duration_round_trips(minutes: int) -> None:
    assert parse_duration(iso_duration(timedelta(minutes=minutes))) == timedelta(minutes=minutes)


def test_served_event_conforms_and_reads_back_as_the_same_event() -> None:
    served = event_json(EVENT, ["hh1", "hh2"])
    assert openapi().schema_errors("event", served) == []
    req = parse_event_request(operator_body(served, ["hh1", "hh2"]), NOW)
    assert (req.start, req.duration, req.reduction_kw, req.price_gbp_per_mwh, req.programme) == (
        EVENT.start,
        EVENT.duration,
        EVENT.reduction_kw,
        EVENT.price_gbp_per_mwh,
        EVENT.programme_id,
    )


def test_price_in_mwh_is_read_as_such() -> None:
    doc = event_json(EVENT, ["hh1"])
    doc["payloadDescriptors"][1]["units"] = "MWH"
    doc["intervals"][0]["payloads"][1]["values"] = [90]
    assert operator_body(doc, ["hh1"])["price_gbp_per_mwh"] == 90


def test_each_ven_gets_a_conforming_notification_naming_only_itself() -> None:
    messages = per_ven_messages("EVENT", "CREATE", event_json(EVENT, ["a", "b"]), ["a", 'b"quoted'])
    decoded = [json.loads(m) for m in messages]
    assert [d["object"]["targets"] for d in decoded] == [["a"], ['b"quoted']]
    assert [d["targets"] for d in decoded] == [["a"], ['b"quoted']]
    assert all(openapi().schema_errors("notification", d) == [] for d in decoded)


def test_report_values_follow_successive_intervals() -> None:
    doc = {
        "resources": [
            {
                "resourceName": "meter",
                "intervalPeriod": {"start": "2026-11-25T17:00:00Z", "duration": "PT30M"},
                "intervals": [
                    {"id": 0, "payloads": [{"type": "USAGE", "values": [1]}]},
                    {
                        "id": 2,
                        "payloads": [{"type": "USAGE", "values": [3.5]}, {"type": "NOTE", "values": ["x"]}],
                    },
                    {
                        "id": 9,
                        "intervalPeriod": {"start": "2026-11-25T20:00:00Z"},
                        "payloads": [{"type": "USAGE", "values": [4]}],
                    },
                ],
            }
        ]
    }
    start = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    assert report_values(doc) == [
        ("meter/USAGE", start, 1.0),
        ("meter/USAGE", start + timedelta(hours=1), 3.5),
        ("meter/USAGE", start + timedelta(hours=3), 4.0),
    ]


def test_nullable_becomes_a_null_alternative() -> None:
    assert json_schema({"type": "string", "nullable": True, "enum": ["A"]}) == {
        "type": ["string", "null"],
        "enum": ["A", None],
    }
    assert json_schema({"$ref": "#/components/schemas/x", "nullable": True}) == {
        "anyOf": [{"$ref": "#/definitions/x"}, {"type": "null"}]
    }


def test_the_document_rejects_what_it_should() -> None:
    spec = openapi()
    assert spec.request_errors("POST", "/events", {"programID": "p"}) == []
    assert spec.request_errors("POST", "/events", {"eventName": "no program"})
    assert spec.request_errors("POST", "/events", {"programID": "bad id!"})  # objectID pattern
    assert spec.response_errors("GET", "/events", 418, None)  # undocumented status
    assert spec.operations[("POST", "/events")].scopes == ("write_events",)
    assert spec.operations[("POST", "/auth/token")].scopes == ()


async def test_tokens_carry_role_and_scopes_and_expire_on_the_clock() -> None:
    clock = ManualClock(NOW)
    issuer = TokenIssuer(b"k" * 32, clock, lifetime_s=60)
    client = Oadr3Client(client_id="ven-1", secret_sha256=hash_secret("s"), role="ven")
    token = str(issuer.issue(client, "s", "read_targets")["access_token"])
    who = issuer.verify(token)
    assert (who.client_id, who.role, who.scopes) == ("ven-1", "ven", frozenset({"read_targets"}))
    with pytest.raises(AuthError, match="may not"):
        issuer.issue(client, "s", "write_events")
    with pytest.raises(AuthError):
        issuer.issue(client, "wrong", None)
    with pytest.raises(AuthError):
        TokenIssuer(b"other-key" * 4, clock).verify(token)
    body, _, signature = token.partition(".")
    with pytest.raises(AuthError):
        issuer.verify(body[:-2] + "xx." + signature)  # tampered claims
    await clock.advance(61)
    with pytest.raises(AuthError, match="expired"):
        issuer.verify(token)
