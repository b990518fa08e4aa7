"""The SQLite backend (default, embedded): WAL, one connection per process, batched writes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from homeflex.core.timeutil import parse_utc
from homeflex.storage.composite import SqlStorage
from homeflex.storage.errors import DuplicateKey
from homeflex.storage.migrate import load_migrations
from homeflex.storage.sql import Column, Database

__all__ = ["SQLiteDatabase", "SQLiteStorage"]

_UNIQUE = (sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)


@contextmanager
def _translated() -> Iterator[None]:
    """A unique key's refusal as DuplicateKey; any other error unchanged."""
    try:
        yield
    except sqlite3.IntegrityError as err:
        if err.sqlite_errorcode not in _UNIQUE:
            raise
        constraint = str(err).partition("failed: ")[2] or None
        raise DuplicateKey(f"a row with that key is stored already ({err})", constraint) from err


class _SQLiteTransaction:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with _translated():
            await self._db.execute(sql, params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with _translated():
            await self._db.executemany(sql, rows)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        with _translated():
            return list(await self._db.execute_fetchall(sql, params))


class SQLiteDatabase(Database):
    """Open with `await SQLiteDatabase.open(path)`; ':memory:' works for tests.

    Times are stored as ISO 8601 text ('Z'), flags as 0/1."""

    def json_text(self, column: str, field: str) -> str:
        return f"json_extract({column}, '$.{field}')"

    def json_list_any(self, column: str, path: tuple[str, ...], marks: str) -> str:
        # json_each of a missing or null member yields no row, or a null one: neither matches.
        sources, value = [], column
        for level, key in enumerate(path):
            sources.append(f"json_each({value}, '$.{key}') j{level}")
            value = f"j{level}.value"
        return f"EXISTS (SELECT 1 FROM {', '.join(sources)} WHERE {value} IN ({marks}))"

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self._db = db
        self.path = path
        # One connection is shared by every task in the process: a statement from one task must not
        # land inside another task's open transaction.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> SQLiteDatabase:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA busy_timeout=10000")
        await _enable_wal(db)
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        storage = cls(db, path)
        await storage.migrate()
        return storage

    async def close(self) -> None:
        await self._db.close()

    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied now."""
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = []
        for m in load_migrations("sqlite"):
            if m.version in await self._applied_versions():
                continue
            try:
                # applied_at is the database's own time: bookkeeping, not domain time.
                await self._db.executescript(
                    f"BEGIN IMMEDIATE;\n{m.sql}\n"
                    f"INSERT INTO schema_migrations VALUES ({m.version}, '{m.name}', "
                    "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));\nCOMMIT;"
                )
            except sqlite3.Error:
                if self._db.in_transaction:
                    await self._db.execute("ROLLBACK")
                if m.version in await self._applied_versions():
                    continue  # another process starting on the same file applied it first
                raise
            applied.append(m.version)
        return applied

    async def _applied_versions(self) -> set[int]:
        return {row[0] for row in await self._db.execute_fetchall("SELECT version FROM schema_migrations")}

    # -- the primitives the repositories build on ---------------------------------------------------

    @staticmethod
    def time(value: datetime) -> str:
        # Fixed width, so that text order is time order (17:00:00.5Z must sort after 17:00:00Z).
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @staticmethod
    def read_time(value: Any) -> datetime:
        return parse_utc(value)

    @staticmethod
    def flag(value: bool) -> int:
        return int(value)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            with _translated():
                return list(await self._db.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own implicit transaction; returns the rows changed."""
        async with self._lock:
            with _translated():
                cursor = await self._db.execute(sql, params)
            return cursor.rowcount

    @asynccontextmanager
    async def transaction(self, mode: str = "IMMEDIATE") -> AsyncIterator[_SQLiteTransaction]:
        async with self._lock:
            await self._db.execute(f"BEGIN {mode}")
            try:
                yield _SQLiteTransaction(self._db)
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def insert_rows(
        self, table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]], suffix: str = ""
    ) -> int:
        names = ", ".join(name for name, _ in columns)
        sql = f"INSERT INTO {table} ({names}) VALUES ({','.join('?' * len(columns))}){suffix}"
        async with self.transaction() as tx:
            before = self._db.total_changes
            await tx.executemany(sql, rows)
            return self._db.total_changes - before

    async def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """For tests and diagnostics only: the driver's own errors, untranslated."""
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, params))


class SQLiteStorage(SqlStorage):
    """Every repository on one SQLite file: `await SQLiteStorage.open(path)`."""

    db: SQLiteDatabase

    @classmethod
    async def open(cls, path: str | Path) -> SQLiteStorage:
        return cls(await SQLiteDatabase.open(path))

    @property
    def path(self) -> str:
        return self.db.path


async def _enable_wal(db: aiosqlite.Connection, attempts: int = 100) -> None:
    """Switch to WAL. On a new file another connection may hold the lock this needs, and SQLite then
    answers SQLITE_BUSY at once, without its busy handler: retry for up to ~2 s."""
    for attempt in range(attempts):
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.02)
