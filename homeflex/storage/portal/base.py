"""What the portal's repository parts share: the database, time conversion, and a filtered read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeflex.storage.sql import Database, Row


class StoreBase:
    """The portal's tables on the platform's Database, sharing its transactions."""

    def __init__(self, db: Database) -> None:
        self._db = db

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
