"""The PostgreSQL backend: an asyncpg pool behind the same Database as SQLite.

Times the records carry as datetimes are timestamptz; epoch-ms columns stay BIGINT; money stays decimal
text, so the string stored is the string read back. NaN floats are written as NULL, as SQLite does.
asyncpg is imported when a PostgresStorage is opened, so SQLite users never load it.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from homeflex.storage.composite import SqlStorage
from homeflex.storage.errors import DuplicateKey
from homeflex.storage.migrate import load_migrations
from homeflex.storage.sql import Column, Database

if TYPE_CHECKING:
    import asyncpg

SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """Shared SQL to PostgreSQL: `?` to `$1..$n` (outside string literals), and a leading
    `INSERT OR IGNORE INTO` to `INSERT INTO ... ON CONFLICT DO NOTHING`."""
    out: list[str] = []
    count = 0
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        elif ch == "?" and not quoted:
            count += 1
            out.append(f"${count}")
            continue
        out.append(ch)
    text = "".join(out)
    if text.startswith("INSERT OR IGNORE INTO "):
        text = "INSERT INTO " + text.removeprefix("INSERT OR IGNORE INTO ") + " ON CONFLICT DO NOTHING"
    return text


def pg_params(params: Sequence[Any]) -> list[Any]:
    """SQLite stores a NaN float as NULL; do the same, so both backends keep the same values."""
    return [None if isinstance(v, float) and math.isnan(v) else v for v in params]


def rowcount(status: str) -> int:
    """Rows changed, from a command status such as 'UPDATE 1' or 'INSERT 0 3'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE for a unique key's refusal


@contextmanager
def _translated() -> Iterator[None]:
    """A unique key's refusal as DuplicateKey; any other error unchanged. (asyncpg is imported only
    when a pool is opened, so the error is recognised by its SQLSTATE.)"""
    try:
        yield
    except Exception as err:
        if getattr(err, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
        constraint = getattr(err, "constraint_name", None)
        raise DuplicateKey(f"a row with that key is stored already ({err})", constraint) from err


class _PostgresTransaction:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with _translated():
            await self._conn.execute(pg_sql(sql), *pg_params(params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with _translated():
                await self._conn.executemany(pg_sql(sql), [pg_params(r) for r in rows])

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        with _translated():
            return await self._conn.fetch(pg_sql(sql), *pg_params(params))


class PostgresDatabase(Database):
    """Open with `await PostgresDatabase.open("postgresql://user@host:5432/db")`.

    With `schema=`, every table lives in that schema (created if missing) and each pooled connection
    searches only it: tests give each case its own schema and `drop_schema()` it afterwards."""

    # Transaction-scoped, so it is released at commit or rollback; per schema, as tests share a server.
    event_creation_lock = (
        "SELECT pg_advisory_xact_lock(hashtext('homeflex.create_event:' || current_schema()))"
    )

    def json_text(self, column: str, field: str) -> str:
        return f"({column}::jsonb ->> '{field}')"

    def json_list_any(self, column: str, path: tuple[str, ...], marks: str) -> str:
        # Lax jsonpath: a missing member yields nothing, a null one a null (which matches nothing).
        jsonpath = "$." + ".".join(f"{key}[*]" for key in path)
        return (
            f"EXISTS (SELECT 1 FROM jsonb_path_query({column}::jsonb, '{jsonpath}') j"
            f" WHERE j #>> '{{}}' IN ({marks}))"
        )

    def __init__(self, pool: asyncpg.Pool, schema: str | None = None) -> None:
        self._pool = pool
        self.schema = schema

    @classmethod
    async def open(
        cls, url: str, *, schema: str | None = None, min_size: int = 1, max_size: int = 10
    ) -> PostgresDatabase:
        import asyncpg

        if schema is not None and not SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"schema {schema!r} must be a lower-case SQL name ({SCHEMA_NAME.pattern})")
        # A server setting, not a SET in the pool's init: the pool runs RESET ALL whenever a connection
        # goes back, which keeps startup settings but would drop a SET.
        settings = {"search_path": schema} if schema else {}
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, server_settings=settings)
        storage = cls(pool, schema)
        try:
            await storage.migrate()
        except BaseException:
            await pool.close()
            raise
        return storage

    async def close(self) -> None:
        await self._pool.close()

    async def drop_schema(self) -> None:
        """Drop this storage's schema and everything in it (test teardown); the pool stays open."""
        if self.schema is None:
            raise RuntimeError("drop_schema() needs a storage opened with schema=...")
        await self._pool.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    async def migrate(self) -> list[int]:
        """Apply pending migrations, each atomically with its schema_migrations row; returns the versions
        applied now. An advisory lock makes processes starting together take turns."""
        lock = f"homeflex.migrate:{self.schema or '(default)'}"
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock)
            try:
                return await self._apply_pending(conn)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)

    async def _apply_pending(self, conn: asyncpg.Connection) -> list[int]:
        if self.schema:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for m in load_migrations("postgres"):
            if m.version in done:
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name
                )
            applied.append(m.version)
        return applied

    # -- the primitives the repositories build on ---------------------------------------------------

    @staticmethod
    def time(value: datetime) -> datetime:
        return value.astimezone(UTC)

    @staticmethod
    def read_time(value: Any) -> datetime:
        return value.astimezone(UTC)

    @staticmethod
    def flag(value: bool) -> bool:
        return value

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        with _translated():
            return await self._pool.fetch(pg_sql(sql), *pg_params(params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with _translated():
            return rowcount(await self._pool.execute(pg_sql(sql), *pg_params(params)))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTransaction]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PostgresTransaction(conn)

    async def insert_rows(
        self, table: str, columns: Sequence[Column], rows: Sequence[Sequence[Any]], suffix: str = ""
    ) -> int:
        if not rows:
            return 0
        # One statement, so one transaction, from one array per column; rows go in the order given (a
        # caller that sorted them by key makes concurrent batches lock rows in the same order).
        names = ", ".join(name for name, _ in columns)
        aliases = [f"c{i}" for i in range(len(columns))]
        arrays = ", ".join(f"${i + 1}::{kind}[]" for i, (_, kind) in enumerate(columns))
        with _translated():
            status = await self._pool.execute(
                f"INSERT INTO {table} ({names}) SELECT {', '.join(aliases)} FROM unnest({arrays})"
                f" WITH ORDINALITY AS u ({', '.join(aliases)}, n) ORDER BY n{suffix}",
                *(list(column) for column in zip(*rows, strict=True)),
            )
        return rowcount(status)

    async def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        """For tests and diagnostics only: PostgreSQL SQL with $1.. placeholders."""
        return await self._pool.fetch(sql, *params)


class PostgresStorage(SqlStorage):
    """Every repository on one PostgreSQL database (or one schema of it):
    `await PostgresStorage.open(url, schema=...)`, with PostgresDatabase.open's arguments."""

    db: PostgresDatabase

    @classmethod
    async def open(
        cls, url: str, *, schema: str | None = None, min_size: int = 1, max_size: int = 10
    ) -> PostgresStorage:
        return cls(await PostgresDatabase.open(url, schema=schema, min_size=min_size, max_size=max_size))

    @property
    def schema(self) -> str | None:
        return self.db.schema

    async def drop_schema(self) -> None:
        """Drop this storage's schema and everything in it (test teardown); the pool stays open."""
        await self.db.drop_schema()
