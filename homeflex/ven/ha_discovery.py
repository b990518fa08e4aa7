"""Home Assistant MQTT discovery for the household (pure): what the agent publishes so its own entities
appear in the household's Home Assistant without configuration (shared/domain/protocols.md §7).

One config per entity, retained, on ``<prefix>/<component>/homeflex_<household>/<object_id>/config``
(per-component discovery: every HA since 2021 reads it; device discovery needs 2024.11). All entities
share one device (the household agent), one availability topic (the agent's connection, "offline" as
its last will) and one retained JSON state topic that each entity reads with a value template, so a
change is one message. The "skip next event" button publishes on the household's command topic; the
agent turns a press into the portal's skip (homeflex.ven.homeassistant).

Units are HA's: power in W, energy in kWh, money in GBP, the event start a timestamp. A value that is not
known (no next event, no plan yet) is JSON null, which HA's template renders "None" and its MQTT sensor
shows as unknown.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeflex import __version__
from homeflex.core import topics
from homeflex.core.domain import FlexEvent, Stage
from homeflex.core.timeutil import LONDON, iso

DEFAULT_PREFIX = topics.HA_PREFIX
BIRTH_TOPIC = topics.HA_BIRTH
ONLINE, OFFLINE = "online", "offline"
PRESS = "PRESS"  # HA's default payload_press, sent as-is
PLAN_HOURS = 4.0  # "planned import for the next hours"
STAGES = {Stage.MANUAL: "manual", Stage.AUTOMATIC: "automatic", Stage.FLEX: "flex"}
OPT_ANSWERS = ("opted_in", "opted_out", "skipped", "no_event")

Message = tuple[str, bytes, bool]  # (topic, payload, retain)


node_id = topics.ha_node_id


def entity_id(component: str, household_id: str, object_id: str) -> str:
    """The entity id HA gives the entity: its object id, which HA slugs (lower case, `_` for the rest)."""
    slug = re.sub(r"[^a-z0-9_]", "_", node_id(household_id).lower())
    return f"{component}.{slug}_{object_id}"


def ha_topic(household_id: str, leaf: str) -> str:
    """The household's own HA topics, under its subtree (which only its logins may use)."""
    return f"{topics.PREFIX}/{household_id}/ha/{leaf}"


def availability_topic(household_id: str) -> str:
    return ha_topic(household_id, "availability")


def state_topic(household_id: str) -> str:
    return ha_topic(household_id, "state")


def skip_topic(household_id: str) -> str:
    """The button's command topic: HA publishes PRESS here."""
    return ha_topic(household_id, "skip")


def config_topic(prefix: str, component: str, household_id: str, object_id: str) -> str:
    return f"{prefix}/{component}/{node_id(household_id)}/{object_id}/config"


@dataclass(frozen=True, kw_only=True)
class Entity:
    component: str  # sensor | binary_sensor | button
    object_id: str
    name: str
    fields: Mapping[str, Any]  # component-specific discovery keys
    available_with_agent: bool = True  # follows the agent's availability topic


def _sensor(object_id: str, name: str, key: str, **fields: Any) -> Entity:
    return Entity(
        component="sensor",
        object_id=object_id,
        name=name,
        fields={"value_template": f"{{{{ value_json.{key} }}}}", **fields},
    )


ENTITIES: tuple[Entity, ...] = (
    _sensor("stage", "Stage", "stage", device_class="enum", options=list(STAGES.values()), icon="mdi:stairs"),
    _sensor(
        "next_event_start",
        "Next event start",
        "next_event_start",
        device_class="timestamp",
        json_attributes_template="{{ value_json.next_event | tojson }}",
    ),
    _sensor(
        "next_event_request",
        "Next event request",
        "next_event_request_w",
        device_class="power",
        unit_of_measurement="W",
    ),
    _sensor(
        "next_event_payment",
        "Next event expected payment",
        "next_event_payment_gbp",
        device_class="monetary",
        unit_of_measurement="GBP",
    ),
    _sensor(
        "opt_answer",
        "Opt answer",
        "opt_answer",
        device_class="enum",
        options=list(OPT_ANSWERS),
        json_attributes_template='{{ {"reason": value_json.opt_reason} | tojson }}',
    ),
    _sensor(
        "planned_import",
        f"Planned import next {PLAN_HOURS:g} h",
        "planned_import_kwh",
        device_class="energy",
        unit_of_measurement="kWh",
        json_attributes_template='{{ {"steps": value_json.planned_import} | tojson }}',
    ),
    _sensor(
        "payments_month",
        "Payments this month",
        "payments_month_gbp",
        device_class="monetary",
        unit_of_measurement="GBP",
        json_attributes_template='{{ {"month": value_json.month} | tojson }}',
    ),
    Entity(
        component="button",
        object_id="skip_next_event",
        name="Skip next event",
        fields={"payload_press": PRESS, "icon": "mdi:debug-step-over"},
    ),
    Entity(
        component="binary_sensor",
        object_id="agent",
        name="Agent",
        available_with_agent=False,
        fields={
            "device_class": "connectivity",
            "payload_on": ONLINE,
            "payload_off": OFFLINE,
            "entity_category": "diagnostic",
        },
    ),
)


