"""OpenADR 3.1's own objects: the OAuth2 clients, and the 3.1 objects that have no 2.0b table (VENs,
resources, subscriptions, reports), kept as JSON documents and filtered in SQL. (3.1 programs are
programmes: programmes.py; 3.1 event operations are in events.py.)"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Protocol

from homeflex.storage.records import Oadr3Client, Oadr3Object, Oadr3Query
from homeflex.storage.sql import Row, SqlRepository, marks


class Oadr3Store(Protocol):
    async def save_oadr3_client(self, client: Oadr3Client, at: datetime) -> None:
        """Provision an OAuth2 client, or replace its secret and role."""

    async def get_oadr3_client(self, client_id: str) -> Oadr3Client | None:
        """One OAuth2 client, or None."""

    async def list_oadr3_clients(self) -> list[Oadr3Client]:
        """Every provisioned OAuth2 client, by client id."""

    async def put_oadr3_object(self, obj: Oadr3Object) -> None:
        """Create or replace a 3.1 object; a replacement keeps the stored created_at."""

    async def get_oadr3_object(self, object_type: str, object_id: str) -> Oadr3Object | None:
        """One 3.1 object, or None."""

    async def list_oadr3_objects(self, object_type: str, client_id: str | None = None) -> list[Oadr3Object]:
        """3.1 objects of a type (owned by one client if given), oldest first."""

    async def oadr3_objects_page(self, query: Oadr3Query) -> list[Oadr3Object]:
        """A page of 3.1 objects, every filter and the page in the query (created_at, id order)."""

    async def delete_oadr3_object(self, object_type: str, object_id: str) -> bool:
        """Delete a 3.1 object; False if there was none."""


# The lists an any-of filter looks in, as the path of keys to them (each level a list) in the document.
LIST_PATHS = {"targets": ("targets",), "objects": ("objectOperations", "objects")}
_FIELD = re.compile(r"^[A-Za-z]{1,32}$")  # document fields go into the SQL text: plain names only


def _field(name: str) -> str:
    if not _FIELD.match(name):
        raise ValueError(f"not a document field name: {name!r}")
    return name


def _client(r: Row) -> Oadr3Client:
    return Oadr3Client(client_id=r["client_id"], secret_sha256=r["secret_sha256"], role=r["role"])


class SqlOadr3(SqlRepository):
    async def save_oadr3_client(self, client: Oadr3Client, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO oadr3_clients (client_id, secret_sha256, role, created_at) VALUES (?,?,?,?)"
            " ON CONFLICT (client_id) DO UPDATE SET secret_sha256=excluded.secret_sha256, role=excluded.role",
            (client.client_id, client.secret_sha256, client.role, self.db.time(at)),
        )

    async def get_oadr3_client(self, client_id: str) -> Oadr3Client | None:
        rows = await self.db.fetch("SELECT * FROM oadr3_clients WHERE client_id=?", (client_id,))
        return _client(rows[0]) if rows else None

    async def list_oadr3_clients(self) -> list[Oadr3Client]:
        return [_client(r) for r in await self.db.fetch("SELECT * FROM oadr3_clients ORDER BY client_id")]

    async def put_oadr3_object(self, obj: Oadr3Object) -> None:
        await self.db.execute(
            "INSERT INTO oadr3_objects (object_type, id, client_id, document, created_at, modified_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT (object_type, id) DO UPDATE SET client_id=excluded.client_id,"
            " document=excluded.document, modified_at=excluded.modified_at",
            (
                obj.object_type,
                obj.id,
                obj.client_id,
                json.dumps(obj.document, separators=(",", ":")),
                self.db.time(obj.created_at),
                self.db.time(obj.modified_at),
            ),
        )

    def _oadr3_object(self, r: Row) -> Oadr3Object:
        return Oadr3Object(
            object_type=r["object_type"],
            id=r["id"],
            client_id=r["client_id"],
            document=json.loads(r["document"]),
            created_at=self.db.read_time(r["created_at"]),
            modified_at=self.db.read_time(r["modified_at"]),
        )

    async def get_oadr3_object(self, object_type: str, object_id: str) -> Oadr3Object | None:
        rows = await self.db.fetch(
            "SELECT * FROM oadr3_objects WHERE object_type=? AND id=?", (object_type, object_id)
        )
        return self._oadr3_object(rows[0]) if rows else None

    async def list_oadr3_objects(self, object_type: str, client_id: str | None = None) -> list[Oadr3Object]:
        if client_id is None:
            rows = await self.db.fetch(
                "SELECT * FROM oadr3_objects WHERE object_type=? ORDER BY created_at, id", (object_type,)
            )
        else:
            rows = await self.db.fetch(
                "SELECT * FROM oadr3_objects WHERE object_type=? AND client_id=? ORDER BY created_at, id",
                (object_type, client_id),
            )
        return [self._oadr3_object(r) for r in rows]

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
            ven = "o.id" if query.object_type == "VEN" else self.db.json_text("o.document", "venID")
            where.append(f"{ven} IN ({marks(query.ven_ids)})")
            params += query.ven_ids
        for name, value in query.equal:
            where.append(self.db.json_text("o.document", _field(name)) + "=?")
            params.append(value)
        for name, values in query.any_of:
            if values:
                where.append(self.db.json_list_any("o.document", LIST_PATHS[name], marks(values)))
                params += values
        rows = await self.db.fetch(
            f"SELECT * FROM oadr3_objects o WHERE {' AND '.join(where)} ORDER BY o.created_at, o.id"
            " LIMIT ? OFFSET ?",
            (*params, query.limit, query.skip),
        )
        return [self._oadr3_object(r) for r in rows]

    async def delete_oadr3_object(self, object_type: str, object_id: str) -> bool:
        changed = await self.db.execute(
            "DELETE FROM oadr3_objects WHERE object_type=? AND id=?", (object_type, object_id)
        )
        return changed == 1
