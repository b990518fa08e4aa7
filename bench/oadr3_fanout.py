"""OpenADR 3.1: one event created, then updated, notified to N VENs, each its own MQTT connection with its
own broker credentials, on a private mosquitto run from exactly what `homeflex mqtt-access` writes.

`python -m bench oadr3_fanout [--vens 10000] [--procs 4] [--runs 3]`

The N VEN clients are provisioned (`provision_client`, as `homeflex oadr3-client` does) and enrolled as
households of one group; `homeflex mqtt-access` reads them from the database and writes mosquitto.conf,
passwd and acl; mosquitto runs from that mosquitto.conf. `--procs` processes each hold N/procs
connections, logged in as `ven-<household>` with its password and subscribed to its own
`events/vens/<household>/+` (QoS 1, each PUBLISH acknowledged). The VTN's notifier logs in as
`svc-vtn-oadr3.notify`. Timed per VEN: from just before the POST (create) or PUT (update) until that
VEN's connection has the message (CLOCK_MONOTONIC, shared by the processes); and the VTN's longest
event-loop stall meanwhile. Loopback only; every wait bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.oadr3_notify import StallProbe
from bench.report import append_section
from homeflex.core.clock import ManualClock
from homeflex.core.domain import Category
from homeflex.core.timeutil import iso
from homeflex.mqtt.access import VTN_OADR3, with_credentials
from homeflex.mqtt.broker import find_mosquitto, free_port, running_mosquitto
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.oadr3 import Oadr3Service, provision_client
from homeflex.vtn.service import VtnService

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WAIT_S = 120  # the longest any step may take before the run is abandoned

VENS = r"""
import asyncio, json, struct, sys, time
from homeflex.mqtt.burst import _string, connect_packet, read_packets
from bench.lean_mqtt import take_publishes

async def main(host, port, prefix, creds_file):
    # N/procs VENs, each a connection with its own login, subscribed to its own topics only.
    creds = json.load(open(creds_file))
    got, op = {}, [None]
    async def session(user, password, household):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(connect_packet(user, user, password, keepalive=0))
        body = struct.pack("!H", 1) + _string(prefix + "events/vens/" + household + "/+") + bytes([1])
        writer.write(bytes([0x82, len(body)]) + body)
        buffer, setup = bytearray(), 0
        while setup < 2:  # CONNACK, SUBACK
            for kind, body in await read_packets(reader, buffer):
                if kind & 0xF0 == 0x20 and body[1]:
                    raise SystemExit(user + ": refused " + str(body[1]))
                setup += 1
        return reader, writer, buffer

    async def ven(user, password, household):
        # A few connects in flight per process: mosquitto's listen backlog is 100 and a burst of
        # connects beyond it is reset on loopback; a reset one tries again (bounded).
        for attempt in range(5):
            try:
                async with connecting:
                    reader, writer, buffer = await session(user, password, household)
                break
            except OSError:
                await asyncio.sleep(0.2 * (attempt + 1))
        else:
            raise SystemExit(user + ": could not connect")
        ready.append(user)
        while True:
            topics, acks = take_publishes(await read_packets(reader, buffer))
            if household not in got and any(t.endswith("/" + str(op[0])) for t in topics):
                got[household] = time.monotonic()
            writer.write(acks)

    connecting = asyncio.Semaphore(20)
    ready = []
    tasks = [asyncio.ensure_future(ven(u, p, h)) for u, p, h in creds]
    for _ in range(int(WAIT * 20)):
        if len(ready) >= len(creds) or any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.05)
    if len(ready) < len(creds):
        raise SystemExit("only %d of %d VENs connected" % (len(ready), len(creds)))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not command:
            return
        if command[0] == "arm":
            got.clear()
            op[0] = command[1]
            print("armed", flush=True)
        elif command[0] == "report":
            for _ in range(int(float(command[1]) * 20)):
                if len(got) >= len(creds):
                    break
                await asyncio.sleep(0.05)
            print(json.dumps({"times": list(got.values()), "missing": len(creds) - len(got)}), flush=True)

WAIT = float(sys.argv[5])
asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
"""


class VenProcess:
    """One process holding a slice of the VENs' connections."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, port: int, prefix: str, creds_file: Path) -> VenProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            VENS,
            "127.0.0.1",
            str(port),
            prefix,
            str(creds_file),
            str(WAIT_S),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n".encode())
        await self.proc.stdin.drain()

    async def line(self) -> str:
        assert self.proc.stdout is not None
        text = (await asyncio.wait_for(self.proc.stdout.readline(), WAIT_S)).decode().strip()
        if not text:
            raise RuntimeError(f"a VEN process ended (exit {await self.proc.wait()})")
        return text

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


async def _provision(storage: SQLiteStorage, clock: ManualClock, n: int) -> None:
    for i in range(n):
        household = f"b{i:05d}"
        await storage.upsert_household(HouseholdRecord(id=household, group="bench", category=Category.B), NOW)
        await provision_client(storage, clock, f"ven-{household}", "ven")


