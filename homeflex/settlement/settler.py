"""Settle events from stored readings: baseline, delivery and payment, then ledger entries.

Idempotent: settling again with the same data adds nothing. Different data (late readings) adds
a new settlement version and ledger entries for the difference only; nothing is ever edited.
Each version keeps its evidence per half-hour, the programme's parameters and a hash of its inputs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from homeflex import metrics
from homeflex.core.domain import MeterReading
from homeflex.core.timeutil import local_date, period_start, periods
from homeflex.ledger.reconcile import COMMUNITY, DSO, aggregator_account, household_account
from homeflex.metering.energy import period_energy_kwh
from homeflex.settlement.baselines import EventWindow, compute_baseline
from homeflex.settlement.baselines.adjustment import adjust, adjustment_window, applies, window_means
from homeflex.settlement.delivery import HouseholdSettlement, round_money, settle_household
from homeflex.settlement.limits import UnsettleableEventError, out_of_range
from homeflex.settlement.payments import availability_payment, split
from homeflex.settlement.programme import Rules, rules_from_record
from homeflex.storage import Storage
from homeflex.storage.records import EventRecord, LedgerEntry, SettlementRecord, TargetRecord

log = logging.getLogger(__name__)
AFTER_EVENT = timedelta(hours=4)  # PJM Same Day looks at the hours after an event


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def inputs_hash(readings: list[MeterReading], event: EventRecord, rules: Rules, opted_in: bool) -> str:
    h = hashlib.sha256()
    h.update(
        f"{event.event_id}|{event.start}|{event.duration}|{event.reduction_kw}|"
        f"{event.price_gbp_per_mwh}|{opted_in}|{rules.describe()}".encode()
    )
    for r in readings:
        h.update(f"{r.ts.timestamp()}|{r.import_wh}|{r.export_wh}\n".encode())
    return h.hexdigest()


def settlement_record(
    result: HouseholdSettlement,
    *,
    opted_in: bool,
    rules: Rules,
    version: int,
    at: datetime,
    digest: str,
    unpaid: str = "not_opted_in",
) -> SettlementRecord:
    evidence = [
        {
            "period": p.period_start.isoformat(),
            "baseline_kwh": _finite(p.baseline_kwh),
            "actual_kwh": _finite(p.actual_kwh),
            "instructed_kwh": p.instructed_kwh,
            "delivered_kwh": p.delivered_kwh,
        }
        for p in result.periods
    ]
    payment = round_money(result.payment_gbp)
    community, household = split(payment, rules.community_share)
    return SettlementRecord(
        event_id=result.event_id,
        household_id=result.household_id,
        version=version,
        status=result.status if opted_in else unpaid,
        method=rules.method,
        baseline_kw=_finite(result.baseline_kw),
        actual_kw=_finite(result.actual_kw),
        instructed_kwh=result.instructed_kwh,
        delivered_kwh=result.delivered_kwh,
        payment_gbp=str(payment),
        evidence=json.dumps(evidence),
        computed_at=at,
        household_gbp=str(household),
        community_gbp=str(community),
        inputs_sha256=digest,
        parameters=rules.describe(),
    )


FIGURES = (
    "status",
    "method",
    "baseline_kw",
    "actual_kw",
    "instructed_kwh",
    "delivered_kwh",
    "payment_gbp",
    "household_gbp",
    "evidence",
    "parameters",
)


def same_figures(a: SettlementRecord, b: SettlementRecord) -> bool:
    return all(getattr(a, k) == getattr(b, k) for k in FIGURES)


def ledger_entries(
    record: SettlementRecord, previous: SettlementRecord | None, aggregator: str | None = None
) -> list[LedgerEntry]:
    """DSO -> community for the payment, community -> household for the household's share; only the
    change since the previous version, so running totals always equal the latest version. A member of
    an aggregator's portfolio is paid DSO -> aggregator instead (its settlement carries no shares)."""
    to_community = Decimal(record.payment_gbp) - (Decimal(previous.payment_gbp) if previous else 0)
    to_household = Decimal(record.household_gbp) - (Decimal(previous.household_gbp) if previous else 0)
    memo = f"event {record.event_id} settlement v{record.version}"
    if previous:
        memo += f" (adjusts v{previous.version})"
    legs: tuple[tuple[str, str, Decimal], ...] = (
        (DSO, COMMUNITY, to_community),
        (COMMUNITY, household_account(record.household_id), to_household),
    )
    if aggregator is not None:
        legs = ((DSO, aggregator_account(aggregator), to_community),)
    return [
        LedgerEntry(
            event_id=record.event_id,
            household_id=record.household_id,
            settlement_version=record.version,
            debit_account=debit,
            credit_account=credit,
            amount_gbp=str(amount),
            memo=memo,
            created_at=record.computed_at,
        )
        for debit, credit, amount in legs
        if amount != 0
    ]


