"""Monthly statements: what a household was paid, event by event, with the evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from homeflex.core.timeutil import LONDON
from homeflex.ledger.reconcile import household_account
from homeflex.storage.records import EventRecord, LedgerEntry, SettlementRecord


@dataclass(frozen=True, kw_only=True)
class StatementLine:
    event_id: str
    event_start: datetime
    version: int
    amount_gbp: Decimal  # credited to the household by this version (an adjustment may be negative)
    baseline_kw: float | None
    actual_kw: float | None
    delivered_kwh: float
    rate_gbp_per_mwh: float
    evidence: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Statement:
    household_id: str
    month: str  # YYYY-MM, UK local
    lines: tuple[StatementLine, ...]

    @property
    def total_gbp(self) -> Decimal:
        return sum((line.amount_gbp for line in self.lines), Decimal(0))


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a UK calendar month, in UTC-aware datetimes."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as err:
        raise ValueError(f"month must look like 2026-11, got {month!r}") from err
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return datetime.combine(first, time(), LONDON), datetime.combine(following, time(), LONDON)


def build_statement(
    household_id: str,
    month: str,
    entries: list[LedgerEntry],
    settlements: dict[tuple[str, int], SettlementRecord],
    events: dict[str, EventRecord],
) -> Statement:
    """Lines for every ledger credit to the household booked in the month, oldest first."""
    start, end = month_bounds(month)
    account = household_account(household_id)
    lines = []
    for e in sorted(entries, key=lambda x: (x.created_at, x.event_id, x.settlement_version)):
        if e.credit_account != account or not start <= e.created_at < end:
            continue
        s = settlements[(e.event_id, e.settlement_version)]
        event = events[e.event_id]
        lines.append(
            StatementLine(
                event_id=e.event_id,
                event_start=event.start,
                version=e.settlement_version,
                amount_gbp=Decimal(e.amount_gbp),
                baseline_kw=s.baseline_kw,
                actual_kw=s.actual_kw,
                delivered_kwh=s.delivered_kwh,
                rate_gbp_per_mwh=event.price_gbp_per_mwh,
                evidence=json.loads(s.evidence),
            )
        )
    return Statement(household_id=household_id, month=month, lines=tuple(lines))


def _kw(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_text(statement: Statement) -> str:
    out = [f"Statement for {statement.household_id}, {statement.month}", ""]
    out.append(
        f"{'event':<18}{'start (UTC)':<18}{'ver':>4}{'baseline kW':>13}{'actual kW':>11}"
        f"{'delivered kWh':>15}{'£/MWh':>8}{'£':>9}"
    )
    for line in statement.lines:
        out.append(
            f"{line.event_id:<18}{line.event_start:%Y-%m-%d %H:%M}  {line.version:>4}"
            f"{_kw(line.baseline_kw):>13}"
            f"{_kw(line.actual_kw):>11}{line.delivered_kwh:>15.3f}{line.rate_gbp_per_mwh:>8.0f}"
            f"{line.amount_gbp:>9}"
        )
    out += ["", f"Total paid this month: £{statement.total_gbp}"]
    return "\n".join(out)


def statement_json(statement: Statement) -> dict[str, Any]:
    return {
        "household_id": statement.household_id,
        "month": statement.month,
        "total_gbp": str(statement.total_gbp),
        "lines": [
            {
                "event_id": x.event_id,
                "event_start": x.event_start.isoformat(),
                "version": x.version,
                "amount_gbp": str(x.amount_gbp),
                "baseline_kw": x.baseline_kw,
                "actual_kw": x.actual_kw,
                "delivered_kwh": x.delivered_kwh,
                "rate_gbp_per_mwh": x.rate_gbp_per_mwh,
                "evidence": x.evidence,
            }
            for x in statement.lines
        ],
    }