async def _mqtt_access(db: Path, out: Path, port: int) -> dict[str, str]:
    """`homeflex mqtt-access` as an operator runs it: households and 3.1 clients from the database."""
    from homeflex.cli import main

    os.environ["HOMEFLEX_DATABASE_URL"] = f"sqlite:///{db}"
    argv = ["mqtt-access", "--out", str(out), "--plain", f"127.0.0.1:{port}", "--data-dir", "none"]
    if await asyncio.to_thread(main, argv) != 0:
        raise RuntimeError("homeflex mqtt-access failed")
    passwords: dict[str, str] = json.loads((out / "credentials.json").read_text())
    return passwords


def _event_doc(k: int, value: float) -> dict[str, Any]:
    return {
        "programID": "default",
        "targets": ["bench"],
        "intervalPeriod": {"start": iso(NOW + timedelta(hours=1 + k)), "duration": "PT30M"},
        "intervals": [{"id": 0, "payloads": [{"type": "DISPATCH_SETPOINT_RELATIVE", "values": [value]}]}],
    }


async def _timed(
    procs: list[VenProcess], op: str, request: Any, oadr3: Oadr3Service
) -> tuple[dict[str, Any], list[float], int]:
    """(the answer, each VEN's seconds from the request to its message, VENs missing)."""
    for p in procs:
        await p.send(f"arm {op}")
    for p in procs:
        assert await p.line() == "armed"
    probe = StallProbe()
    probe.start()
    t0 = time.monotonic()
    answer, t_api = await request(), time.monotonic() - t0
    await oadr3.drain()
    stall = await probe.stop()
    times, missing = [], 0
    for p in procs:
        await p.send(f"report {WAIT_S / 2}")
        got = json.loads(await p.line())
        times += [t - t0 for t in got["times"]]
        missing += got["missing"]
    return {**answer, "api_s": t_api, "stall_s": stall}, times, missing


async def _measure(
    storage: SQLiteStorage, clock: ManualClock, vtn_url: str, secret: str, procs: list[VenProcess], runs: int
) -> dict[str, list[Any]]:
    """The VTN, its notifier logged in as svc-vtn-oadr3.notify: `runs` events created, then updated."""
    oadr3 = Oadr3Service(storage, clock, mqtt_url=vtn_url)

    async def no_settle(event_id: str) -> list[Any]:
        return []

    results: dict[str, list[Any]] = {"create": [], "update": []}
    async with (
        VtnService(storage, clock, no_settle, port=0, oadr3=oadr3) as vtn,
        aiohttp.ClientSession(base_url=vtn.url) as http,
    ):
        form = {"grant_type": "client_credentials", "client_id": "bench-bl", "client_secret": secret}
        async with http.post("/openadr3/auth/token", data=form) as r:
            headers = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        for k in range(runs):
            created: dict[str, Any] = {}

            async def post(k: int = k, created: dict[str, Any] = created) -> dict[str, Any]:
                async with http.post("/openadr3/events", json=_event_doc(k, -2.0), headers=headers) as r:
                    assert r.status == 201, await r.text()
                    created.update(await r.json())
                    return {}

            async def put(k: int = k, created: dict[str, Any] = created) -> dict[str, Any]:
                path = f"/openadr3/events/{created['id']}"
                async with http.put(path, json=_event_doc(k, -1.5), headers=headers) as r:
                    assert r.status == 200, await r.text()
                    return {}

            results["create"].append(await _timed(procs, "create", post, oadr3))
            results["update"].append(await _timed(procs, "update", put, oadr3))
    return results


