"""What the portal's stores share: the storage's SQL primitives, time conversion, and the errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeflex.portal.journey import Role
from homeflex.storage import Storage
from homeflex.storage.composite import SqlStorage
from homeflex.storage.sql import Database, Row


class TokenError(ValueError):
    """A link that cannot be used: unknown, already used or expired (the message says which)."""


@dataclass(frozen=True, kw_only=True)
class Account:
    email: str
    role: Role
    household_id: str | None
    password_hash: str


class StoreBase:
    """Runs on the SQL backend's seam for outside stores (SqlBase.fetch, execute, transaction), so the
    portal shares the platform's database and transactions without widening the Storage protocol."""

    def __init__(self, storage: Storage) -> None:
        if not isinstance(storage, SqlStorage):
            raise TypeError("the portal needs one of homeflex.storage's SQL backends")
        self.storage = storage
        self._db: Database = storage.db

    # -- helpers ----------------------------------------------------------------------------------

    async def _rows(self, table: str, order_by: str, **where: str | None) -> list[Row]:
        """A portal table's rows in order; those whose columns equal the given values (None: any).
        Table and column names come from this package's code, never from a request."""
        wanted = {column: value for column, value in where.items() if value is not None}
        condition = " AND ".join(f"{column}=?" for column in wanted)
        sql = f"SELECT * FROM {table}" + (f" WHERE {condition}" if condition else "")
        return await self._db.fetch(f"{sql} ORDER BY {order_by}", tuple(wanted.values()))

    def _t(self, value: datetime) -> Any:
        return self._db.time(value)

    def _rt(self, value: Any) -> datetime:
        return self._db.read_time(value)
