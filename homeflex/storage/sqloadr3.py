"""The OpenADR 3.1 part of the storage interface in shared SQL: OAuth2 clients and the 3.1 objects that
have no 2.0b table (VENs, resources, subscriptions, reports), kept as JSON documents."""

from __future__ import annotations

import json
from datetime import datetime

from homeflex.storage.records import Oadr3Client, Oadr3Object
from homeflex.storage.sqlbase import Row, SqlBase


class SqlOadr3(SqlBase):
    async def save_oadr3_client(self, client: Oadr3Client, at: datetime) -> None:
        await self._execute(
            "INSERT INTO oadr3_clients (client_id, secret_sha256, role, created_at) VALUES (?,?,?,?)"
            " ON CONFLICT (client_id) DO UPDATE SET secret_sha256=excluded.secret_sha256, role=excluded.role",
            (client.client_id, client.secret_sha256, client.role, self._time(at)),
        )

    async def get_oadr3_client(self, client_id: str) -> Oadr3Client | None:
        rows = await self._fetch("SELECT * FROM oadr3_clients WHERE client_id=?", (client_id,))
        if not rows:
            return None
        r = rows[0]
        return Oadr3Client(client_id=r["client_id"], secret_sha256=r["secret_sha256"], role=r["role"])

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

    async def delete_oadr3_object(self, object_type: str, object_id: str) -> bool:
        changed = await self._execute(
            "DELETE FROM oadr3_objects WHERE object_type=? AND id=?", (object_type, object_id)
        )
        return changed == 1