async def run(n: int, procs_n: int, runs: int) -> dict[str, Any]:
    binary = find_mosquitto()
    if binary is None:
        raise RuntimeError("needs mosquitto on PATH")
    with tempfile.TemporaryDirectory(prefix="bench-oadr3-fanout-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)  # mosquitto reads passwd and acl after dropping root
        clock = ManualClock(NOW)
        storage = await SQLiteStorage.open(folder / "bench.db")
        procs: list[VenProcess] = []
        try:
            t = time.monotonic()
            await _provision(storage, clock, n)
            secret = await provision_client(storage, clock, "bench-bl", "bl")
            port = free_port()
            passwords = await _mqtt_access(folder / "bench.db", folder / "access", port)
            setup_s = time.monotonic() - t
            url = f"mqtt://127.0.0.1:{port}"
            t = time.monotonic()
            conf = folder / "access" / "mosquitto.conf"
            async with running_mosquitto(binary, conf, port, start_timeout=WAIT_S):
                broker_start_s = time.monotonic() - t
                households = [f"b{i:05d}" for i in range(n)]
                for k in range(procs_n):
                    mine = households[k::procs_n]
                    creds = [(f"ven-{h}", passwords[f"ven-{h}"], h) for h in mine]
                    (folder / f"creds{k}.json").write_text(json.dumps(creds))
                t = time.monotonic()
                procs = [
                    await VenProcess.start(port, "OpenADR/3.1/", folder / f"creds{k}.json")
                    for k in range(procs_n)
                ]
                for p in procs:
                    assert await p.line() == "ready"
                connect_s = time.monotonic() - t
                vtn_url = with_credentials(url, VTN_OADR3, passwords[VTN_OADR3])
                results = await _measure(storage, clock, vtn_url, secret, procs, runs)
        finally:
            for p in procs:
                await p.stop()
            await storage.close()
    return {
        "vens": n,
        "procs": procs_n,
        "runs": runs,
        "setup_s": setup_s,
        "connect_s": connect_s,
        "broker_start_s": broker_start_s,
        "results": results,
    }


def _row(label: str, runs: list[Any]) -> str:
    def pct(times: list[float], q: float) -> float:
        return sorted(times)[min(len(times) - 1, int(q * len(times)))] * 1000 if times else float("nan")

    p50 = [round(pct(t, 0.5)) for _, t, _ in runs]
    p99 = [round(pct(t, 0.99)) for _, t, _ in runs]
    worst = [round(max(t) * 1000) if t else None for _, t, _ in runs]
    api = [round(a["api_s"] * 1000) for a, _, _ in runs]
    stall = [round(a["stall_s"] * 1000) for a, _, _ in runs]
    missing = sum(m for _, _, m in runs)
    return f"| {label} | {api} | {p50} | {p99} | {worst} | {stall} | {missing} |"


def report(res: dict[str, Any]) -> str:
    n = f"{res['vens']:,}"
    worst_stall = max(a["stall_s"] for op in res["results"].values() for a, _, _ in op)
    missing = sum(m for op in res["results"].values() for _, _, m in op)
    worst_p99 = max(
        sorted(t)[min(len(t) - 1, int(0.99 * len(t)))] if t else float("inf")
        for op in res["results"].values()
        for _, t, _ in op
    )
    return "\n".join(
        [
            f"### oadr3_fanout — a 3.1 event created and updated, notified to {n} VENs on {n} connections",
            "",
            f"`python -m bench oadr3_fanout --vens {res['vens']} --procs {res['procs']}"
            f" --runs {res['runs']}`",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores,"
            f" {platform.machine()}, shared with other engineers' tests and benchmarks during the run",
            f"- python: CPython {platform.python_version()}; storage: SQLite (WAL); broker: a private"
            " mosquitto 2.0 on loopback run from exactly the mosquitto.conf, passwd and acl that"
            f" `homeflex mqtt-access` wrote for {n} provisioned VEN clients (per-VEN ACL,"
            " use_username_as_clientid, no persistence)",
            f"- VENs: {n} MQTT 3.1.1 connections in {res['procs']} processes, each logged in as its own"
            " `ven-<household>` with its own password, subscribed (QoS 1) to its own `events/vens/<venID>/+`"
            f" only; connecting them all took {res['connect_s']:.1f} s; provisioning + mqtt-access"
            f" {res['setup_s']:.1f} s; mosquitto's start (loading the logins of {n} households and"
            f" {n} VEN clients) {res['broker_start_s']:.1f} s",
            "- timed per VEN: from just before the POST (create) or PUT (update, the same event, new value)"
            " until its connection has the message (CLOCK_MONOTONIC across processes); the VTN's notifier"
            " sends one burst on its own login `svc-vtn-oadr3.notify`; stall: the VTN's longest event-loop"
            " stall from the request until the burst is acknowledged (a 5 ms sleep woken late)",
            "",
            "| operation | answered ms (runs) | p50 ms | p99 ms | max ms | stall ms | VENs missing |",
            "|---|---|---|---|---|---|---:|",
            _row("POST /events (create)", res["results"]["create"]),
            _row("PUT /events/{id} (update)", res["results"]["update"]),
            "",
            f"Every VEN notified in every run: {'yes' if missing == 0 else f'NO ({missing} missing)'}"
            f" (worst p99 {worst_p99 * 1000:.0f} ms); event-loop stall"
            f" <= 50 ms: {'MET' if worst_stall <= 0.05 else 'MISSED'} (worst {worst_stall * 1000:.0f} ms).",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench oadr3_fanout", description=__doc__)
    for name, default, most in (("vens", 10_000, 99_999), ("procs", 4, 16), ("runs", 3, 20)):
        p.add_argument(f"--{name}", type=int, default=default, help=f"1..{most} (default {default})")
    p.add_argument("--no-results", action="store_true", help="print only, do not append to RESULTS.md")
    args = p.parse_args(argv)
    if not 1 <= args.vens <= 99_999 or not 1 <= args.procs <= 16 or not 1 <= args.runs <= 20:
        p.error("--vens 1..99999, --procs 1..16, --runs 1..20")
    text = report(asyncio.run(run(args.vens, args.procs, args.runs)))
    print(text)
    if not args.no_results:
        append_section(Path(__file__).with_name("RESULTS.md"), text)
    return 0
