"""Storage: one small repository protocol per context (households, events, deliveries, reports,
readings, settlement, programmes, profiles, configurations, OpenADR 3.1, aggregators, the portal's
tables) over one shared SQL layer (sql.py), with two backends: SQLite (default, embedded) and PostgreSQL.
`Storage` is all of them, for wiring."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from homeflex.core.redact import redact_url
from homeflex.storage.base import Storage
from homeflex.storage.errors import CorruptRecordError, DuplicateKey, OverlappingEventError

if TYPE_CHECKING:
    from homeflex.storage.postgres import PostgresStorage
    from homeflex.storage.sqlite import SQLiteStorage

__all__ = [
    "CorruptRecordError",
    "DuplicateKey",
    "OverlappingEventError",
    "PostgresStorage",
    "SQLiteStorage",
    "Storage",
    "open_storage",
]

# The backends load their database drivers on first use: a pure module that only reads a record
# (homeflex.storage.records) must not pull in sqlite3, aiosqlite and asyncpg with the package.
_BACKENDS = {"SQLiteStorage": "homeflex.storage.sqlite", "PostgresStorage": "homeflex.storage.postgres"}


def __getattr__(name: str) -> Any:
    if name in _BACKENDS:
        return getattr(importlib.import_module(_BACKENDS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


URL_FORMS = ("sqlite:///path/to/file.db", "sqlite://:memory:", "postgresql://user@host:port/db")


async def open_storage(url: str) -> Storage:
    """Open the backend a database URL names. postgres:// is accepted as postgresql://."""
    from homeflex.storage.postgres import PostgresStorage
    from homeflex.storage.sqlite import SQLiteStorage

    if url == "sqlite://:memory:":
        return await SQLiteStorage.open(":memory:")
    if url.startswith("sqlite:///"):
        return await SQLiteStorage.open(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresStorage.open(url)
    raise ValueError(f"unsupported database URL {redact_url(url)!r}: use one of {', '.join(URL_FORMS)}")
