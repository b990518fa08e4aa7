"""Fixtures shared by the fault tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.storage.conftest import POSTGRES_URL, new_schema, open_postgres


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL schema (migrated here; a service process finds it by
    search_path)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'homeflex.db'}"
        return
    schema = new_schema()
    pg = await open_postgres(schema)
    try:
        yield f"{POSTGRES_URL}?search_path={schema}"
    finally:
        await pg.drop_schema()
        await pg.close()
