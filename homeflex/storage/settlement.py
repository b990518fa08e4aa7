"""Settlement and the ledger: each settlement version with its ledger entries (written together, never
edited), the half-hourly energy settlement reads, and the audit trail of settlement runs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from homeflex.storage.records import LedgerEntry, SettlementRecord
from homeflex.storage.sql import Row, SqlRepository, from_ms, to_ms


class SettlementStore(Protocol):
    async def household_settlements(
        self, household_id: str, start: datetime, end: datetime
    ) -> list[SettlementRecord]:
        """Every settlement version for a household computed in [start, end), oldest first."""

    async def latest_settlements(self, event_id: str) -> list[SettlementRecord]:
        """The latest settlement version per household for an event, ordered by household."""

    async def save_settlement(self, record: SettlementRecord, entries: Sequence[LedgerEntry]) -> None:
        """A settlement version and its ledger entries, atomically."""

    async def ledger(self, event_id: str | None = None) -> list[LedgerEntry]:
        """Ledger entries (of one event if given), in the order written."""

    async def ledger_balances(self) -> dict[str, Decimal]:
        """Balance per account: credits minus debits (they sum to zero)."""

    async def save_period_energy(
        self, household_id: str, energy: Mapping[datetime, float], at: datetime
    ) -> None:
        """Upsert aggregated kWh per half-hour; NaN is stored as NULL (not measurable)."""

    async def period_energy(self, household_id: str, start: datetime, end: datetime) -> dict[datetime, float]:
        """kWh per half-hour starting in [start, end); NaN where not measurable."""

    async def save_settlement_run(
        self, started_at: datetime, period_start: datetime, period_end: datetime, events: int, versions: int
    ) -> None:
        """Append a settlement run to the audit trail."""


class SqlSettlements(SqlRepository):
    def _settlement(self, r: Row) -> SettlementRecord:
        return SettlementRecord(
            event_id=r["event_id"],
            household_id=r["household_id"],
            version=r["version"],
            status=r["status"],
            method=r["method"],
            baseline_kw=r["baseline_kw"],
            actual_kw=r["actual_kw"],
            instructed_kwh=r["instructed_kwh"],
            delivered_kwh=r["delivered_kwh"],
            payment_gbp=r["payment_gbp"],
            evidence=r["evidence"],
            computed_at=self.db.read_time(r["computed_at"]),
            household_gbp=r["household_gbp"],
            community_gbp=r["community_gbp"],
            inputs_sha256=r["inputs_sha256"],
            parameters=r["parameters"],
        )

    async def household_settlements(
        self, household_id: str, start: datetime, end: datetime
    ) -> list[SettlementRecord]:
        """Every settlement version for a household computed in [start, end), oldest first."""
        rows = await self.db.fetch(
            "SELECT * FROM settlements WHERE household_id=? AND computed_at>=? AND computed_at<?"
            " ORDER BY computed_at, event_id, version",
            (household_id, self.db.time(start), self.db.time(end)),
        )
        return [self._settlement(r) for r in rows]

    async def ledger_balances(self) -> dict[str, Decimal]:
        """Balance per account: credits minus debits. Every entry moves money, so they sum to zero."""
        balances: dict[str, Decimal] = {}
        rows = await self.db.fetch("SELECT debit_account, credit_account, amount_gbp FROM ledger ORDER BY id")
        for r in rows:
            amount = Decimal(r[2])
            balances[r[0]] = balances.get(r[0], Decimal(0)) - amount
            balances[r[1]] = balances.get(r[1], Decimal(0)) + amount
        return balances

    async def save_settlement(self, record: SettlementRecord, entries: Sequence[LedgerEntry]) -> None:
        """A settlement version and its ledger entries, atomically."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO settlements (event_id, household_id, version, status, method, baseline_kw,"
                " actual_kw, instructed_kwh, delivered_kwh, payment_gbp, evidence, computed_at,"
                " household_gbp, community_gbp, inputs_sha256, parameters)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.event_id,
                    record.household_id,
                    record.version,
                    record.status,
                    record.method,
                    record.baseline_kw,
                    record.actual_kw,
                    record.instructed_kwh,
                    record.delivered_kwh,
                    record.payment_gbp,
                    record.evidence,
                    self.db.time(record.computed_at),
                    record.household_gbp,
                    record.community_gbp,
                    record.inputs_sha256,
                    record.parameters,
                ),
            )
            await tx.executemany(
                "INSERT INTO ledger (created_at, event_id, household_id, settlement_version, debit_account,"
                " credit_account, amount_gbp, memo) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        self.db.time(e.created_at),
                        e.event_id,
                        e.household_id,
                        e.settlement_version,
                        e.debit_account,
                        e.credit_account,
                        e.amount_gbp,
                        e.memo,
                    )
                    for e in entries
                ],
            )

    async def ledger(self, event_id: str | None = None) -> list[LedgerEntry]:
        sql = "SELECT * FROM ledger" + (" WHERE event_id=?" if event_id else "") + " ORDER BY id"
        rows = await self.db.fetch(sql, (event_id,) if event_id else ())
        return [
            LedgerEntry(
                event_id=r["event_id"],
                household_id=r["household_id"],
                settlement_version=r["settlement_version"],
                debit_account=r["debit_account"],
                credit_account=r["credit_account"],
                amount_gbp=r["amount_gbp"],
                memo=r["memo"],
                created_at=self.db.read_time(r["created_at"]),
            )
            for r in rows
        ]

    async def latest_settlements(self, event_id: str) -> list[SettlementRecord]:
        rows = await self.db.fetch(
            "SELECT s.* FROM settlements s WHERE s.event_id=? AND s.version ="
            " (SELECT max(version) FROM settlements"
            " WHERE event_id=s.event_id AND household_id=s.household_id)"
            " ORDER BY s.household_id",
            (event_id,),
        )
        return [self._settlement(r) for r in rows]

    async def save_period_energy(
        self, household_id: str, energy: Mapping[datetime, float], at: datetime
    ) -> None:
        """Upsert aggregated kWh per half-hour; NaN is stored as NULL (not measurable)."""
        rows = [(household_id, to_ms(p), None if math.isnan(v) else v, to_ms(at)) for p, v in energy.items()]
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO period_energy (household_id, period_ms, net_kwh, computed_ms) VALUES (?,?,?,?)"
                " ON CONFLICT (household_id, period_ms) DO UPDATE SET net_kwh=excluded.net_kwh,"
                " computed_ms=excluded.computed_ms",
                sorted(rows, key=lambda r: r[1]),
            )

    async def period_energy(self, household_id: str, start: datetime, end: datetime) -> dict[datetime, float]:
        rows = await self.db.fetch(
            "SELECT period_ms, net_kwh FROM period_energy"
            " WHERE household_id=? AND period_ms>=? AND period_ms<?"
            " ORDER BY period_ms",
            (household_id, to_ms(start), to_ms(end)),
        )
        return {from_ms(r[0]): math.nan if r[1] is None else float(r[1]) for r in rows}

    async def save_settlement_run(
        self, started_at: datetime, period_start: datetime, period_end: datetime, events: int, versions: int
    ) -> None:
        await self.db.execute(
            "INSERT INTO settlement_runs"
            " (started_at, period_start, period_end, events_settled, versions_written)"
            " VALUES (?,?,?,?,?)",
            (
                self.db.time(started_at),
                self.db.time(period_start),
                self.db.time(period_end),
                events,
                versions,
            ),
        )
