"""What only the PostgreSQL backend has: SQL translation, schemas per test, the migration lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from homeflex.storage import PostgresStorage, SQLiteStorage, postgres
from homeflex.storage.migrate import Migration, load_migrations
from homeflex.storage.postgres import PostgresDatabase, pg_params, pg_sql, rowcount
from tests.storage.conftest import POSTGRES_URL, new_schema, open_postgres

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("shared", "native"),
    [
        ("SELECT * FROM t WHERE a=? AND b=?", "SELECT * FROM t WHERE a=$1 AND b=$2"),
        ("UPDATE t SET s='?x' WHERE id=?", "UPDATE t SET s='?x' WHERE id=$1"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"),
        ("INSERT OR IGNORE INTO t (a) VALUES (?)", "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"),
        ("SELECT 1", "SELECT 1"),
    ],
)
def test_shared_sql_becomes_postgres_sql(shared: str, native: str) -> None:
    assert pg_sql(shared) == native


def test_params_and_command_status() -> None:
    assert pg_params([1.5, float("nan"), "x", None, b"\x00"]) == [1.5, None, "x", None, b"\x00"]
    assert [rowcount(s) for s in ("UPDATE 1", "INSERT 0 3", "DELETE 0", "CREATE TABLE")] == [1, 3, 0, 0]


async def test_schema_names_are_checked_before_connecting() -> None:
    for bad in ("Upper", "has-dash", 'x"; DROP SCHEMA public; --', "1abc", "a" * 64):
        with pytest.raises(ValueError, match="lower-case SQL name"):
            await PostgresStorage.open("postgresql://nobody@127.0.0.1:1/none", schema=bad)


@pytest.fixture
async def pg() -> AsyncIterator[PostgresStorage]:
    storage = await open_postgres(new_schema())
    yield storage
    await storage.drop_schema()
    await storage.close()


async def test_the_schema_matches_sqlite_table_for_table(pg: PostgresStorage, tmp_path: Path) -> None:
    lite = await SQLiteStorage.open(tmp_path / "h.db")
    try:
        names = await lite.execute_raw(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite%' ORDER BY name"
        )
        expected = {n[0]: [c[1] for c in await lite.execute_raw(f"PRAGMA table_info({n[0]})")] for n in names}
    finally:
        await lite.close()
    rows = await pg.execute_raw(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1"
        " ORDER BY table_name, ordinal_position",
        [pg.schema],
    )
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    assert found == expected


async def test_the_search_path_survives_connection_reuse(pg: PostgresStorage) -> None:
    # The pool resets a connection (RESET ALL) each time it goes back; the search path must stay.
    single = await PostgresStorage.open(POSTGRES_URL, schema=pg.schema, max_size=1)
    try:
        for _ in range(5):
            assert await single.count_vens() == 0
            assert await single.insert_readings([], T0) == 0
    finally:
        await single.close()


async def test_truncate_is_refused_too(pg: PostgresStorage) -> None:
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="append-only"):
        await pg.execute_raw("TRUNCATE ledger")


async def test_processes_starting_together_migrate_once() -> None:
    schema = new_schema()
    first = await open_postgres(schema)  # only to skip cleanly without a server
    await first.drop_schema()
    opened = await asyncio.gather(*(PostgresStorage.open(POSTGRES_URL, schema=schema) for _ in range(6)))
    try:
        rows = await opened[0].execute_raw("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == [m.version for m in load_migrations("postgres")]
    finally:
        await opened[0].drop_schema()
        for storage in [first, *opened]:
            await storage.close()


async def test_a_failing_migration_leaves_nothing_behind(
    pg: PostgresStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied = len(load_migrations("postgres"))
    broken = Migration(applied + 1, "broken", "CREATE TABLE half_done (x INT);\nSELECT no_such_function();")
    monkeypatch.setattr(postgres, "load_migrations", lambda dialect: [*load_migrations(dialect), broken])
    with pytest.raises(asyncpg.UndefinedFunctionError):
        await pg.migrate()
    rows = await pg.execute_raw(
        "SELECT max(version), to_regclass('half_done') IS NULL FROM schema_migrations"
    )
    assert tuple(rows[0]) == (applied, True)


async def test_drop_schema_needs_a_schema() -> None:
    storage = PostgresStorage(PostgresDatabase(pool=None, schema=None))  # never used: the check comes first
    with pytest.raises(RuntimeError, match="schema="):
        await storage.drop_schema()
