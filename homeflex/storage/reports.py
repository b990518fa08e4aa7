"""OpenADR reports: the report requests the VTN made and the values VENs reported."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from homeflex.storage.sql import SqlRepository, from_ms, to_ms


class ReportStore(Protocol):
    async def save_report_request(self, report_request_id: str, ven_id: str, at: datetime) -> None:
        """Remember a report request (a repeated id is ignored)."""

    async def report_request_ven(self, report_request_id: str) -> str | None:
        """The VEN a report request was made to, or None."""

    async def save_ven_reports(
        self, ven_id: str, report_request_id: str, values: Sequence[tuple[str, datetime, float]], at: datetime
    ) -> None:
        """Store reported (r_id, time, value) triples; a repeated (r_id, time) replaces the old value."""

    async def ven_reports(self, ven_id: str) -> list[tuple[str, datetime, float]]:
        """A VEN's reported (r_id, time, value) triples, oldest first."""


class SqlReports(SqlRepository):
    async def save_report_request(self, report_request_id: str, ven_id: str, at: datetime) -> None:
        await self.db.execute(
            "INSERT OR IGNORE INTO report_requests (report_request_id, ven_id, created_at) VALUES (?,?,?)",
            (report_request_id, ven_id, self.db.time(at)),
        )

    async def report_request_ven(self, report_request_id: str) -> str | None:
        rows = await self.db.fetch(
            "SELECT ven_id FROM report_requests WHERE report_request_id=?", (report_request_id,)
        )
        return rows[0][0] if rows else None

    async def save_ven_reports(
        self, ven_id: str, report_request_id: str, values: Sequence[tuple[str, datetime, float]], at: datetime
    ) -> None:
        rows = [(ven_id, r_id, to_ms(ts), value, report_request_id, to_ms(at)) for r_id, ts, value in values]
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO ven_reports (ven_id, r_id, ts_ms, value, report_request_id, received_ms)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT (ven_id, r_id, ts_ms) DO UPDATE SET value=excluded.value,"
                " report_request_id=excluded.report_request_id, received_ms=excluded.received_ms",
                sorted(rows, key=lambda r: (r[1], r[2])),  # stable: of two equal keys the later still wins
            )

    async def ven_reports(self, ven_id: str) -> list[tuple[str, datetime, float]]:
        rows = await self.db.fetch(
            "SELECT r_id, ts_ms, value FROM ven_reports WHERE ven_id=? ORDER BY ts_ms", (ven_id,)
        )
        return [(r[0], from_ms(r[1]), r[2]) for r in rows]
