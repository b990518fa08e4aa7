"""The `backend` fixture: each storage test runs against a fresh SQLite file and a fresh PostgreSQL
schema (skipped, with the reason, where no server answers)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import pytest

from homeflex.storage import PostgresStorage, SQLiteStorage, Storage

POSTGRES_URL = os.environ.get("HOMEFLEX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

Reopen = Callable[[Storage], Awaitable[Storage]]


def postgres_unreachable() -> str | None:
    """Why the test server cannot be used, or None when it answers."""
    parts = urlsplit(POSTGRES_URL)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    try:
        with socket.create_connection((host, port), timeout=1):
            return None
    except OSError as err:
        return f"PostgreSQL not reachable at {host}:{port} ({err}); set HOMEFLEX_TEST_POSTGRES_URL"


def new_schema() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


async def open_postgres(schema: str) -> PostgresStorage:
    why = postgres_unreachable()
    if why and os.environ.get("HOMEFLEX_REQUIRE_SERVICES") == "1":
        pytest.fail(f"HOMEFLEX_REQUIRE_SERVICES=1 but {why}")  # CI must not skip silently
    if why:
        pytest.skip(why)
    return await PostgresStorage.open(POSTGRES_URL, schema=schema)


@pytest.fixture
async def reopen() -> AsyncIterator[Reopen]:
    """Opens another handle on the same database (file or schema), as a second process would."""
    opened: list[Storage] = []

    async def again(storage: Storage) -> Storage:
        other: Storage
        if isinstance(storage, SQLiteStorage):
            other = await SQLiteStorage.open(storage.path)
        else:
            assert isinstance(storage, PostgresStorage)
            other = await PostgresStorage.open(POSTGRES_URL, schema=storage.schema)
        opened.append(other)
        return other

    yield again
    for other in opened:
        await other.close()
