"""An independent 3.1 VEN (`openadr3-client` from PyPI, Python 3.12, in its own venv under .cache/)
against our VTN on loopback: OAuth2 discovery and token, VEN registration, MQTT notification of an event
created through the operator API, GET /events, and a report that lands where 2.0b reports land.

The project stays on Python 3.11; this test builds .cache/oadr3-client-py312 once (pip from PyPI) with the
first Python 3.12 it finds (HOMEFLEX_PYTHON312, python3.12 on PATH, or pyenv's), and skips without one
(fails under HOMEFLEX_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from homeflex.core.timeutil import iso
from tests.vtn.oadr3.conftest import NOW, Vtn

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / ".cache" / "oadr3-client-py312"
CLIENT = "openadr3-client[mqtt]==2.4.2"
SCRIPT = Path(__file__).with_name("client_ven.py")


def _python312() -> str | None:
    candidates = [os.environ.get("HOMEFLEX_PYTHON312"), shutil.which("python3.12")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    for candidate in candidates:
        if (
            candidate
            and subprocess.run([candidate, "--version"], capture_output=True, check=False).returncode == 0
        ):
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("HOMEFLEX_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def client_python() -> str:
    """The venv's Python with openadr3-client installed (built once, then reused)."""
    python = VENV / "bin" / "python"
    marker = VENV / f".installed-{CLIENT}"
    if not marker.exists():
        base = _python312()
        if base is None:
            _unavailable("no Python 3.12 for the openadr3-client VEN")
        assert base is not None
        subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", CLIENT], capture_output=True, text=True, check=False
        )
        if pip.returncode != 0:
            _unavailable(f"cannot install {CLIENT}: {pip.stderr[-500:]}")
        marker.touch()
    return str(python)


async def _line(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    raw = await asyncio.wait_for(proc.stdout.readline(), 90)
    if not raw:
        assert proc.stderr is not None
        err = (await proc.stderr.read()).decode()
        raise AssertionError(f"the openadr3-client VEN stopped: {err[-3000:]}")
    return dict(json.loads(raw))


async def test_openadr3_client_ven_is_notified_reads_events_and_reports(vtn: Vtn, client_python: str) -> None:
    base_url = f"{vtn.service.url}/openadr3"
    env = {**os.environ, "OAUTHLIB_INSECURE_TRANSPORT": "1"}  # plain HTTP on loopback, tests only
    proc = await asyncio.create_subprocess_exec(
        client_python,
        str(SCRIPT),
        base_url,
        "ven-hh1",
        vtn.secrets["ven-hh1"],
        "hh1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        ready = await _line(proc)
        assert (ready["ven_id"], ready["client_id"]) == ("hh1", "ven-hh1")
        assert ready["topic"] == f"{vtn.topic_prefix}events/vens/hh1/create"
        body = {
            "targets": ["hh1", "hh2"],
            "start": iso(NOW + timedelta(hours=2)),
            "duration_minutes": 30,
            "reduction_kw": 2,
            "price_gbp_per_mwh": 1812,
        }
        async with vtn.http.post("/api/events", json=body) as r:
            assert r.status == 201
            event_id = (await r.json())["event_id"]
        notified = await _line(proc)
        assert notified == {"notified": event_id, "operation": "CREATE", "targets": ["hh1"]}
        events = (await _line(proc))["events"]
        assert events == [
            {
                "id": event_id,
                "program": "default",
                "targets": ["hh1"],
                "payloads": {"DISPATCH_SETPOINT_RELATIVE": [-2.0], "PRICE": [1.812]},
            }
        ]
        report = await _line(proc)
        assert report["client_id"] == "ven-hh1"
        assert await vtn.storage.ven_reports("ven-hh1") == [("meter/USAGE", NOW + timedelta(hours=2), 0.75)]
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
