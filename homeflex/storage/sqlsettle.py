"""The last part of the storage interface in shared SQL: settlements, the ledger, programmes, period
aggregates and settlement runs. SqlStorage is the whole interface (SqlBase, then the profiles in
sqlprofile.py, then this); a backend subclasses it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from homeflex.storage.records import EventRecord, LedgerEntry, ProgrammeRecord, SettlementRecord
from homeflex.storage.sqlaggregator import SqlAggregators
from homeflex.storage.sqlbase import Row, from_ms, to_ms
from homeflex.storage.sqlconfig import SqlConfigs
from homeflex.storage.sqloadr3 import SqlOadr3
from homeflex.storage.sqlprofile import SqlProfiles


class SqlStorage(SqlProfiles, SqlConfigs, SqlOadr3, SqlAggregators):
    """Implements homeflex.storage.base.Storage; a backend supplies SqlBase's primitives."""

    # -- settlement and ledger -------------------------------------------------------------------

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
            computed_at=self._read_time(r["computed_at"]),
            household_gbp=r["household_gbp"],
            community_gbp=r["community_gbp"],
            inputs_sha256=r["inputs_sha256"],
            parameters=r["parameters"],
        )

    async def household_settlements(
        self, household_id: str, start: datetime, end: datetime
    ) -> list[SettlementRecord]:
        """Every settlement version for a household computed in [start, end), oldest first."""
        rows = await self._fetch(
            "SELECT * FROM settlements WHERE household_id=? AND computed_at>=? AND computed_at<?"
            " ORDER BY computed_at, event_id, version",
            (household_id, self._time(start), self._time(end)),
        )
        return [self._settlement(r) for r in rows]

    async def ledger_balances(self) -> dict[str, Decimal]:
        """Balance per account: credits minus debits. Every entry moves money, so they sum to zero."""
        balances: dict[str, Decimal] = {}
        rows = await self._fetch("SELECT debit_account, credit_account, amount_gbp FROM ledger ORDER BY id")
        for r in rows:
            amount = Decimal(r[2])
            balances[r[0]] = balances.get(r[0], Decimal(0)) - amount
            balances[r[1]] = balances.get(r[1], Decimal(0)) + amount
        return balances

    async def save_settlement(self, record: SettlementRecord, entries: Sequence[LedgerEntry]) -> None:
        """A settlement version and its ledger entries, atomically."""
        async with self._transaction() as tx:
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
                    self._time(record.computed_at),
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
                        self._time(e.created_at),
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
        rows = await self._fetch(sql, (event_id,) if event_id else ())
        return [
            LedgerEntry(
                event_id=r["event_id"],
                household_id=r["household_id"],
                settlement_version=r["settlement_version"],
                debit_account=r["debit_account"],
                credit_account=r["credit_account"],
                amount_gbp=r["amount_gbp"],
                memo=r["memo"],
                created_at=self._read_time(r["created_at"]),
            )
            for r in rows
        ]

    async def latest_settlements(self, event_id: str) -> list[SettlementRecord]:
        rows = await self._fetch(
            "SELECT s.* FROM settlements s WHERE s.event_id=? AND s.version ="
            " (SELECT max(version) FROM settlements"
            " WHERE event_id=s.event_id AND household_id=s.household_id)"
            " ORDER BY s.household_id",
            (event_id,),
        )
        return [self._settlement(r) for r in rows]

    # -- programmes, aggregates and runs ------------------------------------------------------------

    async def upsert_programme(self, p: ProgrammeRecord, at: datetime) -> None:
        await self._execute(
            "INSERT INTO programmes (id, name, baseline_method, baseline_params, adjustment, payment_curve,"
            " availability_gbp_per_mw_h, community_share, created_at) VALUES (?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET name=excluded.name, baseline_method=excluded.baseline_method,"
            " baseline_params=excluded.baseline_params, adjustment=excluded.adjustment,"
            " payment_curve=excluded.payment_curve,"
            " availability_gbp_per_mw_h=excluded.availability_gbp_per_mw_h,"
            " community_share=excluded.community_share",
            (
                p.id,
                p.name,
                p.baseline_method,
                json.dumps(p.baseline_params),
                json.dumps(p.adjustment),
                json.dumps([list(pt) for pt in p.payment_curve]),
                p.availability_gbp_per_mw_h,
                p.community_share,
                self._time(at),
            ),
        )

    async def get_programme(self, programme_id: str) -> ProgrammeRecord | None:
        rows = await self._fetch("SELECT * FROM programmes WHERE id=?", (programme_id,))
        return self._programme(rows[0]) if rows else None

    async def list_programmes(self) -> list[ProgrammeRecord]:
        return [self._programme(r) for r in await self._fetch("SELECT * FROM programmes ORDER BY id")]

    @staticmethod
    def _programme(r: Row) -> ProgrammeRecord:
        return ProgrammeRecord(
            id=r["id"],
            name=r["name"],
            baseline_method=r["baseline_method"],
            baseline_params=json.loads(r["baseline_params"]),
            adjustment=json.loads(r["adjustment"]),
            payment_curve=tuple((float(a), float(b)) for a, b in json.loads(r["payment_curve"])),
            availability_gbp_per_mw_h=r["availability_gbp_per_mw_h"],
            community_share=r["community_share"],
        )

    async def save_period_energy(
        self, household_id: str, energy: Mapping[datetime, float], at: datetime
    ) -> None:
        """Upsert aggregated kWh per half-hour; NaN is stored as NULL (not measurable)."""
        rows = [(household_id, to_ms(p), None if math.isnan(v) else v, to_ms(at)) for p, v in energy.items()]
        async with self._transaction() as tx:
            await tx.executemany(
                "INSERT INTO period_energy (household_id, period_ms, net_kwh, computed_ms) VALUES (?,?,?,?)"
                " ON CONFLICT (household_id, period_ms) DO UPDATE SET net_kwh=excluded.net_kwh,"
                " computed_ms=excluded.computed_ms",
                sorted(rows, key=lambda r: r[1]),
            )

    async def period_energy(self, household_id: str, start: datetime, end: datetime) -> dict[datetime, float]:
        rows = await self._fetch(
            "SELECT period_ms, net_kwh FROM period_energy"
            " WHERE household_id=? AND period_ms>=? AND period_ms<?"
            " ORDER BY period_ms",
            (household_id, to_ms(start), to_ms(end)),
        )
        return {from_ms(r[0]): math.nan if r[1] is None else float(r[1]) for r in rows}

    async def save_settlement_run(
        self, started_at: datetime, period_start: datetime, period_end: datetime, events: int, versions: int
    ) -> None:
        await self._execute(
            "INSERT INTO settlement_runs"
            " (started_at, period_start, period_end, events_settled, versions_written)"
            " VALUES (?,?,?,?,?)",
            (self._time(started_at), self._time(period_start), self._time(period_end), events, versions),
        )

    async def events_ending_between(self, start: datetime, end: datetime) -> list[EventRecord]:
        """Events whose window ends in [start, end); compared in Python (end = start + duration)."""
        return [e for e in await self.list_events() if start <= e.end < end]
