"""An independent 3.1 VEN (`openadr3-client` from PyPI, Python 3.12, in its own venv under .cache/)
against our VTN on loopback: OAuth2 discovery and token, VEN registration, MQTT notification of an event
created through the operator API, GET /events, and a report that lands where 2.0b reports land. And the
same package as the DSO's business logic: a program, then an event created, modified and deleted, each
step seen by a 3.1 VEN and by a real openleadr 2.0b VEN.

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from homeflex.core.clock import WallClock
from homeflex.core.domain import Category
from homeflex.core.timeutil import iso
from homeflex.mqtt.broker import free_port
from homeflex.mqtt.session import MqttSession
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.oadr3 import PREFIX, Oadr3Service, provision_client
from homeflex.vtn.service import VtnService
from tests.vtn.oadr3.conftest import NOW, Vtn, no_settle
from tests.vtn.oadr3.test_oadr3_with_20b import Ven20b, wait_until

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


@dataclass
class Steps:
    """The business logic's steps, each checked at the 3.1 VEN (hh2) and the 2.0b VEN (hh1)."""

    proc: asyncio.subprocess.Process
    storage: SQLiteStorage
    ven20: Ven20b
    got31: asyncio.Queue[dict[str, Any]]
    http: aiohttp.ClientSession
    ven_auth: dict[str, str]
    start: datetime
    event_id: str = ""

    async def next(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"next\n")
        await self.proc.stdin.drain()
        return await _line(self.proc)

    async def ven31_sees(self, operation: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The notification on the 3.1 VEN's topic, and what GET /events then lists for it."""
        note = await asyncio.wait_for(self.got31.get(), 15)
        assert note["operation"] == operation
        async with self.http.get(f"{PREFIX}/events", headers=self.ven_auth) as r:
            return note["object"], await r.json()

    async def answered(self, modification: int) -> bool:
        rows = await self.storage.event_targets(self.event_id)
        return [(t.household_id, t.acked_modification) for t in rows] == [
            ("hh1", modification),
            ("hh2", None),
        ]

    async def run(self) -> None:
        program = await _line(self.proc)
        assert program["descriptions"] == ["https://dso.example/evening-flex"]
        stored = await self.storage.get_oadr3_program(program["program"])
        assert stored is not None and stored.name == "evening-flex"
        await self.created()
        await self.modified()
        await self.deleted()

    async def created(self) -> None:
        self.event_id = (await self.next())["event"]
        note, listed = await self.ven31_sees("CREATE")
        assert note["eventName"] == "first" and [e["id"] for e in listed] == [self.event_id]
        await wait_until(lambda: self.answered(0))  # the 2.0b VEN polled, got it and answered
        signals = {s["signal_name"]: s for s in self.ven20.events[0]["event_signals"]}
        assert signals["LOAD_DISPATCH"]["intervals"][0]["signal_payload"] == 2.0

    async def modified(self) -> None:
        """Window and payload changed: the 2.0b VEN receives modification 1 and answers it again."""
        assert (await self.next())["name"] == "moved"
        note, listed = await self.ven31_sees("UPDATE")
        assert note["intervalPeriod"]["start"] == iso(self.start + timedelta(minutes=30))
        assert listed[0]["intervals"][0]["payloads"][0]["values"] == [-3.0]
        await wait_until(lambda: self.answered(1))
        update = self.ven20.updates[-1]
        assert update["event_descriptor"]["modification_number"] == 1
        signals = {s["signal_name"]: s for s in update["event_signals"]}
        assert signals["LOAD_DISPATCH"]["intervals"][0]["signal_payload"] == 3.0
        assert update["active_period"]["dtstart"] == self.start + timedelta(minutes=30)

    async def deleted(self) -> None:
        """Cancelled for 2.0b (modification 2), gone for 3.1."""
        assert (await self.next())["deleted"] == self.event_id
        assert (await self.ven31_sees("DELETE"))[1] == []

        async def cancelled() -> bool:
            last = self.ven20.updates[-1]["event_descriptor"] if self.ven20.updates else {}
            return bool(last) and (last["event_status"], last["modification_number"]) == ("cancelled", 2)

        await wait_until(cancelled)
        assert await asyncio.wait_for(self.proc.wait(), 30) == 0


async def test_openadr3_client_business_logic_drives_a_31_and_a_20b_ven(
    storage: SQLiteStorage, mqtt_url: str, uid: str, client_python: str
) -> None:
    """The DSO's business logic on openadr3-client creates a program, then creates, modifies and deletes
    an event; a 3.1 VEN (MQTT and GET /events) and a real openleadr 2.0b VEN see each step."""
    clock, port, prefix = WallClock(), free_port(), f"test-{uid}/OpenADR/3.1/"
    for hh in ("hh1", "hh2"):
        await storage.upsert_household(HouseholdRecord(id=hh, group="g", category=Category.B), clock.now())
    secrets = {c: await provision_client(storage, clock, c, r) for c, r in (("bl", "bl"), ("ven-hh2", "ven"))}
    oadr3 = Oadr3Service(storage, clock, mqtt_url=mqtt_url, topic_prefix=prefix, check_responses=True)
    ven20 = Ven20b("hh1", f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b")
    got31: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    session = MqttSession(mqtt_url, f"test-bl-{uid}")
    session.subscribe(f"{prefix}events/vens/hh2/+", lambda t, p: got31.put_nowait(json.loads(p)))
    start = (clock.now() + timedelta(hours=1)).replace(microsecond=0)
    async with (
        VtnService(storage, clock, no_settle, port=port, poll_interval=timedelta(seconds=0.5), oadr3=oadr3),
        aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http,
        session,
    ):
        form = {
            "grant_type": "client_credentials",
            "client_id": "ven-hh2",
            "client_secret": secrets["ven-hh2"],
        }
        async with http.post(f"{PREFIX}/auth/token", data=form) as r:
            ven_auth = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        async with http.post(
            f"{PREFIX}/vens", json={"objectType": "VEN_VEN_REQUEST", "venName": "hh2"}, headers=ven_auth
        ) as r:
            assert r.status == 201
        await ven20.client.run()
        proc = await asyncio.create_subprocess_exec(
            client_python,
            str(SCRIPT.with_name("client_bl.py")),
            f"http://127.0.0.1:{port}{PREFIX}",
            "bl",
            secrets["bl"],
            start.isoformat(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "OAUTHLIB_INSECURE_TRANSPORT": "1"},
        )

        steps = Steps(proc, storage, ven20, got31, http, ven_auth, start)
        try:
            await steps.run()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await ven20.client.stop()
        await oadr3.drain()
    assert oadr3.violations == []