@dataclass(frozen=True, kw_only=True)
class OtherEvents:
    """What a household's other (not cancelled) events mean for settling one event."""

    days: dict[str, frozenset[date]]  # their local dates: not normal days for a baseline
    # The household's earlier event overlapping this one that it opted in to in time: it pays for those
    # half-hours, so this one does not. Storage refuses an overlap now; this covers events stored before.
    paid_by: dict[str, str]


async def other_events(storage: Storage, event: EventRecord) -> OtherEvents:
    """Read once per settlement of an event, not once per household."""
    days: dict[str, set[date]] = defaultdict(set)
    paid_by: dict[str, str] = {}
    for other in await storage.list_events():
        if other.event_id == event.event_id or other.status == "cancelled":
            continue
        first = (other.created_at, other.event_id) < (event.created_at, event.event_id)
        pays = first and other.start < event.end and event.start < other.end
        for target in await storage.event_targets(other.event_id):
            days[target.household_id].add(local_date(other.start))
            if pays and target.opted_in_by(other.start):
                paid_by.setdefault(target.household_id, other.event_id)
    return OtherEvents(days={h: frozenset(d) for h, d in days.items()}, paid_by=paid_by)


def unpaid_status(target: TargetRecord, event: EventRecord, others: OtherEvents) -> str | None:
    """Why the household is not paid for `event`, or None when it is."""
    if target.household_id in others.paid_by:
        return "overlaps_event"
    if target.late_opt_in(event.start):
        return "late_opt_in"
    return None if target.opted_in_by(event.start) else "not_opted_in"


def baseline_for(
    event: EventRecord, energy: dict[datetime, float], excluded: frozenset[date], rules: Rules
) -> dict[datetime, float]:
    """The programme's baseline per event half-hour, with its day-of adjustment if it has one."""
    window = EventWindow(start=event.start, end=event.end)

    def base(p: datetime) -> float:
        return compute_baseline(rules.method, p, energy, excluded_days=excluded, event=window, **rules.params)

    baseline = {p: base(p) for p in periods(event.start, event.end)}
    if not applies(rules.adjustment):
        return baseline
    adj_window = adjustment_window(event.start, rules.adjustment)
    bw, aw = window_means(adj_window, {p: base(p) for p in adj_window}, energy)
    return {p: adjust(b, bw, aw, rules.adjustment) for p, b in baseline.items()}


async def settle_one(
    storage: Storage,
    event: EventRecord,
    household_id: str,
    opted_in: bool,
    rules: Rules,
    other_event_days: frozenset[date],
    now: datetime,
) -> tuple[HouseholdSettlement, str]:
    first = period_start(event.start - rules.lookback)
    readings = await storage.readings(household_id, first, event.end + AFTER_EVENT)
    window = periods(first, event.end + AFTER_EVENT)
    energy = period_energy_kwh(readings, window) if readings else dict.fromkeys(window, math.nan)
    await storage.save_period_energy(household_id, energy, now)
    excluded = other_event_days | {local_date(event.start)}
    result = settle_from_energy(event, household_id, opted_in, energy, excluded, rules)
    return result, inputs_hash(readings, event, rules, opted_in)


