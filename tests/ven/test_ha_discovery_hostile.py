"""What reaches the agent's Home Assistant bridge from MQTT, written by someone hostile or broken: the
retained skips message (the household's own logins and its Home Assistant may write it, as the portal
does) and the payments message. JSON nested past Python's recursion limit, event ids that are not
strings, absurd totals: each is refused with the ValueError the callers catch, never another exception
(which the MQTT session logs as a traceback and after which the bridge would not add back its skips)."""

from __future__ import annotations

import json

import pytest

from homeflex.ven.ha_discovery import payments_of
from homeflex.ven.skips import CUSTOMER_OVERRIDE, parse_skips, with_skips

DEEP = 100_000
NESTED = (b"[" * DEEP + b"]" * DEEP, b'{"skips":' * DEEP + b"[]" + b"}" * DEEP)
OURS = {"event_id": "ev-ha", "reason": CUSTOMER_OVERRIDE, "at": "2026-12-07T08:00:00Z"}


@pytest.mark.parametrize("payload", NESTED)
def test_deeply_nested_skips_are_unreadable_not_a_crash(payload: bytes) -> None:
    with pytest.raises(ValueError, match="skips are not JSON"):
        parse_skips(payload)
    # the bridge adds its own skip to what it reads as no skips, as the VEN reads it
    added = with_skips(payload, [OURS])
    assert added is not None and parse_skips(added) == {"ev-ha": CUSTOMER_OVERRIDE}


@pytest.mark.parametrize("event_id", [[1], {"a": 1}, None, 7])
def test_a_skip_whose_event_id_is_not_a_string_is_dropped_when_ours_are_added(event_id: object) -> None:
    portal = json.dumps({"skips": [{"event_id": "ev-portal", "reason": "away"}, {"event_id": event_id}]})
    with pytest.raises(ValueError, match="without an event_id"):
        parse_skips(portal.encode())  # the VEN refuses the whole message...
    added = with_skips(portal.encode(), [OURS])  # ...so the bridge's rewrite keeps what it can read
    assert added is not None
    assert parse_skips(added) == {"ev-portal": "away", "ev-ha": CUSTOMER_OVERRIDE}


@pytest.mark.parametrize(
    "payload",
    [
        *NESTED,
        b'{"month": "2026-12", "total_gbp": NaN}',
        b'{"month": "2026-12", "total_gbp": "Infinity"}',
        b'{"month": "2026-12", "total_gbp": 1e999}',
        b'{"month": "2026-12", "total_gbp": {"a": 1}}',
        b'{"month": ["2026-12"], "total_gbp": "1.00"}',
        b'{"month": "2026-12"}',
        b'"2026-12"',
        '{"month": "\u00e9\u00e9\u00e9\u00e9-12", "total_gbp": 1}'.encode()[:-1],
        b"\xff\xfe",
    ],
)
def test_hostile_payments_are_refused_with_a_value_error(payload: bytes) -> None:
    with pytest.raises(ValueError, match="unreadable payments message"):
        payments_of(payload)


def test_a_readable_payment_is_taken() -> None:
    assert payments_of(b'{"month": "2026-12", "total_gbp": "1.63", "events": 1}') == ("2026-12", 1.63)
