"""OpenADR 3.1: one event notified over MQTT to N subscribed VENs, beside a raw MQTT publish of the same
messages in the same run.

`python -m bench oadr3_notify [--vens 10000] [--runs 3] [--mqtt-url URL]`

What "notified to N VENs" means here: the business logic POSTs /openadr3/events targeting a group of
N enrolled households; the VTN stores the event once (2.0b VENs would poll it) and publishes N messages,
one on each VEN's own topic (`events/vens/<venID>/create`, QoS 1), each carrying only that VEN in the
targets. One lean wildcard subscriber (`events/vens/+/create`, its own process) stands in for the N VENs
and counts N distinct VEN ids; the broker's fan-out to N separate TCP connections is not part of the
figure. Timed: from the POST until the subscriber has all N. The references publish the same N (topic,
payload) pairs to the same subscriber with the burst publisher alone and with aiomqtt (QoS 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt

from homeflex.core.clock import ManualClock
from homeflex.core.domain import Category
from homeflex.core.timeutil import iso
from homeflex.mqtt.broker import mqtt_broker
from homeflex.mqtt.burst import publish_burst
from homeflex.mqtt.session import NODELAY, parse_mqtt_url
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.oadr3 import Oadr3Service, provision_client
from homeflex.vtn.oadr3.model import event_json
from homeflex.vtn.oadr3.notify import per_ven_messages
from homeflex.vtn.service import VtnService

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


LISTENER = """
import asyncio, struct, sys
from homeflex.mqtt.session import parse_mqtt_url
from homeflex.mqtt.burst import _string, connect_packet, read_packets
from bench.lean_mqtt import take_publishes

async def main(url, topic_filter):
    # A lean MQTT 3.1.1 subscriber (QoS 1, every PUBLISH acknowledged): it counts what the broker delivers
    # without a client library's per-message cost, as 10,000 VENs on their own machines would see it.
    ep = parse_mqtt_url(url)
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    writer.write(connect_packet("bench-vens-" + str(id(reader)), None, None, keepalive=0))
    body = struct.pack("!H", 1) + _string(topic_filter) + bytes([1])
    writer.write(bytes([0x82, len(body)]) + body)
    buffer = bytearray()
    acked = 0
    while acked < 2:  # CONNACK, SUBACK
        acked += len(await read_packets(reader, buffer))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    target = int(await loop.run_in_executor(None, sys.stdin.readline))
    seen = set()
    while True:
        topics, acks = take_publishes(await read_packets(reader, buffer))
        seen.update(t.split("/")[-2] for t in topics)
        writer.write(acks)
        if len(seen) >= target:
            print("done", len(seen), flush=True)
            seen = set()
            target = int(await loop.run_in_executor(None, sys.stdin.readline))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


