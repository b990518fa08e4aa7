"""Home Assistant discovery (pure): the configs the agent publishes pass HA's discovery rules
(tests/ven/ha_schema.py), and the state the entities read says the right thing in the right units.
The bridge on a real broker, with a real VEN and VTN: tests/portal/test_ha_bridge.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.domain import FlexEvent, Stage
from homeflex.ven.ha_discovery import (
    ENTITIES,
    HaState,
    availability_topic,
    discovery_configs,
    next_event,
    payments_of,
    planned_import,
    skip_topic,
    state_document,
    state_message,
    state_topic,
)
from homeflex.ven.skips import CUSTOMER_OVERRIDE, parse_skips, with_skips
from tests.ven.ha_schema import problems

NOW = datetime(2026, 12, 2, 15, 10, tzinfo=UTC)


def event(eid: str, start_h: float, *, cancelled: bool = False, trial: bool = False) -> FlexEvent:
    return FlexEvent(
        event_id=eid,
        modification_number=0,
        start=NOW + timedelta(hours=start_h),
        duration=timedelta(minutes=30),
        reduction_w=2000.0,
        price_gbp_per_mwh=1800.0,
        cancelled=cancelled,
        trial=trial,
    )


def configs(hh: str = "hh001", prefix: str = "homeassistant") -> dict[str, dict[str, object]]:
    out = {}
    for topic, payload, retain in discovery_configs(hh, prefix):
        assert retain, topic  # HA reads them whenever it starts
        out[topic] = json.loads(payload)
    return out


def test_every_config_passes_home_assistants_discovery_rules() -> None:
    for topic, payload, _ in discovery_configs("hh001"):
        assert problems(topic, payload) == []
    found = configs()
    assert len(found) == len(ENTITIES)
    assert len({c["unique_id"] for c in found.values()}) == len(found)
    assert all(t.startswith("homeassistant/") and "/homeflex_hh001/" in t for t in found)
    assert configs("hh001", "ha-test").keys() != found.keys()  # the prefix is a setting


def test_the_rules_would_catch_what_ha_refuses() -> None:
    """The checker itself can fail: each of these is something HA refuses or misreads."""
    power, money = {"device_class": "power"}, {"device_class": "monetary"}
    bad = {
        "sensor/x/y": {"name": "n", "value_template": "{{ 1 }}"},  # no state_topic
        "button/x/b": {"state_topic": "a/b"},  # a button needs a command topic
        "sensor/x/p": {"state_topic": "a", **power, "unit_of_measurement": "kWh"},
        "sensor/x/m": {"state_topic": "a", **money, "unit_of_measurement": "£"},
        "sensor/x/t": {"state_topic": "a/+", "device_class": "timestamp"},
        "sensor/x/d": {"state_topic": "a", "device": {"name": "no ids"}, "unique_id": "u"},
        "sensor/x/e": {"state_topic": "a", "device_class": "enum"},
        "sensor/x/y/state": {"state_topic": "a"},
    }
    for where, body in bad.items():
        topic = f"homeassistant/{where}" + ("" if where.endswith("state") else "/config")
        assert problems(topic, json.dumps(body).encode()), topic


def test_units_and_device_classes_are_home_assistants() -> None:
    found = {c["unique_id"]: c for c in configs().values()}
    u = "homeflex_hh001_"
    assert found[u + "next_event_request"]["device_class"] == "power"
    assert found[u + "next_event_request"]["unit_of_measurement"] == "W"
    assert found[u + "planned_import"]["unit_of_measurement"] == "kWh"
    for money in ("next_event_payment", "payments_month"):
        assert (found[u + money]["device_class"], found[u + money]["unit_of_measurement"]) == (
            "monetary",
            "GBP",
        )
    assert found[u + "next_event_start"]["device_class"] == "timestamp"
    button = found[u + "skip_next_event"]
    assert button["command_topic"] == skip_topic("hh001") and "state_topic" not in button
    agent = found[u + "agent"]  # shows "off" (not unavailable) when the agent's last will arrives
    assert agent["state_topic"] == availability_topic("hh001") and "availability_topic" not in agent
    others = [c for k, c in found.items() if k != u + "agent"]
    assert all(c["availability_topic"] == availability_topic("hh001") for c in others)
    assert {c["device"]["identifiers"][0] for c in found.values()} == {"homeflex_hh001"}  # type: ignore[index]


def test_the_next_event_is_the_earliest_not_started_and_not_cancelled() -> None:
    events = {
        e.event_id: e
        for e in (event("past", -1), event("off", 1, cancelled=True), event("b", 3), event("a", 2))
    }
    n = next_event(events, {"a": (True, "plan delivers", 1.5)}, {}, NOW)
    assert n is not None and n.event.event_id == "a" and n.opt_answer == "opted_in"
    # 1.5 kW for half an hour at £1800/MWh
    assert n.expected_payment_gbp == pytest.approx(1.35)
    assert next_event(events, {}, {}, NOW + timedelta(hours=4)) is None
    skipped = next_event(events, {"a": (False, CUSTOMER_OVERRIDE, 0.0)}, {"a": CUSTOMER_OVERRIDE}, NOW)
    assert skipped is not None and skipped.opt_answer == "skipped" and skipped.expected_payment_gbp == 0
    unanswered = next_event(events, {}, {}, NOW)
    assert unanswered is not None and unanswered.opt_answer == "no_event"
    trial = next_event({"t": event("t", 1, trial=True)}, {"t": (True, "trial", 2.0)}, {}, NOW)
    assert trial is not None and trial.expected_payment_gbp == 0.0  # a trial pays nothing


def test_the_state_document_in_the_entities_units() -> None:
    e = event("a", 2)
    n = next_event({"a": e}, {"a": (True, "plan delivers 2.00 of 2.00 kW", 2.0)}, {}, NOW)
    start = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
    plan = planned_import(start, 0.5, [9.0, 1.0, 2.0, -1.0, 0.5, 3.0, 3.0, 3.0, 3.0, 3.0], NOW, hours=2.0)
    assert [kw for _, kw in plan] == [1.0, 2.0, -1.0, 0.5]  # from the step holding NOW, four steps
    doc = state_document(
        HaState(
            household_id="hh001", stage=Stage.FLEX, now=NOW, next=n, plan=plan, payments=("2026-12", 3.456)
        )
    )
    assert doc["stage"] == "flex"
    assert doc["next_event_start"] == "2026-12-02T17:10:00Z"
    assert doc["next_event_request_w"] == 2000.0
    assert doc["next_event_payment_gbp"] == pytest.approx(1.8)
    assert doc["opt_answer"] == "opted_in"
    assert doc["planned_import_kwh"] == pytest.approx(1.75)  # export does not count against import
    assert doc["payments_month_gbp"] == 3.46 and doc["month"] == "2026-12"
    nothing = state_document(
        HaState(household_id="hh001", stage=Stage.MANUAL, now=NOW, next=None, payments=("2026-11", 9.0))
    )
    assert nothing["next_event_start"] is None and nothing["opt_answer"] == "no_event"
    assert nothing["planned_import_kwh"] is None  # no plan in stage 1: unknown, not zero
    assert nothing["payments_month_gbp"] == 0.0  # last month's total is not this month's
    topic, payload, retain = state_message(
        HaState(household_id="hh001", stage=Stage.AUTOMATIC, now=NOW, next=None)
    )
    assert topic == state_topic("hh001") and retain and json.loads(payload)["stage"] == "automatic"


def test_a_skip_from_home_assistant_joins_the_portals_skips_message() -> None:
    portal = b'{"skips":[{"event_id":"e1","reason":"customer override","at":"2026-12-02T10:00:00Z"}]}'
    mine = {"event_id": "e2", "reason": CUSTOMER_OVERRIDE, "at": "2026-12-02T11:00:00Z"}
    joined = with_skips(portal, [mine])
    assert joined is not None
    assert parse_skips(joined) == {"e1": CUSTOMER_OVERRIDE, "e2": CUSTOMER_OVERRIDE}
    assert json.loads(joined)["skips"][0] == json.loads(portal)["skips"][0]  # the portal's kept as sent
    assert with_skips(joined, [mine]) is None  # already there: nothing to send (a replay)
    assert with_skips(b"junk", [mine]) == json.dumps({"skips": [mine]}, separators=(",", ":")).encode()
    assert parse_skips(with_skips(b"", [mine]) or b"") == {"e2": CUSTOMER_OVERRIDE}


@pytest.mark.parametrize(
    "payload", [b"", b"{}", b"junk", b'{"month": "2026-12"}', b'{"month": "12", "total_gbp": 1}',
                b'{"month": "2026-12", "total_gbp": "NaN"}', b'{"month": "2026-12", "total_gbp": [1]}']
)  # fmt: skip
def test_a_bad_payments_message_is_refused(payload: bytes) -> None:
    with pytest.raises(ValueError, match="payments"):
        payments_of(payload)
    assert payments_of(b'{"month": "2026-12", "total_gbp": "1.23"}') == ("2026-12", 1.23)
