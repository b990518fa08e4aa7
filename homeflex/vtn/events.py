"""Pure event logic for the VTN: validate operator requests, derive status, build OpenADR payloads."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from openleadr import objects

from homeflex.core.timeutil import FIRST_YEAR, LAST_YEAR, parse_utc
from homeflex.settlement.limits import (
    MAX_DURATION,
    MAX_PRICE_GBP_PER_MWH,
    MAX_REDUCTION_KW,
    MIN_DURATION,
)
from homeflex.storage.records import EventRecord

MARKET_CONTEXT = "oadr://homeflex/flex"
TRIAL_PROGRAMME = "trial"
TRIAL_MARKET_CONTEXT = "oadr://homeflex/trial"  # households know a trial by it: it pays nothing


class BadRequest(ValueError):
    """The operator's request is invalid; the message says why."""


@dataclass(frozen=True, kw_only=True)
class EventRequest:
    targets: tuple[str, ...] | None
    group: str | None
    start: datetime
    duration: timedelta
    reduction_kw: float
    price_gbp_per_mwh: float
    programme: str = "default"


def _number(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"'{key}' must be a number")
    if not math.isfinite(value):
        raise BadRequest(f"'{key}' must be finite")
    return float(value)


def _time(body: dict[str, Any], key: str) -> datetime:
    value = body.get(key)
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be an ISO 8601 time with a UTC offset, e.g. 2026-11-24T17:30:00Z")
    try:
        parsed = parse_utc(value)
    except (ValueError, OverflowError) as err:
        raise BadRequest(f"'{key}': {err}") from err
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise BadRequest(f"'{key}' must fall in the years {FIRST_YEAR}..{LAST_YEAR}, not {parsed.year}")
    return parsed


def _targets(body: dict[str, Any]) -> tuple[tuple[str, ...] | None, str | None]:
    targets, group = body.get("targets"), body.get("group")
    if (targets is None) == (group is None):
        raise BadRequest("give exactly one of 'targets' (a list of household ids) or 'group'")
    if targets is not None:
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
            raise BadRequest("'targets' must be a non-empty list of household ids")
        if len(set(targets)) != len(targets):
            raise BadRequest("'targets' lists a household twice")
        return tuple(targets), None
    if not isinstance(group, str) or not group:
        raise BadRequest("'group' must be a non-empty string")
    return None, group


def _duration(body: dict[str, Any], start: datetime) -> timedelta:
    if ("end" in body) == ("duration_minutes" in body):
        raise BadRequest("give exactly one of 'end' or 'duration_minutes'")
    if "end" in body:
        end = _time(body, "end")
        if end <= start:
            raise BadRequest("the event ends before it starts: 'end' must be after 'start'")
        duration = end - start
    else:
        minutes = _number(body, "duration_minutes")
        if minutes < MIN_DURATION.total_seconds() / 60:
            raise BadRequest(f"'duration_minutes' must be at least {MIN_DURATION.total_seconds() / 60:g}")
        if minutes > MAX_DURATION.total_seconds() / 60:  # checked before timedelta, which overflows
            raise BadRequest(f"an event lasts at most {MAX_DURATION}")
        duration = timedelta(minutes=minutes)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise BadRequest(f"an event lasts at least {MIN_DURATION} and at most {MAX_DURATION}")
    return duration


def _price_and_programme(body: dict[str, Any]) -> tuple[float, str]:
    trial = body.get("trial", False)
    if not isinstance(trial, bool):
        raise BadRequest("'trial' must be true or false")
    if trial:
        if body.get("price_gbp_per_mwh", 0) != 0 or body.get("programme", TRIAL_PROGRAMME) != TRIAL_PROGRAMME:
            raise BadRequest("a trial event pays nothing: leave out 'price_gbp_per_mwh' and 'programme'")
        body = {**body, "price_gbp_per_mwh": 0.0, "programme": TRIAL_PROGRAMME}
    price = _number(body, "price_gbp_per_mwh")
    if not 0 <= price <= MAX_PRICE_GBP_PER_MWH:
        raise BadRequest(f"'price_gbp_per_mwh' must be between 0 and {MAX_PRICE_GBP_PER_MWH:g} (£/MWh)")
    return price, _programme(body)