class Listener:
    """The VENs' side in its own process (as VENs would be): one wildcard subscription counting distinct
    VEN ids; `arm(n)` then `done()` returns when n distinct VENs have their message."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, url: str, topic_filter: str) -> Listener:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            LISTENER,
            url,
            topic_filter,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        listener = cls(proc)
        assert await listener._line() == "ready"
        return listener

    async def _line(self) -> str:
        assert self.proc.stdout is not None
        return (await asyncio.wait_for(self.proc.stdout.readline(), 120)).decode().strip()

    async def arm(self, n: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{n}\n".encode())
        await self.proc.stdin.drain()

    async def done(self) -> None:
        line = await self._line()
        assert line.startswith("done"), line

    async def stop(self) -> None:
        self.proc.kill()
        await self.proc.wait()


def _client(url: str, name: str) -> aiomqtt.Client:
    ep = parse_mqtt_url(url)
    client = aiomqtt.Client(
        ep.host,
        ep.port,
        identifier=f"bench-{name}-{uuid.uuid4().hex[:6]}",
        socket_options=NODELAY,
        max_concurrent_outgoing_calls=100,
    )
    client.pending_calls_threshold = 10**9  # no warning per publish in flight
    return client


async def _enrol(storage: SQLiteStorage, n: int) -> None:
    for i in range(n):
        await storage.upsert_household(
            HouseholdRecord(id=f"b{i:05d}", group="bench", category=Category.B), NOW
        )


class StallProbe:
    """The longest the event loop was late waking a 5 ms sleep: how long the VTN's loop (which also
    answers 2.0b polls and every other request) was blocked while it notified."""

    def __init__(self) -> None:
        self.worst_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:  # cancelled by stop()
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst_s = max(self.worst_s, time.perf_counter() - t0 - 0.005)

    def start(self) -> None:
        self.worst_s = 0.0
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.worst_s


async def _vtn_run(
    http: aiohttp.ClientSession, token: str, oadr3: Oadr3Service, listener: Listener, n: int, k: int
) -> tuple[float, float, float, float]:
    """(POST answered, all acknowledged by the broker, all received by the VENs' side, the longest event
    loop stall), seconds."""
    await listener.arm(n)
    probe = StallProbe()
    probe.start()
    doc = {
        "programID": "default",
        "targets": ["bench"],
        "intervalPeriod": {"start": iso(NOW + timedelta(hours=1 + k)), "duration": "PT30M"},
        "intervals": [{"id": 0, "payloads": [{"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-2.0]}]}],
    }
    t0 = time.perf_counter()
    async with http.post("/openadr3/events", json=doc, headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 201, await r.text()
        t_api = time.perf_counter() - t0
    await oadr3.drain()
    t_acked = time.perf_counter() - t0
    await listener.done()
    t_all = time.perf_counter() - t0
    return t_api, t_acked, t_all, await probe.stop()


async def _burst_run(url: str, messages: list[tuple[str, bytes]], listener: Listener) -> float:
    await listener.arm(len(messages))
    t0 = time.perf_counter()
    await publish_burst(parse_mqtt_url(url), messages, client_id=f"bench-burst-{uuid.uuid4().hex[:6]}")
    await listener.done()
    return time.perf_counter() - t0


async def _aiomqtt_run(url: str, messages: list[tuple[str, bytes]], listener: Listener) -> float:
    await listener.arm(len(messages))
    async with _client(url, "raw") as pub:
        t0 = time.perf_counter()
        await asyncio.gather(*(pub.publish(t, p, qos=1) for t, p in messages))
        await listener.done()
        return time.perf_counter() - t0


async def run(url: str, n: int, runs: int) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:6]}/OpenADR/3.1/"
    with tempfile.TemporaryDirectory() as tmp:
        storage = await SQLiteStorage.open(Path(tmp) / "bench.db")
        clock = ManualClock(NOW)
        await _enrol(storage, n)
        secret = await provision_client(storage, clock, "bench-bl", "bl")
        oadr3 = Oadr3Service(storage, clock, mqtt_url=url, topic_prefix=prefix)

        async def no_settle(event_id: str) -> list[Any]:
            return []

        listener = await Listener.start(url, f"{prefix}events/vens/+/create")
        try:
            async with (
                VtnService(storage, clock, no_settle, port=0, oadr3=oadr3) as vtn,
                aiohttp.ClientSession(base_url=vtn.url) as http,
            ):
                form = {"grant_type": "client_credentials", "client_id": "bench-bl", "client_secret": secret}
                async with http.post("/openadr3/auth/token", data=form) as r:
                    token = (await r.json())["access_token"]
                vtn_runs = [await _vtn_run(http, token, oadr3, listener, n, k) for k in range(runs)]
                event = (await storage.list_events())[0]
                targets = [f"b{i:05d}" for i in range(n)]
                bodies = per_ven_messages("EVENT", "CREATE", event_json(event, targets), targets)
                messages = [
                    (f"{prefix}events/vens/{v}/create", b.encode())
                    for v, b in zip(targets, bodies, strict=True)
                ]
                burst_runs = [await _burst_run(url, messages, listener) for _ in range(runs)]
                aiomqtt_runs = [await _aiomqtt_run(url, messages, listener) for _ in range(runs)]
        finally:
            await listener.stop()
            await storage.close()
    return {
        "vens": n,
        "runs": runs,
        "api_s": [r[0] for r in vtn_runs],
        "acked_s": [r[1] for r in vtn_runs],
        "vtn_s": [r[2] for r in vtn_runs],
        "stall_s": [r[3] for r in vtn_runs],
        "burst_s": burst_runs,
        "aiomqtt_s": aiomqtt_runs,
        "message_bytes": len(messages[0][1]),
    }


def report(res: dict[str, Any], url: str) -> str:
    med = statistics.median

    n = f"{res['vens']:,}"

    def row(label: str, key: str) -> str:
        runs = [round(s * 1000) for s in res[key]]
        return f"| {label} | {runs} | {round(med(runs))} |"

    goal = "MET" if med(res["vtn_s"]) <= 1.0 else "MISSED"
    return "\n".join(
        [
            f"### oadr3_notify — one 3.1 event to {res['vens']:,} VENs over MQTT",
            "",
            f"`python -m bench oadr3_notify --vens {res['vens']} --runs {res['runs']}`",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores,"
            f" {platform.machine()}, shared with other engineers' tests and benchmarks during the run",
            f"- python: CPython {platform.python_version()}; broker: {url} (private mosquitto 2.0,"
            " set_tcp_nodelay, max_queued_messages 100000); storage: SQLite (WAL)",
            "- measured: POST /openadr3/events (BL token; targets: a group of all households) -> the event"
            " and its targets stored once (2.0b VENs poll the same rows) -> one QoS 1 PUBLISH per VEN on its"
            " own topic `events/vens/<venID>/create`, carrying only that VEN in the targets -> the VENs' side"
            " has every distinct VEN id.",
            "- the VENs' side: one lean MQTT subscriber (QoS 1, acknowledges each PUBLISH) in its own process"
            f" with the wildcard `events/vens/+/create`, standing in for {n} VENs; the broker's fan-out to"
            f" {n} separate TCP connections is not part of the figure. Each message: {res['message_bytes']}"
            " bytes of JSON.",
            "- references, same run, same messages, same subscriber: the burst publisher alone (no HTTP, no"
            " database: the floor under the VTN) and aiomqtt (the project's MQTT client; QoS 1, 100 in"
            " flight), which is why the VTN does not publish through it (homeflex.mqtt.burst.py)",
            "",
            "| path | runs (ms) | median ms |",
            "|---|---|---:|",
            row(f"VTN: POST answered (event + {n} targets stored)", "api_s"),
            row(f"VTN: POST -> all {n} publishes acknowledged by the broker", "acked_s"),
            row(f"**VTN: POST -> all {n} VENs notified**", "vtn_s"),
            row("VTN: longest event-loop stall during the above (a 5 ms sleep woken late)", "stall_s"),
            row("reference: the same messages, burst publish only -> all received", "burst_s"),
            row("reference: the same messages, aiomqtt QoS 1 -> all received", "aiomqtt_s"),
            "",
            f"Goal (all {res['vens']:,} notified within 1 s): {goal}.",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench oadr3_notify", description=__doc__)
    p.add_argument("--vens", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--mqtt-url", default=None, help="default: a private mosquitto on a free port")
    p.add_argument("--no-results", action="store_true")
    args = p.parse_args(argv)

    async def go() -> str:
        if args.mqtt_url:
            return report(await run(args.mqtt_url, args.vens, args.runs), args.mqtt_url)
        async with mqtt_broker(None) as url:
            return report(await run(url, args.vens, args.runs), url)

    text = asyncio.run(go())
    print(text)
    if not args.no_results:
        with Path(__file__).with_name("RESULTS.md").open("a") as f:
            f.write("\n" + text)
    return 0
