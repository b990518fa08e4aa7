"""parse_reading / parse_history: the meter payload boundary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homeflex.metering.validate import (
    MAX_HISTORY_ITEMS,
    MAX_PAYLOAD_BYTES,
    REASONS,
    ReadingRejected,
    parse_history,
    parse_reading,
)

RECEIVED = datetime(2026, 11, 24, 17, 31, tzinfo=UTC)
GOOD: dict[str, Any] = {
    "ts": "2026-11-24T17:30:00Z",
    "import_wh": 1234.5,
    "export_wh": 10.0,
    "power_w": 850.0,
}


DROP = object()  # marks a field to leave out


def payload(**changes: Any) -> bytes:
    obj = {**GOOD, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not DROP}).encode()


def test_good_reading() -> None:
    r = parse_reading("hh1", payload(), RECEIVED)
    assert r.household_id == "hh1"
    assert r.ts == datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
    assert r.ts.tzinfo is UTC
    assert (r.import_wh, r.export_wh, r.power_w) == (1234.5, 10.0, 850.0)
    assert r.received_at == RECEIVED


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"ts": "2026-11-24T18:30:00+01:00"}, lambda r: r.ts == datetime(2026, 11, 24, 17, 30, tzinfo=UTC)),
        ({"import_wh": 12, "power_w": -3}, lambda r: r.import_wh == 12.0 and isinstance(r.import_wh, float)),
        ({"power_w": -100_000}, lambda r: r.power_w == -100_000.0),  # exporting at the cap is allowed
        ({"import_wh": 0, "export_wh": 0}, lambda r: r.import_wh == 0.0),
        ({"extra": "ignored"}, lambda r: r.power_w == 850.0),
        ({"ts": "2026-11-24T17:36:00Z"}, lambda r: r.ts.minute == 36),  # exactly 5 min skew is tolerated
    ],
)
def test_accepted_variants(changes: dict[str, Any], check: Any) -> None:
    assert check(parse_reading("hh1", payload(**changes), RECEIVED))


REJECTIONS = [
    (b"not json", "malformed"),
    (b"\xff\xfe\x00", "malformed"),
    (b"", "malformed"),
    (b"[1, 2]", "malformed"),
    (b'"a string"', "malformed"),
    (b"null", "malformed"),
    (b"[" * 200_000 + b"]" * 200_000, "malformed"),  # deep nesting must not crash the parser
    (b" " * (MAX_PAYLOAD_BYTES + 1), "too_large"),
    (payload(ts=DROP), "missing_field"),
    (payload(import_wh=DROP), "missing_field"),
    (payload(export_wh=DROP), "missing_field"),
    (payload(power_w=DROP), "missing_field"),
    (payload(ts="2026-11-24T17:30:00"), "naive_timestamp"),
    (payload(ts="2026-11-24 17:30"), "naive_timestamp"),
    (payload(ts="yesterday"), "bad_timestamp"),
    (payload(ts="2026-13-24T17:30:00Z"), "bad_timestamp"),
    (payload(ts="0001-01-01T00:00:00+01:00"), "bad_timestamp"),
    (payload(ts=1764005400), "wrong_type"),
    (payload(ts=None), "wrong_type"),
    (payload(import_wh=True), "wrong_type"),
    (payload(export_wh=False), "wrong_type"),
    (payload(power_w=True), "wrong_type"),
    (payload(import_wh="1234.5"), "wrong_type"),
    (payload(power_w=None), "wrong_type"),
    (payload(power_w=[1]), "wrong_type"),
    (payload(import_wh=-0.1), "impossible_value"),
    (payload(export_wh=-1), "impossible_value"),
    (payload(power_w=100_000.1), "impossible_value"),
    (payload(power_w=-100_001), "impossible_value"),
    (payload(import_wh=float("nan")), "impossible_value"),  # json.dumps writes NaN
    (payload(export_wh=float("inf")), "impossible_value"),
    (payload(power_w=float("-inf")), "impossible_value"),
    (b'{"ts": "2026-11-24T17:30:00Z", "import_wh": 1e999, "export_wh": 0, "power_w": 0}', "impossible_value"),
    (payload(import_wh=10**400), "impossible_value"),
    (payload(ts="2026-11-24T17:36:01Z"), "future_timestamp"),
    (payload(ts="2026-11-24T18:00:00+00:00"), "future_timestamp"),
]


@pytest.mark.parametrize(("raw", "reason"), REJECTIONS)
def test_rejections(raw: bytes, reason: str) -> None:
    with pytest.raises(ReadingRejected) as info:
        parse_reading("hh1", raw, RECEIVED)
    assert info.value.reason == reason
    assert info.value.reason in REASONS
    assert info.value.message
    assert isinstance(info.value, ValueError)


def test_every_reason_is_exercised() -> None:
    # Keeps the table above honest when a reason is added.
    assert {reason for _, reason in REJECTIONS} == set(REASONS)


def test_missing_field_message_names_all_missing() -> None:
    with pytest.raises(ReadingRejected, match="import_wh, export_wh"):
        parse_reading("hh1", b'{"ts": "2026-11-24T17:30:00Z", "power_w": 1}', RECEIVED)


def test_naive_received_at_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="received_at") as info:
        parse_reading("hh1", payload(), datetime(2026, 11, 24, 17, 31))
    assert not isinstance(info.value, ReadingRejected)


def test_history_keeps_good_items_and_reports_bad_ones_by_index() -> None:
    items = [
        GOOD,
        {**GOOD, "ts": "2026-11-24T17:00:00"},
        "nope",
        {**GOOD, "ts": "2026-11-24T17:00:00Z", "import_wh": 1200.0},
        {**GOOD, "power_w": True},
    ]
    good, bad = parse_history("hh1", json.dumps(items).encode(), RECEIVED)
    assert [r.import_wh for r in good] == [1234.5, 1200.0]  # payload order, not sorted
    assert [(i, e.reason) for i, e in bad] == [(1, "naive_timestamp"), (2, "malformed"), (4, "wrong_type")]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (json.dumps(GOOD).encode(), "malformed"),
        (b"{", "malformed"),
        (b"42", "malformed"),
        (json.dumps([GOOD] * (MAX_HISTORY_ITEMS + 1)).encode(), "too_large"),
    ],
)
def test_history_rejected_whole(raw: bytes, reason: str) -> None:
    with pytest.raises(ReadingRejected) as info:
        parse_history("hh1", raw, RECEIVED)
    assert info.value.reason == reason


def test_history_at_the_cap_and_empty() -> None:
    good, bad = parse_history("hh1", json.dumps([GOOD] * MAX_HISTORY_ITEMS).encode(), RECEIVED)
    assert (len(good), bad) == (MAX_HISTORY_ITEMS, [])
    assert parse_history("hh1", b"[]", RECEIVED) == ([], [])


def test_history_future_items_judged_against_received_at() -> None:
    later = (RECEIVED + timedelta(minutes=10)).isoformat()
    good, bad = parse_history("hh1", json.dumps([GOOD, {**GOOD, "ts": later}]).encode(), RECEIVED)
    assert len(good) == 1
    assert [(i, e.reason) for i, e in bad] == [(1, "future_timestamp")]
