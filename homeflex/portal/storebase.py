"""What the portal's stores share: the storage's SQL primitives, time conversion, and the errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeflex.portal.journey import Role
from homeflex.storage import Storage
from homeflex.storage.sqlbase import SqlBase


class TokenError(ValueError):
    """A link that cannot be used: unknown, already used or expired (the message says which)."""


@dataclass(frozen=True, kw_only=True)
class Account:
    email: str
    role: Role
    household_id: str | None
    password_hash: str


def _duplicate(err: Exception) -> bool:
    """A unique key refused the row (sqlite3.IntegrityError or asyncpg's UniqueViolationError)."""
    return type(err).__name__ in ("IntegrityError", "UniqueViolationError")


class StoreBase:
    """Runs on the storage's own connection primitives (the pattern of storage/sqlprofile.py), so the
    portal shares the platform's database and transactions without widening the Storage protocol."""

    def __init__(self, storage: Storage) -> None:
        if not isinstance(storage, SqlBase):
            raise TypeError("the portal needs one of homeflex.storage's SQL backends")
        self.storage = storage
        self._db: SqlBase = storage

    # -- helpers ----------------------------------------------------------------------------------

    def _t(self, value: datetime) -> Any:
        return self._db._time(value)

    def _rt(self, value: Any) -> datetime:
        return self._db._read_time(value)
