"""Settle a simulated household's events in memory, with the live settlement code (no database).

The metered energy is the simulated meter's, per UTC half-hour: the observed (stage 1) days give the
baseline history, the managed run the event days. Each event's day is excluded from the baselines of
the others, as ``settler.other_events`` does for stored events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from homeflex.core.domain import FlexEvent
from homeflex.core.timeutil import PERIOD, local_date, period_start, periods
from homeflex.settlement.delivery import HouseholdSettlement
from homeflex.settlement.programme import Rules
from homeflex.settlement.settler import settle_from_energy
from homeflex.storage.records import EventRecord

PERIOD_H = PERIOD.total_seconds() / 3600


@dataclass(frozen=True, kw_only=True)
class EventSettled:
    """One household's settlement of one event (the evidence an analyst looks at)."""

    event_id: str
    opted_in: bool
    baseline_kw: float  # mean over the event window; NaN when the baseline could not be formed
    actual_kw: float
    instructed_kwh: float
    delivered_kwh: float
    payment_gbp: float
    status: str


@dataclass(frozen=True, kw_only=True)
class Settled:
    """One household's events under one variant, summed, with each event's settlement."""

    requested_kwh: float  # the instruction of every event it opted in to
    delivered_kwh: float  # capped, against the programme's baseline
    payment_gbp: float
    insufficient: int  # events that could not be settled for want of data (paid nothing)
    events: tuple[EventSettled, ...] = ()


def event_record(event: FlexEvent) -> EventRecord:
    return EventRecord(
        event_id=event.event_id,
        modification_number=event.modification_number,
        status="scheduled",
        start=event.start,
        duration=event.duration,
        reduction_kw=event.reduction_w / 1000,
        price_gbp_per_mwh=event.price_gbp_per_mwh,
        created_at=event.start,
    )


def settle_event(
    household_id: str,
    event: FlexEvent,
    opted_in: bool,
    energy_kwh: Mapping[datetime, float],
    excluded: frozenset[date],
    rules: Rules,
) -> HouseholdSettlement:
    return settle_from_energy(event_record(event), household_id, opted_in, energy_kwh, excluded, rules)


def settle_all(
    household_id: str,
    offered: Sequence[FlexEvent],
    opted_in: Mapping[str, bool],
    energy_kwh: Mapping[datetime, float],
    rules: Rules,
) -> Settled:
    """Every offered event; an event it opted out of is settled with no instruction (pays nothing)."""
    days = frozenset(local_date(e.start) for e in offered)
    results = [
        settle_event(household_id, e, opted_in.get(e.event_id, False), energy_kwh, days, rules)
        for e in offered
    ]
    return Settled(
        requested_kwh=sum(r.instructed_kwh for r in results),
        delivered_kwh=sum(r.delivered_kwh for r in results),
        payment_gbp=sum(r.payment_gbp for r in results),
        insufficient=sum(r.status != "settled" for r in results if r.instructed_kwh > 0),
        events=tuple(
            EventSettled(
                event_id=r.event_id,
                opted_in=opted_in.get(r.event_id, False),
                baseline_kw=r.baseline_kw,
                actual_kw=r.actual_kw,
                instructed_kwh=r.instructed_kwh,
                delivered_kwh=r.delivered_kwh,
                payment_gbp=r.payment_gbp,
                status=r.status,
            )
            for r in results
        ),
    )


def pre_event_periods(events: Sequence[FlexEvent], hours: float) -> list[datetime]:
    """UTC half-hours in the ``hours`` before each event's first half-hour (the adjustment window's place)."""
    out: list[datetime] = []
    for event in events:
        first = period_start(event.start)
        out += periods(first - timedelta(hours=hours), first)
    return out


def with_extra_load(
    energy: Mapping[datetime, float], when: Sequence[datetime], kw: float
) -> dict[datetime, float]:
    """The metered energy had the household run an extra ``kw`` in the half-hours ``when``."""
    out = dict(energy)
    for p in when:
        out[p] = out.get(p, float("nan")) + kw * PERIOD_H
    return out


def energy_kwh(half_hourly_kw: Mapping[datetime, float]) -> dict[datetime, float]:
    """Mean kW per half-hour -> kWh per half-hour."""
    return {p: kw * PERIOD_H for p, kw in half_hourly_kw.items()}
