"""Settings from file and environment, and the command line's clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeflex.cli import main
from homeflex.settings import load_settings


def test_environment_overrides_file_and_types_are_converted(tmp_path: Path) -> None:
    config = tmp_path / "homeflex.toml"
    config.write_text('vtn_port = 9000\nlog_level = "DEBUG"\n')
    settings = load_settings(config, env={"HOMEFLEX_VTN_PORT": "9100", "HOMEFLEX_SPEED": "30"})
    assert settings.vtn_port == 9100
    assert settings.speed == 30.0
    assert settings.log_level == "DEBUG"


def test_unknown_setting_in_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "homeflex.toml"
    config.write_text("colour = 'red'\n")
    with pytest.raises(ValueError, match=r"unknown settings.*colour"):
        load_settings(config, env={})


def test_bad_number_is_an_error() -> None:
    with pytest.raises(ValueError, match="vtn_port"):
        load_settings(None, env={"HOMEFLEX_VTN_PORT": "eighty"})


def test_settle_unknown_event_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOMEFLEX_DATABASE_URL", f"sqlite:///{tmp_path / 'h.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["settle", "ev-nope"]) == 2
    assert "no event 'ev-nope'" in capsys.readouterr().err


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "none.toml"), "settle", "x"]) == 2
    assert "not found" in capsys.readouterr().err


def test_import_readings_stores_good_rows_and_reports_bad_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    from datetime import UTC, datetime

    from homeflex.core.domain import Category
    from homeflex.storage import SQLiteStorage
    from homeflex.storage.records import HouseholdRecord

    db = tmp_path / "h.db"

    async def enrol() -> None:
        s = await SQLiteStorage.open(db)
        await s.upsert_household(HouseholdRecord(id="hh1", group="g", category=Category.C), datetime.now(UTC))
        await s.close()

    asyncio.run(enrol())
    data = tmp_path / "export.csv"
    data.write_text("start,value\n2026-01-05 00:00:00,0.1\n2026-01-05 00:30:00,-1\n2026-01-05 01:00:00,0.2\n")
    monkeypatch.setenv("HOMEFLEX_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.chdir(tmp_path)
    assert main(["import-readings", "--household", "hh1", str(data)]) == 0
    out = capsys.readouterr().out
    # 00:30-01:00 is missing, a single interval: 01:00-01:30 has no trustworthy start (importer docs)
    assert "2 intervals -> 3 new readings; 0 duplicate rows; 1 rejected" in out
    assert "line 3: impossible_value" in out
    assert main(["import-readings", "--household", "nobody", str(data)]) == 2
