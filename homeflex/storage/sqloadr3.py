"""The OpenADR 3.1 part of the storage interface in shared SQL: OAuth2 clients, the 3.1 objects that
have no 2.0b table (VENs, resources, subscriptions, reports), kept as JSON documents, the 3.1 side of
programmes, and the event operations only 3.1 has (modification, filtered pages)."""

from __future__ import annotations

import json
import re
from abc import abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from homeflex.storage.records import (
    EventQuery,
    EventRecord,
    Oadr3Client,
    Oadr3Object,
    Oadr3Program,
    Oadr3Query,
)
from homeflex.storage.sqlbase import Row, SqlBase, to_ms


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


# The lists an any-of filter looks in, as the path of keys to them (each level a list) in the document.
LIST_PATHS = {"targets": ("targets",), "objects": ("objectOperations", "objects")}
_FIELD = re.compile(r"^[A-Za-z]{1,32}$")  # document fields go into the SQL text: plain names only


def _field(name: str) -> str:
    if not _FIELD.match(name):
        raise ValueError(f"not a document field name: {name!r}")
    return name


def _client(r: Row) -> Oadr3Client:
    return Oadr3Client(client_id=r["client_id"], secret_sha256=r["secret_sha256"], role=r["role"])


class SqlOadr3(SqlBase):
    async def save_oadr3_client(self, client: Oadr3Client, at: datetime) -> None:
        await self._execute(
            "INSERT INTO oadr3_clients (client_id, secret_sha256, role, created_at) VALUES (?,?,?,?)"
            " ON CONFLICT (client_id) DO UPDATE SET secret_sha256=excluded.secret_sha256, role=excluded.role",
            (client.client_id, client.secret_sha256, client.role, self._time(at)),
        )

    async def get_oadr3_client(self, client_id: str) -> Oadr3Client | None:
        rows = await self._fetch("SELECT * FROM oadr3_clients WHERE client_id=?", (client_id,))
        return _client(rows[0]) if rows else None

    async def list_oadr3_clients(self) -> list[Oadr3Client]:
        return [_client(r) for r in await self._fetch("SELECT * FROM oadr3_clients ORDER BY client_id")]

    async def put_oadr3_object(self, obj: Oadr3Object) -> None:
        await self._execute(
            "INSERT INTO oadr3_objects (object_type, id, client_id, document, created_at, modified_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT (object_type, id) DO UPDATE SET client_id=excluded.client_id,"
            " document=excluded.document, modified_at=excluded.modified_at",
            (
                obj.object_type,
                obj.id,
                obj.client_id,
                json.dumps(obj.document, separators=(",", ":")),
                self._time(obj.created_at),
                self._time(obj.modified_at),
            ),
        )

    def _oadr3_object(self, r: Row) -> Oadr3Object:
        return Oadr3Object(
            object_type=r["object_type"],
            id=r["id"],
            client_id=r["client_id"],
            document=json.loads(r["document"]),
            created_at=self._read_time(r["created_at"]),
            modified_at=self._read_time(r["modified_at"]),
        )

    async def get_oadr3_object(self, object_type: str, object_id: str) -> Oadr3Object | None:
        rows = await self._fetch(
            "SELECT * FROM oadr3_objects WHERE object_type=? AND id=?", (object_type, object_id)
        )
        return self._oadr3_object(rows[0]) if rows else None

    async def list_oadr3_objects(self, object_type: str, client_id: str | None = None) -> list[Oadr3Object]:
        if client_id is None:
            rows = await self._fetch(
                "SELECT * FROM oadr3_objects WHERE object_type=? ORDER BY created_at, id", (object_type,)
            )
        else:
            rows = await self._fetch(
                "SELECT * FROM oadr3_objects WHERE object_type=? AND client_id=? ORDER BY created_at, id",
                (object_type, client_id),
            )
        return [self._oadr3_object(r) for r in rows]

    # The dialect's JSON: a document's string field, and "a list in it holds any of `marks`".
    @abstractmethod
    def _doc_text(self, field: str) -> str: ...

    @abstractmethod
    def _doc_list_any(self, path: tuple[str, ...], marks: str) -> str: ...

    async def oadr3_objects_page(self, query: Oadr3Query) -> list[Oadr3Object]:
        """Filters, the client's visibility and the page all in the WHERE clause, so `limit` counts the
        objects the client may see and no other object is read."""
        where, params = ["o.object_type=?"], [query.object_type]
        if query.client_id is not None:
            where.append("o.client_id=?")
            params.append(query.client_id)
        if query.ven_ids is not None:
            if not query.ven_ids:
                return []
            ven = "o.id" if query.object_type == "VEN" else self._doc_text("venID")
            where.append(f"{ven} IN ({_marks(query.ven_ids)})")
            params += query.ven_ids
        for name, value in query.equal:
            where.append(f"{self._doc_text(_field(name))}=?")
            params.append(value)
        for name, values in query.any_of:
            if values:
                where.append(self._doc_list_any(LIST_PATHS[name], _marks(values)))
                params += values
        rows = await self._fetch(
            f"SELECT * FROM oadr3_objects o WHERE {' AND '.join(where)} ORDER BY o.created_at, o.id"
            " LIMIT ? OFFSET ?",
            (*params, query.limit, query.skip),
        )
        return [self._oadr3_object(r) for r in rows]

    async def delete_oadr3_object(self, object_type: str, object_id: str) -> bool:
        changed = await self._execute(
            "DELETE FROM oadr3_objects WHERE object_type=? AND id=?", (object_type, object_id)
        )
        return changed == 1

    # -- programs ------------------------------------------------------------------------------------

    async def put_oadr3_program(
        self, program_id: str, name: str, document: dict[str, Any], at: datetime
    ) -> None:
        # A new programme is paid like the default one (utilisation, same-day-type baseline); an existing
        # one keeps its settlement terms: 3.1 changes only its name and document.
        await self._execute(
            "INSERT INTO programmes (id, name, baseline_method, created_at, oadr3_document, modified_at)"
            " VALUES (?,?,'same_day_type',?,?,?) ON CONFLICT (id) DO UPDATE SET name=excluded.name,"
            " oadr3_document=excluded.oadr3_document, modified_at=excluded.modified_at",
            (program_id, name, self._time(at), _dumps(document), self._time(at)),
        )

    def _oadr3_program(self, r: Row) -> Oadr3Program:
        created = self._read_time(r["created_at"])
        return Oadr3Program(
            id=r["id"],
            name=r["name"],
            document=json.loads(r["oadr3_document"]) if r["oadr3_document"] else {},
            created_at=created,
            modified_at=self._opt_time(r["modified_at"]) or created,
        )

    async def get_oadr3_program(self, program_id: str) -> Oadr3Program | None:
        rows = await self._fetch(
            "SELECT id, name, oadr3_document, created_at, modified_at FROM programmes WHERE id=?",
            (program_id,),
        )
        return self._oadr3_program(rows[0]) if rows else None

    async def list_oadr3_programs(self) -> list[Oadr3Program]:
        rows = await self._fetch(
            "SELECT id, name, oadr3_document, created_at, modified_at FROM programmes ORDER BY created_at, id"
        )
        return [self._oadr3_program(r) for r in rows]

    async def delete_programme(self, program_id: str) -> bool | None:
        """True if deleted, False if there was none, None if events refer to it (kept)."""
        async with self._transaction() as tx:
            if await tx.fetch("SELECT 1 FROM events WHERE programme_id=? LIMIT 1", (program_id,)):
                return None
            found = await tx.fetch("SELECT 1 FROM programmes WHERE id=?", (program_id,))
            await tx.execute("DELETE FROM programmes WHERE id=?", (program_id,))
        return bool(found)

    # -- events --------------------------------------------------------------------------------------

    async def modify_event(self, event: EventRecord, household_ids: Sequence[str]) -> EventRecord | None:
        """Replace a scheduled event's window, payload, program, name and document and its targets, and
        bump its modification number, so every VEN (2.0b and 3.1) receives the modification; a target that
        stays keeps its answer row (with an older modification it is asked again). None if the event is
        cancelled or unknown."""
        async with self._transaction() as tx:
            rows = await tx.fetch(
                "SELECT modification_number FROM events WHERE event_id=? AND status='scheduled'",
                (event.event_id,),
            )
            if not rows:
                return None
            if self._EVENT_CREATION_LOCK:
                await tx.execute(self._EVENT_CREATION_LOCK)
            # A modified window is held to the same rule as a new one: one event at a time per household.
            await self._refuse_overlap(tx, event, list(household_ids))
            await tx.execute(
                "UPDATE events SET start=?, duration_s=?, reduction_kw=?, price_gbp_per_mwh=?,"
                " programme_id=?, event_name=?, oadr3_document=?, modified_at=?, ends_ms=?,"
                " modification_number=modification_number+1 WHERE event_id=?",
                (*self._event_columns(event), event.event_id),
            )
            old = {
                r["household_id"]
                for r in await tx.fetch(
                    "SELECT household_id FROM event_targets WHERE event_id=?", (event.event_id,)
                )
            }
            gone = sorted(old - set(household_ids))
            if gone:
                await tx.execute(
                    f"DELETE FROM event_targets WHERE event_id=? AND household_id IN ({_marks(gone)})",
                    (event.event_id, *gone),
                )
            await tx.executemany(
                "INSERT INTO event_targets (event_id, household_id) VALUES (?,?)",
                [(event.event_id, h) for h in sorted(set(household_ids) - old)],
            )
        return await self.get_event(event.event_id)

    async def _targets_clause(self, targets: Sequence[str]) -> str:
        """The any-of targets filter (households or groups), with `targets` twice as its parameters.

        A few households' events are best found from the household index and looked up by key (IN); a
        group's are many, and walking the events in start order until the page is full (EXISTS) beats
        sorting them all. Which one is told by whether any target is a group."""
        marks = _marks(targets)
        group = await self._fetch(f"SELECT 1 FROM households WHERE group_name IN ({marks}) LIMIT 1", targets)
        if group:
            return (
                "EXISTS (SELECT 1 FROM event_targets t JOIN households h ON h.id=t.household_id"
                f" WHERE t.event_id=e.event_id"
                f" AND (t.household_id IN ({marks}) OR h.group_name IN ({marks})))"
            )
        return (
            "e.event_id IN (SELECT t.event_id FROM event_targets t"
            f" WHERE t.household_id IN ({marks}) OR t.household_id IN ({marks}))"  # (same parameters)
        )

    async def events_page(self, query: EventQuery) -> list[tuple[EventRecord, list[str]]]:
        """A page of scheduled (not cancelled) events with their targeted households, in (start, id)
        order; every filter is in the WHERE clause, so the page costs the same with 100,000 events."""
        where: list[str] = ["e.status='scheduled'"]
        params: list[Any] = []
        if query.program_ids:
            where.append(f"e.programme_id IN ({_marks(query.program_ids)})")
            params += list(query.program_ids)
        if query.ended_after is not None:
            where.append("e.ends_ms > ?")
            params.append(to_ms(query.ended_after))
        if query.started_after is not None:
            where.append("e.start > ?")
            params.append(self._time(query.started_after))
        if query.targets:
            where.append(await self._targets_clause(query.targets))
            params += [*query.targets, *query.targets]
        if query.visible_to is not None:
            if not query.visible_to:
                return []
            where.append(
                "e.event_id IN (SELECT v.event_id FROM event_targets v"
                f" WHERE v.household_id IN ({_marks(query.visible_to)}))"
            )
            params += list(query.visible_to)
        rows = await self._fetch(
            f"SELECT e.* FROM events e WHERE {' AND '.join(where)} ORDER BY e.start, e.event_id"
            " LIMIT ? OFFSET ?",
            (*params, query.limit, query.skip),
        )
        events = [self._event(r) for r in rows]
        if not events:
            return []
        ids = [e.event_id for e in events]
        targets: dict[str, list[str]] = {i: [] for i in ids}
        for r in await self._fetch(
            f"SELECT event_id, household_id FROM event_targets WHERE event_id IN ({_marks(ids)})"
            " ORDER BY household_id",
            ids,
        ):
            targets[r["event_id"]].append(r["household_id"])
        return [(e, targets[e.event_id]) for e in events]