def discovery_configs(household_id: str, prefix: str = DEFAULT_PREFIX) -> list[Message]:
    """Every entity's discovery config, retained (HA reads them whenever it starts)."""
    device = {
        "identifiers": [node_id(household_id)],
        "name": f"homeflex {household_id}",
        "manufacturer": "homeflex",
        "model": "household agent",
        "sw_version": __version__,
    }
    out: list[Message] = []
    for e in ENTITIES:
        body: dict[str, Any] = {
            "name": e.name,
            "unique_id": f"{node_id(household_id)}_{e.object_id}",
            "object_id": entity_id(e.component, household_id, e.object_id).split(".", 1)[1],
            "device": device,
            "origin": {"name": "homeflex", "sw_version": __version__},
            "qos": 1,
            **e.fields,
        }
        if e.component == "button":
            body["command_topic"] = skip_topic(household_id)
        elif e.object_id == "agent":
            body["state_topic"] = availability_topic(household_id)
        else:
            body["state_topic"] = state_topic(household_id)
            if "json_attributes_template" in e.fields:
                body["json_attributes_topic"] = state_topic(household_id)
        if e.available_with_agent:
            body["availability_topic"] = availability_topic(household_id)
            body["payload_available"] = ONLINE
            body["payload_not_available"] = OFFLINE
        topic = config_topic(prefix, e.component, household_id, e.object_id)
        out.append((topic, json.dumps(body, separators=(",", ":"), sort_keys=True).encode(), True))
    return out


@dataclass(frozen=True, kw_only=True)
class NextEvent:
    """The household's next event (not started, not cancelled) and its answer to it."""

    event: FlexEvent
    opt_in: bool | None  # None: not answered yet
    reason: str
    skipped: bool
    deliverable_kw: float  # what the plan delivers (0 when opted out)

    @property
    def opt_answer(self) -> str:
        if self.skipped:
            return "skipped"
        if self.opt_in is None:
            return "no_event"
        return "opted_in" if self.opt_in else "opted_out"

    @property
    def expected_payment_gbp(self) -> float:
        """Delivered kWh at the event's price (£/MWh), as settlement pays it; nothing for a trial or
        an event the household sits out."""
        if not self.opt_in or self.skipped or self.event.trial:
            return 0.0
        hours = self.event.duration.total_seconds() / 3600
        return round(self.deliverable_kw * hours * self.event.price_gbp_per_mwh / 1000, 2)


def next_event(
    events: Mapping[str, FlexEvent],
    answers: Mapping[str, tuple[bool, str, float]],
    skipped: Mapping[str, str],
    now: datetime,
) -> NextEvent | None:
    """The earliest event that has not started and is not cancelled, as the portal's skip would take
    it; `answers`: event id -> (opted in, reason, deliverable kW)."""
    coming = [e for e in events.values() if not e.cancelled and e.start > now]
    if not coming:
        return None
    event = min(coming, key=lambda e: (e.start, e.event_id))
    opt_in, reason, kw = answers.get(event.event_id, (None, "", 0.0))
    skip = skipped.get(event.event_id)
    return NextEvent(
        event=event,
        opt_in=opt_in,
        reason=skip if skip is not None else reason,
        skipped=skip is not None,
        deliverable_kw=kw if opt_in else 0.0,
    )


def planned_import(
    start: datetime, step_h: float, import_kw: Sequence[float], now: datetime, hours: float = PLAN_HOURS
) -> list[tuple[datetime, float]]:
    """(step start, planned grid import kW) for the plan's steps from the one holding `now`, `hours`
    ahead."""
    step = timedelta(hours=step_h)
    first = max(0, int((now - start) / step))
    count = round(hours / step_h)
    return [(start + k * step, float(import_kw[k])) for k in range(first, min(first + count, len(import_kw)))]


@dataclass(frozen=True, kw_only=True)
class HaState:
    household_id: str
    stage: Stage
    now: datetime
    next: NextEvent | None
    plan_step_h: float = 0.5
    plan: Sequence[tuple[datetime, float]] = ()  # (step start, import kW); empty: no plan yet
    payments: tuple[str, float] | None = None  # (UK month YYYY-MM, total GBP) from the platform


def state_document(state: HaState) -> dict[str, Any]:
    """The JSON the entities' value templates read."""
    n = state.next
    month = state.now.astimezone(LONDON).strftime("%Y-%m")
    paid = state.payments[1] if state.payments is not None and state.payments[0] == month else 0.0
    kwh = sum(max(kw, 0.0) for _, kw in state.plan) * state.plan_step_h
    return {
        "stage": STAGES[state.stage],
        "next_event_start": iso(n.event.start) if n else None,
        "next_event_request_w": round(n.event.reduction_w, 1) if n else None,
        "next_event_payment_gbp": n.expected_payment_gbp if n else None,
        "next_event": (
            {
                "event_id": n.event.event_id,
                "end": iso(n.event.end),
                "price_gbp_per_mwh": n.event.price_gbp_per_mwh,
                "trial": n.event.trial,
            }
            if n
            else None
        ),
        "opt_answer": n.opt_answer if n else "no_event",
        "opt_reason": n.reason if n else "",
        "planned_import_kwh": round(kwh, 3) if state.plan else None,
        "planned_import": [{"start": iso(t), "kw": round(kw, 3)} for t, kw in state.plan],
        "payments_month_gbp": round(paid, 2),
        "month": month,
    }


def state_message(state: HaState) -> Message:
    body = json.dumps(state_document(state), separators=(",", ":"), sort_keys=True).encode()
    return state_topic(state.household_id), body, True


def payments_of(payload: bytes) -> tuple[str, float]:
    """(month, total GBP) from the platform's retained `{"month": "2026-12", "total_gbp": "1.23"}` on
    the household's payments topic; ValueError for anything else."""
    try:
        body = json.loads(payload)
        month, total = str(body["month"]), float(body["total_gbp"])
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise ValueError(f"unreadable payments message: {err}") from err
    if len(month) != 7 or month[4] != "-" or not math.isfinite(total):
        raise ValueError(f"unreadable payments message: month {month!r}, total {total}")
    return month, total
