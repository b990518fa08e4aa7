"""open_storage picks the backend from the URL; SQLite users never import asyncpg."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from homeflex.storage import PostgresStorage, SQLiteStorage, open_storage


async def test_sqlite_urls(tmp_path: Path) -> None:
    memory = await open_storage("sqlite://:memory:")
    on_disk = await open_storage(f"sqlite:///{tmp_path}/sub/h.db")
    try:
        assert isinstance(memory, SQLiteStorage) and isinstance(on_disk, SQLiteStorage)
        assert (tmp_path / "sub" / "h.db").exists()
    finally:
        await memory.close()
        await on_disk.close()


@pytest.mark.parametrize("url", ["postgresql://u@db:5433/flex", "postgres://u@db/flex"])
async def test_postgres_urls(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    async def fake_open(cls: type[PostgresStorage], dsn: str) -> str:
        seen.append(dsn)
        return "opened"

    monkeypatch.setattr(PostgresStorage, "open", classmethod(fake_open))
    opened: object = await open_storage(url)
    assert opened == "opened"
    assert seen == [url]


async def test_other_urls_list_the_valid_forms() -> None:
    for url in ("mysql://x", "sqlite:/rel.db", "", "postgresql:/x"):
        with pytest.raises(ValueError, match=r"unsupported database URL .*sqlite:///.*postgresql://"):
            await open_storage(url)


def test_importing_storage_does_not_import_asyncpg() -> None:
    code = "import sys, homeflex.storage; print('asyncpg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
