"""`homeflex vtn` without TLS or without an API token starts only as an explicit choice, announced with a
warning: otherwise an attacker who reaches it registers as another household (a real openleadr client
here), since OpenADR 2.0b without TLS believes any venName and venID."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openleadr import OpenADRClient

from homeflex.mqtt.broker import free_port, wait_for_port
from homeflex.settings import Settings, load_settings
from homeflex.storage import SQLiteStorage
from homeflex.vtn.posture import InsecureSettings, posture
from tests.reliability.helpers import Service, enrol


async def _impersonate(port: int, household: str) -> str | None:
    """A VEN that is not the household's, registering under its name; its registration id, if any."""
    url = f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b"
    attacker = OpenADRClient(ven_name=household, vtn_url=url, show_fingerprint=False)
    try:
        await attacker.create_party_registration(ven_id=attacker.ven_id)
        return attacker.registration_id  # type: ignore[no-any-return]
    finally:
        await attacker.client_session.close()


async def test_without_tls_and_without_the_choice_the_vtn_does_not_serve(tmp_path: Path) -> None:
    db, port = tmp_path / "vtn.db", free_port()
    storage = await SQLiteStorage.open(db)
    await enrol(storage, "hh1")
    await storage.close()
    env = {"HOMEFLEX_DATABASE_URL": f"sqlite:///{db}", "HOMEFLEX_VTN_PORT": str(port)}
    refused = Service("vtn", env, tmp_path / "refused.log")
    refused.start()
    assert refused.proc is not None
    try:
        assert refused.proc.wait(30) == 2  # the process ends on its own at once
    finally:
        refused.stop()
    said = (tmp_path / "refused.log").read_text()
    assert "refusing to start" in said and "allow_insecure_openadr" in said and "vtn_tls_cert" in said
    assert "allow_open_api" in said and "api_token" in said
    assert await _impersonate(port, "hh1") is None  # nothing listens

    chosen = Service(
        "vtn",
        {**env, "HOMEFLEX_ALLOW_INSECURE_OPENADR": "1", "HOMEFLEX_API_TOKEN": "t0ken"},
        tmp_path / "chosen.log",
    )
    chosen.start()
    try:
        await wait_for_port(port, 30)
        said = (tmp_path / "chosen.log").read_text()
        assert "explicitly allowed: OpenADR 2.0b without TLS" in said
        assert "operator API without api_token" not in said
        # What the choice means: anyone may now act as hh1.
        assert await _impersonate(port, "hh1")
    finally:
        chosen.stop()


def test_each_missing_protection_needs_its_own_choice(tmp_path: Path) -> None:
    env = {"HOMEFLEX_DATABASE_URL": f"sqlite:///{tmp_path / 'vtn.db'}", "HOMEFLEX_API_TOKEN": "t0ken"}
    done = subprocess.run(
        [sys.executable, "-m", "homeflex", "vtn"],
        env={**os.environ, **env, "HOMEFLEX_VTN_PORT": str(free_port())},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # before the fix it served on
        check=False,
    )
    assert done.returncode == 2
    assert "HOMEFLEX_ALLOW_INSECURE_OPENADR" in done.stderr and "api_token" not in done.stderr
    assert not (tmp_path / "vtn.db").exists()  # refused before anything was opened
    with pytest.raises(InsecureSettings, match="allow_open_api"):
        posture(Settings(allow_insecure_openadr=True))
    allowed = posture(Settings(allow_insecure_openadr=True, allow_open_api=True))
    assert allowed.tls is None and allowed.api_token is None and len(allowed.warnings) == 2
    with pytest.raises(ValueError, match="together"):
        posture(Settings(vtn_tls_cert="vtn.crt", allow_open_api=True))


def test_the_choices_come_from_the_environment() -> None:
    env = {"HOMEFLEX_ALLOW_INSECURE_OPENADR": "1", "HOMEFLEX_ALLOW_OPEN_API": "true"}
    settings = load_settings(env=env)
    assert (settings.allow_insecure_openadr, settings.allow_open_api) == (True, True)
    assert (Settings().allow_insecure_openadr, Settings().allow_open_api) == (False, False)
