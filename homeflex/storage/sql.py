"""The shared SQL layer every repository runs on: one connection (or pool), the dialect's differences,
transactions, and how times and flags are stored. SQLiteDatabase and PostgresDatabase implement it.

Statements use `?` placeholders and the SQLite spelling `INSERT OR IGNORE`; a backend rewrites them for
its driver if it needs to (PostgreSQL turns them into `$n` and `ON CONFLICT DO NOTHING`). A unique key
refusing a row raises DuplicateKey on both backends; every other driver error passes unchanged.
Upsert batches are written in key order, so concurrent writers on a row-locking database cannot deadlock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeAlias

Row: TypeAlias = Any  # aiosqlite.Row or asyncpg.Record: both index by column name and by position
Column: TypeAlias = tuple[str, str]  # (name, PostgreSQL type): what a bulk insert writes


def to_ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def marks(values: Sequence[Any]) -> str:
    """One `?` per value, for an IN (...) list."""
    return ",".join("?" * len(values))


class Transaction(Protocol):
    """Statements inside one open transaction."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...


class Database(ABC):
    """One database, as every repository sees it; a backend supplies the dialect."""

    # Statement that makes concurrent event creations take turns, so two cannot both pass the overlap
    # check (None where the backend's write transaction already does: SQLite's BEGIN IMMEDIATE).
    event_creation_lock: str | None = None

    @abstractmethod
    async def close(self) -> None:
        """Release the connection (or pool)."""

    @abstractmethod
    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied now."""

    @abstractmethod
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own implicit transaction; returns the rows changed."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write transaction: committed on exit, rolled back on any exception."""

    @abstractmethod
    async def insert_rows(
        self, table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]], suffix: str = ""
    ) -> int:
        """Insert the rows, in the order given, in one transaction, each statement ending with `suffix`
        (e.g. an ON CONFLICT clause); returns how many rows were stored (new or changed)."""

    @abstractmethod
    async def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """For tests and diagnostics only: SQL and placeholders in the backend's own dialect."""

    @staticmethod
    @abstractmethod
    def time(value: datetime) -> Any:
        """A datetime as this backend stores it."""

    @staticmethod
    @abstractmethod
    def read_time(value: Any) -> datetime:
        """A stored time back to an aware UTC datetime."""

    @staticmethod
    @abstractmethod
    def flag(value: bool) -> Any:
        """A boolean as this backend stores it."""

    def opt_time(self, value: Any) -> datetime | None:
        return self.read_time(value) if value else None

    # The dialect's JSON (in a TEXT column): a document's string field, and "a list in it holds any of
    # `marks`" (the list found by a path of keys, each level a list).
    @abstractmethod
    def json_text(self, column: str, field: str) -> str: ...

    @abstractmethod
    def json_list_any(self, column: str, path: tuple[str, ...], marks: str) -> str: ...


class SqlRepository:
    """A repository: one context's tables, in the shared SQL above."""

    def __init__(self, db: Database) -> None:
        self.db = db
