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
    # 00:30-01:00 is missing, a single interval: 01:00-01:30 still gets its start reading, the register
    # starting a new run (importer docs), so both intervals are measurable and the gap is not
    assert "2 intervals -> 4 new readings; 0 duplicate rows; 1 rejected" in out
    assert "line 3: impossible_value" in out
    assert main(["import-readings", "--household", "nobody", str(data)]) == 2


# -- homeflex profile ------------------------------------------------------------------------------


def _database_with_readings(tmp_path: Path, days: int) -> str:
    """A SQLite file with hh1 (`days` days of 1 kWh per half-hour from 2 Nov 2026) and hh2 (nothing)."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from homeflex.core.domain import Category, MeterReading
    from homeflex.storage import SQLiteStorage
    from homeflex.storage.records import HouseholdRecord

    start = datetime(2026, 11, 2, tzinfo=UTC)
    db = tmp_path / "h.db"

    async def fill() -> None:
        readings = [
            MeterReading(
                household_id="hh1",
                ts=start + timedelta(minutes=30 * n),
                import_wh=1000.0 * n,
                export_wh=0.0,
                power_w=2000.0,
            )
            for n in range(days * 48 + 1)
        ]
        s = await SQLiteStorage.open(db)
        try:
            for hid in ("hh1", "hh2"):
                await s.upsert_household(HouseholdRecord(id=hid, group="g", category=Category.C), start)
            await s.insert_readings(readings, start)
        finally:
            await s.close()

    asyncio.run(fill())
    return f"sqlite:///{db}"


def test_profile_learn_then_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOMEFLEX_DATABASE_URL", _database_with_readings(tmp_path, 15))
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "show", "hh1"]) == 1
    assert "household 'hh1' has no learned profile yet" in capsys.readouterr().err

    assert main(["profile", "learn", "--household", "hh1", "--as-of", "2026-11-05T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hh1 v1 (new): not ready: 3 of 14 days observed; 3 of 5 weekdays observed; ")
    assert main(["profile", "learn", "--as-of", "2026-11-17T00:00:00Z"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "hh1 v2 (new): ready",
        "hh2 v1 (new): not ready: no readings; 0 of 14 days observed",
    ]
    assert main(["profile", "learn", "--household", "hh1", "--as-of", "2026-11-17T00:00:00Z"]) == 0
    assert capsys.readouterr().out.startswith("hh1 v2 (unchanged since 20")

    assert main(["profile", "show", "hh1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("hh1 profile v2, learned 20")
    assert lines[0].endswith(" from data before 2026-11-17T00:00:00Z")
    assert lines[1:6] == [
        "READY for stage 2",
        "  - 15 of 14 days observed",
        "  - coverage 100 % >= 80 %",
        "  - 11 of 5 weekdays observed",
        "  - 4 of 2 weekend or bank-holiday days observed",
    ]
    assert lines[6:] == [
        "  coverage: 15 days observed, 720 of 720 half-hours measured (100 %)",
        "  weekday base load: 11 days, 48.0 kWh/day, peak 23:30-00:00 local (1.00 kWh)",
        "  weekend base load: 4 days, 48.0 kWh/day, peak 23:30-00:00 local (1.00 kWh)",
        "  devices: none learned",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["profile", "show", "nobody"], "homeflex profile: unknown household 'nobody'"),
        (["profile", "learn", "--household", "nobody"], "homeflex profile: unknown household 'nobody'"),
        (["profile", "learn", "--as-of", "2026-11-17"], "--as-of: time '2026-11-17' has no UTC offset"),
        (["profile", "learn", "--as-of", "soon"], "--as-of: Invalid isoformat string: 'soon'"),
    ],
)
def test_profile_errors_exit_2(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOMEFLEX_DATABASE_URL", _database_with_readings(tmp_path, 1))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_profile_show_of_a_corrupt_version_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from homeflex.storage import open_storage

    url = _database_with_readings(tmp_path, 1)

    async def corrupt() -> None:
        s = await open_storage(url)
        try:
            await s.execute_raw(
                "INSERT INTO profiles VALUES ('hh1', 1, '2026-11-03T00:00:00.000000Z',"
                " '2026-11-03T00:00:00.000000Z', 0, '[]', '{\"schema\": 1')"
            )
        finally:
            await s.close()

    asyncio.run(corrupt())
    monkeypatch.setenv("HOMEFLEX_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert main(["profile", "show", "hh1"]) == 2
    err = capsys.readouterr().err
    assert "homeflex profile: stored profile of household 'hh1' version 1 is corrupt:" in err
    assert "its profile is not valid JSON" in err
    assert main(["profile", "learn", "--as-of", "2026-11-03T00:00:00Z"]) == 1  # hh2 is still learned
    out = capsys.readouterr().out
    assert "hh2 v1 (new): not ready" in out
    assert "hh1: FAILED: stored profile of household 'hh1' version 1 is corrupt" in out


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("true", True), ("No", False), ("off", False)])
def test_realistic_is_a_switch_from_the_environment(raw: str, value: bool) -> None:
    assert load_settings(env={"HOMEFLEX_REALISTIC": raw}).realistic is value


def test_a_switch_that_is_neither_true_nor_false_is_refused() -> None:
    with pytest.raises(ValueError, match="is not true or false"):
        load_settings(env={"HOMEFLEX_REALISTIC": "maybe"})