def new_event(req: EventRequest, now: datetime) -> EventRecord:
    """A new scheduled event from a checked request (the operator API's and OpenADR 3.1's alike)."""
    return EventRecord(
        event_id=f"ev-{uuid.uuid4().hex[:12]}",
        modification_number=0,
        status="scheduled",
        start=req.start,
        duration=req.duration,
        reduction_kw=req.reduction_kw,
        price_gbp_per_mwh=req.price_gbp_per_mwh,
        created_at=now,
        programme_id=req.programme,
    )


def parse_event_request(body: Any, now: datetime) -> EventRequest:
    """Check an operator's event request; raises BadRequest with a clear message."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    unknown = set(body) - {
        "targets",
        "group",
        "start",
        "end",
        "duration_minutes",
        "reduction_kw",
        "price_gbp_per_mwh",
        "programme",
        "trial",
    }
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    targets, group = _targets(body)
    start = _time(body, "start")
    duration = _duration(body, start)
    if start + duration <= now:
        raise BadRequest("the event is already over")
    reduction_kw = _number(body, "reduction_kw")
    if reduction_kw <= 0:
        raise BadRequest("'reduction_kw' must be positive: the requested reduction per household in kW")
    if reduction_kw > MAX_REDUCTION_KW:
        raise BadRequest(f"'reduction_kw' above {MAX_REDUCTION_KW} kW per household is not possible")
    price, programme = _price_and_programme(body)
    return EventRequest(
        targets=targets,
        group=group,
        start=start,
        duration=duration,
        reduction_kw=reduction_kw,
        price_gbp_per_mwh=price,
        programme=programme,
    )


def _programme(body: dict[str, Any]) -> str:
    value = body.get("programme", "default")
    if not isinstance(value, str) or not value:
        raise BadRequest("'programme' must be a programme id")
    return value


def event_status(event: EventRecord, now: datetime) -> str:
    """OpenADR event status at `now`: far, active, completed or cancelled."""
    if event.status == "cancelled":
        return "cancelled"
    if now >= event.end:
        return "completed"
    return "active" if now >= event.start else "far"


def openadr_event(
    event: EventRecord, ven_id: str, now: datetime, resources: Sequence[str] = ()
) -> dict[str, Any]:
    """The oadrEvent for one VEN: a LOAD_DISPATCH delta (kW to shed) and the utilisation price.

    For an aggregator's VEN, `resources` are the households of its portfolio the event targets: each
    becomes an eiTarget resourceID, and the LOAD_DISPATCH payload is the request per resource (openleadr's
    templates drop an eiTarget inside an eiEventSignal, so one signal per resource would lose it)."""
    interval = objects.Interval(
        dtstart=event.start, duration=event.duration, signal_payload=event.reduction_kw
    )
    price = objects.Interval(
        dtstart=event.start, duration=event.duration, signal_payload=event.price_gbp_per_mwh
    )
    kw = objects.Measurement(
        name="powerReal",
        description="RealPower",
        unit="W",
        scale="k",
        power_attributes=objects.PowerAttributes(hertz=50, voltage=230, ac=True),
    )
    oadr = objects.Event(
        event_descriptor=objects.EventDescriptor(
            event_id=event.event_id,
            modification_number=event.modification_number,
            market_context=TRIAL_MARKET_CONTEXT if event.programme_id == TRIAL_PROGRAMME else MARKET_CONTEXT,
            event_status=event_status(event, now),
            created_date_time=event.created_at,
            modification_date_time=event.last_modified,
        ),
        active_period=objects.ActivePeriod(dtstart=event.start, duration=event.duration),
        event_signals=[
            objects.EventSignal(
                intervals=[interval],
                signal_name="LOAD_DISPATCH",
                signal_type="delta",
                signal_id=f"{event.event_id}-dispatch",
                measurement=kw,
            ),
            objects.EventSignal(
                intervals=[price],
                signal_name="ELECTRICITY_PRICE",
                signal_type="price",
                signal_id=f"{event.event_id}-price",
            ),
        ],
        targets=[objects.Target(ven_id=ven_id), *(objects.Target(resource_id=r) for r in resources)],
        response_required="always",
    )
    # objects.Event recomputes the status from wall time and would hide a cancellation.
    oadr.event_descriptor.event_status = event_status(event, now)
    return asdict(oadr)
