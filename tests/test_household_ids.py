"""Household ids are checked once, where they enter (operator API, portal, CLI), against one pattern in
homeflex.core.domain: an MQTT wildcard, a topic separator, NUL or a 5,000-character id is refused with the
reason, so it can never reach the broker's ACL or `homeflex mqtt-access`."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from homeflex.cli import main
from homeflex.core.clock import ManualClock
from homeflex.core.domain import Category, household_id_problem
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.service import VtnService

BAD = ["hh+", "hh#", "a/b", "hh\x00", "x" * 5000, "", "HH1", "-hh", "hh 1", "hh.1", "svc-telemetry", "é"]
GOOD = ["hh001", "hh-0a1b2c3d4e", "0", "a_b-c", "h" * 32]


@pytest.mark.parametrize("household_id", GOOD)
def test_plain_short_lowercase_ids_are_accepted(household_id: str) -> None:
    assert household_id_problem(household_id) is None


@pytest.mark.parametrize("household_id", BAD)
def test_wildcards_separators_nul_long_and_reserved_ids_are_refused(household_id: str) -> None:
    problem = household_id_problem(household_id)
    assert problem is not None and "household id" in problem
    assert len(problem) < 200  # a 5,000-character id is not echoed back whole


async def no_settle(event_id: str) -> list[Any]:
    return []


@pytest.fixture
async def api(storage: SQLiteStorage) -> AsyncIterator[aiohttp.ClientSession]:
    async with (
        VtnService(storage, ManualClock(datetime(2026, 11, 25, tzinfo=UTC)), no_settle, port=0) as vtn,
        aiohttp.ClientSession(base_url=vtn.url) as http,
    ):
        yield http


@pytest.mark.parametrize("household_id", [b for b in BAD if b])
async def test_the_operator_api_refuses_a_bad_id_at_enrolment(
    api: aiohttp.ClientSession, storage: SQLiteStorage, household_id: str
) -> None:
    path = "/api/households/" + quote(household_id, safe="")
    async with api.put(path, json={"group": "g", "category": "B"}) as r:
        assert r.status == 400, await r.text()
        assert "household id" in (await r.json())["error"]
    assert await storage.list_households() == []
    async with api.put("/api/households/hh001", json={"group": "g", "category": "B"}) as r:
        assert r.status == 200


@pytest.mark.parametrize("ids", ["hh001,hh+", "hh#", "a/b", "x" * 5000])
def test_the_cli_refuses_a_bad_id_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ids: str
) -> None:
    for argv in (
        ["mqtt-access", "--out", str(tmp_path / "out"), "--ids", ids],
        ["statement", "--household", "hh/x", "--month", "2026-11"],
    ):
        with pytest.raises(SystemExit) as refused:  # argparse's usage error
            main(argv)
        assert refused.value.code == 2
        assert "household id" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


async def test_mqtt_access_skips_a_bad_stored_id_instead_of_failing_for_everyone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ids stored before enrolment checked them (written straight to the store here)."""
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("needs mosquitto_passwd")
    db = tmp_path / "h.db"
    storage = await SQLiteStorage.open(db)
    try:
        for hh in ("hh001", "hh/+#", "hh002"):
            record = HouseholdRecord(id=hh, group="g", category=Category.B)
            await storage.upsert_household(record, datetime(2026, 11, 25, tzinfo=UTC))
    finally:
        await storage.close()
    monkeypatch.setenv("HOMEFLEX_DATABASE_URL", f"sqlite:///{db}")
    out = tmp_path / "access"
    assert await _run_main(["mqtt-access", "--out", str(out)]) == 0
    assert "skipped" in capsys.readouterr().err
    passwords = json.loads((out / "credentials.json").read_text())
    assert {"hh001", "hh002"} <= set(passwords) and "hh/+#" not in passwords


async def _run_main(argv: list[str]) -> int:
    """main() runs its own event loop: call it from a thread so this test's loop is not nested."""
    import asyncio

    return await asyncio.to_thread(main, argv)
