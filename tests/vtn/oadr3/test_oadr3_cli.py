"""`homeflex oadr3-client` provisions a 3.1 client and prints its secret once; `homeflex vtn` mounts 3.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from homeflex.cli import main
from homeflex.storage import SQLiteStorage
from homeflex.vtn.oadr3.auth import hash_secret


def test_provision_prints_a_secret_that_only_its_hash_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("HOMEFLEX_DATABASE_URL", f"sqlite:///{db}")
    assert main(["oadr3-client", "--id", "ven-hh9", "--role", "ven"]) == 0
    secret = capsys.readouterr().out.strip()

    async def stored() -> tuple[str, str] | None:
        storage = await SQLiteStorage.open(db)
        try:
            client = await storage.get_oadr3_client("ven-hh9")
            return (client.secret_sha256, client.role) if client else None
        finally:
            await storage.close()

    assert asyncio.run(stored()) == (hash_secret(secret), "ven")
    assert main(["oadr3-client", "--id", "x" * 129, "--role", "bl"]) == 2
    assert "1 to 128 characters" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["oadr3-client", "--id", "y", "--role", "admin"])
