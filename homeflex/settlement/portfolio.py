"""An aggregator's statement for one event: what the DSO paid it for its portfolio, with each member's
evidence (settled against the member's own baseline, as any household is)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from homeflex.ledger.reconcile import DSO, aggregator_account
from homeflex.storage import Storage
from homeflex.storage.records import LedgerEntry, SettlementRecord, TargetRecord


@dataclass(frozen=True, kw_only=True)
class ResourceEvidence:
    """One member's part: its answer (the aggregator's, for it) and its latest settlement."""

    household_id: str
    opt_type: str | None
    version: int | None  # None: not settled yet
    status: str | None
    baseline_kw: float | None
    actual_kw: float | None
    instructed_kwh: float
    delivered_kwh: float
    payment_gbp: Decimal
    periods: tuple[dict[str, Any], ...]  # per half-hour baseline, actual, instructed, delivered (kWh)


@dataclass(frozen=True, kw_only=True)
class PortfolioStatement:
    aggregator_id: str
    event_id: str
    resources: tuple[ResourceEvidence, ...]
    paid_gbp: Decimal  # credited to the aggregator by the ledger for this event (every version)

    @property
    def delivered_kwh(self) -> float:
        return sum(r.delivered_kwh for r in self.resources)

    @property
    def instructed_kwh(self) -> float:
        return sum(r.instructed_kwh for r in self.resources)

    @property
    def payment_gbp(self) -> Decimal:
        """The sum of the members' latest settlements; the ledger's `paid_gbp` equals it once settled."""
        return sum((r.payment_gbp for r in self.resources), Decimal(0))


def build_portfolio_statement(
    aggregator_id: str,
    event_id: str,
    members: Iterable[str],
    targets: Sequence[TargetRecord],
    latest: Sequence[SettlementRecord],
    entries: Sequence[LedgerEntry],
) -> PortfolioStatement:
    """Pure: the event's targets that are members, each with its latest settlement, and the ledger's
    DSO -> aggregator credits for the event."""
    portfolio = set(members)
    settled = {s.household_id: s for s in latest}
    resources = []
    for t in sorted(targets, key=lambda t: t.household_id):
        if t.household_id not in portfolio:
            continue
        s = settled.get(t.household_id)
        resources.append(
            ResourceEvidence(
                household_id=t.household_id,
                opt_type=t.opt_type,
                version=s.version if s else None,
                status=s.status if s else None,
                baseline_kw=s.baseline_kw if s else None,
                actual_kw=s.actual_kw if s else None,
                instructed_kwh=s.instructed_kwh if s else 0.0,
                delivered_kwh=s.delivered_kwh if s else 0.0,
                payment_gbp=Decimal(s.payment_gbp) if s else Decimal(0),
                periods=tuple(json.loads(s.evidence)) if s else (),
            )
        )
    account = aggregator_account(aggregator_id)
    paid = sum(
        (
            Decimal(e.amount_gbp)
            for e in entries
            if e.event_id == event_id and e.debit_account == DSO and e.credit_account == account
        ),
        Decimal(0),
    )
    return PortfolioStatement(
        aggregator_id=aggregator_id, event_id=event_id, resources=tuple(resources), paid_gbp=paid
    )


async def portfolio_statement(storage: Storage, aggregator_id: str, event_id: str) -> PortfolioStatement:
    """LookupError if the aggregator or the event is unknown."""
    aggregator = await storage.get_aggregator(aggregator_id)
    if aggregator is None:
        raise LookupError(f"no aggregator {aggregator_id!r}")
    if await storage.get_event(event_id) is None:
        raise LookupError(f"no event {event_id!r}")
    return build_portfolio_statement(
        aggregator_id,
        event_id,
        (m.household_id for m in aggregator.members),
        await storage.event_targets(event_id),
        await storage.latest_settlements(event_id),
        await storage.ledger(event_id),
    )


def portfolio_statement_json(statement: PortfolioStatement) -> dict[str, Any]:
    return {
        "aggregator_id": statement.aggregator_id,
        "event_id": statement.event_id,
        "resources": [
            {
                "household_id": r.household_id,
                "opt_type": r.opt_type,
                "version": r.version,
                "status": r.status,
                "baseline_kw": r.baseline_kw,
                "actual_kw": r.actual_kw,
                "instructed_kwh": r.instructed_kwh,
                "delivered_kwh": r.delivered_kwh,
                "payment_gbp": str(r.payment_gbp),
                "evidence": list(r.periods),
            }
            for r in statement.resources
        ],
        "totals": {
            "resources": len(statement.resources),
            "instructed_kwh": statement.instructed_kwh,
            "delivered_kwh": statement.delivered_kwh,
            "payment_gbp": str(statement.payment_gbp),
            "paid_gbp": str(statement.paid_gbp),
        },
    }


def _kw(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_portfolio_text(statement: PortfolioStatement) -> str:
    out = [f"Aggregator {statement.aggregator_id}, event {statement.event_id}", ""]
    out.append(f"{'resource':<14}{'opt':<8}{'baseline kW':>12}{'actual kW':>11}{'delivered kWh':>15}{'£':>9}")
    for r in statement.resources:
        out.append(
            f"{r.household_id:<14}{r.opt_type or '-':<8}{_kw(r.baseline_kw):>12}{_kw(r.actual_kw):>11}"
            f"{r.delivered_kwh:>15.3f}{r.payment_gbp:>9}"
        )
    out += [
        "",
        f"Portfolio: delivered {statement.delivered_kwh:.3f} of {statement.instructed_kwh:.3f} kWh;"
        f" settled £{statement.payment_gbp}, paid by the DSO £{statement.paid_gbp}",
    ]
    return "\n".join(out)
