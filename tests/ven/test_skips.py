"""The household's own overrides (pure): the skips message the portal publishes and the VEN reads, and
the opt decision an override forces. The path through the portal, broker, VEN and VTN is tested in
tests/portal/test_skip_ven.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.domain import Stage
from homeflex.portal.skipnotice import skips_message
from homeflex.ven.decision import decide_opt
from homeflex.ven.skips import CUSTOMER_OVERRIDE, parse_skips
from tests.control.households import ALL, household
from tests.ven.test_decision import EVENT, NOW, assessment

T = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Skip:
    event_id: str
    reason: str
    at: datetime


def test_an_override_wins_over_a_plan_that_delivers() -> None:
    hh = replace(household(*ALL), stage=Stage.FLEX)
    plain = decide_opt(hh, EVENT, NOW, assessment(1.0))
    assert plain.opt_in
    skipped = decide_opt(hh, EVENT, NOW, assessment(1.0), override=CUSTOMER_OVERRIDE)
    assert not skipped.opt_in and skipped.reason == "customer override"
    # A cancellation still says so: the event is off for everyone, not just this household.
    cancelled = replace(EVENT, cancelled=True)
    assert decide_opt(hh, cancelled, NOW, None, override=CUSTOMER_OVERRIDE).reason == "event cancelled"


def test_the_portal_sends_the_skips_of_events_not_yet_ended_and_the_ven_reads_them() -> None:
    skips = [Skip("ev-b", CUSTOMER_OVERRIDE, T + timedelta(minutes=5)), Skip("ev-a", "away", T)]
    ends = {"ev-a": T + timedelta(hours=2), "ev-b": T + timedelta(hours=3), "ev-old": T}
    payload = skips_message([*skips, Skip("ev-old", CUSTOMER_OVERRIDE, T)], ends, T)
    assert parse_skips(payload) == {"ev-a": "away", "ev-b": CUSTOMER_OVERRIDE}
    # an event the portal no longer lists (cancelled) is left out too
    assert parse_skips(skips_message(skips, {"ev-a": ends["ev-a"]}, T)) == {"ev-a": "away"}
    assert parse_skips(b"") == {}  # the retained message cleared
    assert parse_skips(b'{"skips": [{"event_id": "e1"}]}') == {"e1": CUSTOMER_OVERRIDE}


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[]", b'{"skips": {}}', b'{"skips": [{"reason": "x"}]}', b'{"skips": ["e1"]}'],
)
def test_a_bad_skips_message_is_refused(payload: bytes) -> None:
    with pytest.raises(ValueError, match="skip"):
        parse_skips(payload)


def test_a_long_running_agent_forgets_events_a_week_after_they_ended() -> None:
    from homeflex.ven.agent import KEEP_ENDED, ended_before

    old = replace(EVENT, event_id="old", start=NOW - KEEP_ENDED - EVENT.duration - timedelta(minutes=1))
    recent = replace(EVENT, event_id="recent", start=NOW - KEEP_ENDED)
    events = {"old": old, "recent": recent, EVENT.event_id: EVENT}
    assert ended_before(events, NOW - KEEP_ENDED) == ["old"]