def settle_from_energy(
    event: EventRecord,
    household_id: str,
    opted_in: bool,
    energy_kwh: Mapping[datetime, float],
    excluded: frozenset[date],
    rules: Rules,
) -> HouseholdSettlement:
    """One household's settlement of ``event`` from its energy per UTC half-hour (pure): the baseline
    over the days not ``excluded``, delivery and payment under ``rules``, the availability fee."""
    result = settle_household(
        household_id=household_id,
        event_id=event.event_id,
        start=event.start,
        end=event.end,
        reduction_kw=event.reduction_kw if opted_in else 0.0,
        price_gbp_per_mwh=event.price_gbp_per_mwh,
        baseline_kwh=baseline_for(event, dict(energy_kwh), excluded, rules),
        actual_kwh={p: energy_kwh.get(p, math.nan) for p in periods(event.start, event.end)},
        curve=rules.curve,
    )
    return with_availability(result, event, rules)


def with_availability(result: HouseholdSettlement, event: EventRecord, rules: Rules) -> HouseholdSettlement:
    """Add the availability fee for the window: rate x instructed MW x hours x factor, where the factor
    is the delivery ratio capped at 1 (settlement.md §5 leaves the factor to the programme; this reading
    pays availability in proportion to what was delivered)."""
    if rules.availability_gbp_per_mw_h == 0 or result.status != "settled" or result.instructed_kwh == 0:
        return result
    factor = min(1.0, result.delivered_kwh / result.instructed_kwh)
    hours = event.duration.total_seconds() / 3600
    fee = availability_payment(rules.availability_gbp_per_mw_h, event.reduction_kw / 1000, hours, factor)
    return replace(result, payment_gbp=result.payment_gbp + fee)


async def settle_event(storage: Storage, event_id: str, now: datetime) -> list[SettlementRecord]:
    """Settle every targeted household; returns the new settlement versions written (none if unchanged)."""
    event = await storage.get_event(event_id)
    if event is None:
        raise LookupError(f"no event {event_id!r}")
    if event.status == "cancelled" or now < event.end:
        return []
    why = out_of_range(event)
    if why is not None:
        raise UnsettleableEventError(f"event {event_id} cannot be settled: {why}")
    programme = await storage.get_programme(event.programme_id)
    if programme is None:
        raise LookupError(f"event {event_id} names unknown programme {event.programme_id!r}")
    rules = rules_from_record(programme)
    others = await other_events(storage, event)
    latest = {s.household_id: s for s in await storage.latest_settlements(event_id)}
    member_of = {m.household_id: a.id for a in await storage.list_aggregators() for m in a.members}
    written = []
    for target in await storage.event_targets(event_id):
        unpaid = unpaid_status(target, event, others)
        opted_in = unpaid is None
        days = others.days.get(target.household_id, frozenset())
        result, digest = await settle_one(storage, event, target.household_id, opted_in, rules, days, now)
        previous = latest.get(target.household_id)
        record = settlement_record(
            result,
            opted_in=opted_in,
            rules=rules,
            digest=digest,
            unpaid=unpaid or "not_opted_in",
            at=now,
            version=previous.version + 1 if previous else 1,
        )
        aggregator = member_of.get(target.household_id)
        if aggregator is not None:  # the aggregator is paid for its member; sharing is its business
            record = replace(record, household_gbp="0", community_gbp="0")
        if previous is not None and same_figures(record, previous):
            continue
        await storage.save_settlement(record, ledger_entries(record, previous, aggregator))
        written.append(record)
        delta = Decimal(record.payment_gbp) - (Decimal(previous.payment_gbp) if previous else Decimal(0))
        metrics.record_payment(delta, first_version=previous is None)
        if previous is None:
            metrics.DELIVERED_KWH.inc(record.delivered_kwh)
    return written


async def settle_period(
    storage: Storage, start: datetime, end: datetime, now: datetime
) -> list[SettlementRecord]:
    """Settle every event that ended in [start, end) and has ended by `now`; records the run."""
    events = [
        e for e in await storage.events_ending_between(start, end) if e.status != "cancelled" and e.end <= now
    ]
    written = []
    for event in events:
        try:
            written += await settle_event(storage, event.event_id, now)
        except UnsettleableEventError as err:  # the rest of the period is still settled
            log.error("%s", err, extra={"event_id": event.event_id})
    await storage.save_settlement_run(now, start, end, len(events), len(written))
    return written
