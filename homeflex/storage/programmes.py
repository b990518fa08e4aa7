"""Flexibility programmes: their settlement terms (baseline, adjustment, payment curve) and, for
OpenADR 3.1, their program document. Events refer to them, so one in use is never deleted."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from homeflex.storage.records import Oadr3Program, ProgrammeRecord
from homeflex.storage.sql import Row, SqlRepository


class ProgrammeStore(Protocol):
    async def upsert_programme(self, p: ProgrammeRecord, at: datetime) -> None:
        """Create or replace a flexibility programme."""

    async def get_programme(self, programme_id: str) -> ProgrammeRecord | None:
        """One programme, or None."""

    async def list_programmes(self) -> list[ProgrammeRecord]:
        """Every programme, ordered by id."""

    async def put_oadr3_program(
        self, program_id: str, name: str, document: dict[str, Any], at: datetime
    ) -> None:
        """Create a programme (paid like the default) or replace an existing one's name and 3.1 document,
        keeping its settlement terms; `at` is its creation or modification time."""

    async def get_oadr3_program(self, program_id: str) -> Oadr3Program | None:
        """A programme as a 3.1 program (its document {} if 3.1 never wrote one), or None."""

    async def list_oadr3_programs(self) -> list[Oadr3Program]:
        """Every programme as a 3.1 program, oldest first."""

    async def delete_programme(self, program_id: str) -> bool | None:
        """Delete a programme: True; False if there was none; None (nothing deleted) if events refer to it."""


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


class SqlProgrammes(SqlRepository):
    async def upsert_programme(self, p: ProgrammeRecord, at: datetime) -> None:
        await self.db.execute(
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
                self.db.time(at),
            ),
        )

    async def get_programme(self, programme_id: str) -> ProgrammeRecord | None:
        rows = await self.db.fetch("SELECT * FROM programmes WHERE id=?", (programme_id,))
        return self._programme(rows[0]) if rows else None

    async def list_programmes(self) -> list[ProgrammeRecord]:
        return [self._programme(r) for r in await self.db.fetch("SELECT * FROM programmes ORDER BY id")]

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

    async def put_oadr3_program(
        self, program_id: str, name: str, document: dict[str, Any], at: datetime
    ) -> None:
        # A new programme is paid like the default one (utilisation, same-day-type baseline); an existing
        # one keeps its settlement terms: 3.1 changes only its name and document.
        await self.db.execute(
            "INSERT INTO programmes (id, name, baseline_method, created_at, oadr3_document, modified_at)"
            " VALUES (?,?,'same_day_type',?,?,?) ON CONFLICT (id) DO UPDATE SET name=excluded.name,"
            " oadr3_document=excluded.oadr3_document, modified_at=excluded.modified_at",
            (program_id, name, self.db.time(at), _dumps(document), self.db.time(at)),
        )

    def _oadr3_program(self, r: Row) -> Oadr3Program:
        created = self.db.read_time(r["created_at"])
        return Oadr3Program(
            id=r["id"],
            name=r["name"],
            document=json.loads(r["oadr3_document"]) if r["oadr3_document"] else {},
            created_at=created,
            modified_at=self.db.opt_time(r["modified_at"]) or created,
        )

    async def get_oadr3_program(self, program_id: str) -> Oadr3Program | None:
        rows = await self.db.fetch(
            "SELECT id, name, oadr3_document, created_at, modified_at FROM programmes WHERE id=?",
            (program_id,),
        )
        return self._oadr3_program(rows[0]) if rows else None

    async def list_oadr3_programs(self) -> list[Oadr3Program]:
        rows = await self.db.fetch(
            "SELECT id, name, oadr3_document, created_at, modified_at FROM programmes ORDER BY created_at, id"
        )
        return [self._oadr3_program(r) for r in rows]

    async def delete_programme(self, program_id: str) -> bool | None:
        """True if deleted, False if there was none, None if events refer to it (kept)."""
        async with self.db.transaction() as tx:
            if await tx.fetch("SELECT 1 FROM events WHERE programme_id=? LIMIT 1", (program_id,)):
                return None
            found = await tx.fetch("SELECT 1 FROM programmes WHERE id=?", (program_id,))
            await tx.execute("DELETE FROM programmes WHERE id=?", (program_id,))
        return bool(found)
