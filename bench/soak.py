"""Soak: N VENs with telemetry and events for M minutes against real `homeflex vtn` and `homeflex telemetry`
processes (one SQLite file, a private mosquitto), loopback only. Counts every error, checks that every
published reading is stored and every VEN answers every event, and samples the services' RSS.

    python -m bench.soak [--vens 1000] [--minutes 10] [--poll-s 10] [--reading-s 10] [--event-every-s 120]

The VENs are lightweight OpenADR 2.0b pollers that speak real XML through openleadr's messaging
(create_message / parse_message); the meters publish QoS 1 readings over a few shared MQTT connections
(one topic per household). Results go to bench/RELIABILITY.md by hand (printed as markdown).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from openleadr.messaging import create_message, parse_message

from homeflex.core import topics
from homeflex.core.timeutil import iso
from homeflex.mqtt import MqttSession, MqttUnavailable
from homeflex.mqtt.broker import find_mosquitto, free_port, mosquitto

PREFIX = "/OpenADR2/Simple/2.0b"
log = logging.getLogger("soak")


@dataclass
class Tally:
    errors: Counter[str] = field(default_factory=Counter)
    polls: int = 0
    events_seen: int = 0
    opt_ins_sent: int = 0
    published: int = 0
    rss: list[tuple[float, float, float]] = field(default_factory=list)  # (min, vtn MB, telemetry MB)


class LightVen:
    def __init__(self, household: str, http: aiohttp.ClientSession, base: str, tally: Tally) -> None:
        self.household = household
        self.http = http
        self.base = base
        self.tally = tally
        self.ven_id = ""
        self.answered: set[tuple[str, int]] = set()

    async def _post(self, service: str, message: str) -> tuple[str, dict[str, Any]]:
        async with self.http.post(
            f"{self.base}{PREFIX}/{service}", data=message, headers={"Content-Type": "application/xml"}
        ) as r:
            body = await r.read()
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status} on {service}: {body[:120]!r}")
        return parse_message(body)

    async def register(self) -> None:
        message = create_message(
            "oadrCreatePartyRegistration",
            request_id=uuid.uuid4().hex,
            ven_name=self.household,
            http_pull_model=True,
            xml_signature=False,
            report_only=False,
            profile_name="2.0b",
            transport_name="simpleHttp",
            transport_address=None,
        )
        kind, payload = await self._post("EiRegisterParty", message)
        if kind != "oadrCreatedPartyRegistration" or not payload.get("ven_id"):
            raise RuntimeError(f"{self.household}: registration refused ({kind})")
        self.ven_id = payload["ven_id"]

    async def poll(self) -> None:
        kind, payload = await self._post("OadrPoll", create_message("oadrPoll", ven_id=self.ven_id))
        self.tally.polls += 1
        if kind != "oadrDistributeEvent":
            return
        request_id = payload.get("request_id")
        responses = []
        for event in payload.get("events") or []:
            descriptor = event["event_descriptor"]
            key = (descriptor["event_id"], int(descriptor["modification_number"]))
            if key not in self.answered:
                self.tally.events_seen += 1
            self.answered.add(key)
            responses.append(
                {
                    "response_code": 200,
                    "response_description": "OK",
                    "request_id": request_id,
                    "event_id": key[0],
                    "modification_number": key[1],
                    "opt_type": "optIn",
                }
            )
        if responses:
            ok = {"response_code": 200, "response_description": "OK", "request_id": request_id}
            message = create_message(
                "oadrCreatedEvent", response=ok, ven_id=self.ven_id, event_responses=responses
            )
            await self._post("EiEvent", message)
            self.tally.opt_ins_sent += len(responses)

    async def run(self, poll_s: float, until: float) -> None:
        await asyncio.sleep(random.uniform(0, poll_s))  # spread phases, as real VENs are
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                await self.poll()
            except Exception as err:  # counted, never fatal: the soak reports them
                self.tally.errors[f"poll: {type(err).__name__}: {str(err)[:80]}"] += 1
            await asyncio.sleep(max(0.0, poll_s - (time.monotonic() - started)))


async def meters(
    url: str, households: list[str], reading_s: float, until: float, tally: Tally, connections: int
) -> None:
    """Each household's meter publishes a reading every `reading_s` (QoS 1), over shared connections."""
    groups = [households[i::connections] for i in range(connections)]

    async def one(index: int, group: list[str]) -> None:
        async with MqttSession(url, f"soak-meters-{index}") as session:
            registers = dict.fromkeys(group, 0.0)
            await asyncio.sleep(random.uniform(0, reading_s))
            while time.monotonic() < until:
                started = time.monotonic()
                now = datetime.now(UTC).replace(microsecond=0)
                for hh in group:
                    registers[hh] += 5.0
                    reading = {"ts": iso(now), "import_wh": registers[hh], "export_wh": 0.0, "power_w": 600.0}
                    try:
                        await session.publish(topics.meter_reading(hh), reading, timeout=5.0)
                        tally.published += 1
                    except MqttUnavailable as err:
                        tally.errors[f"publish: {err}"] += 1
                await asyncio.sleep(max(0.0, reading_s - (time.monotonic() - started)))

    await asyncio.gather(*(one(i, g) for i, g in enumerate(groups)))


def spawn(command: str, env: dict[str, str], folder: Path) -> subprocess.Popen[bytes]:
    out = (folder / f"{command}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "homeflex", command],
        env={**os.environ, **env, "HOMEFLEX_LOG_LEVEL": "WARNING"},
        cwd=folder,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


async def sample_rss(procs: list[subprocess.Popen[bytes]], start: float, until: float, tally: Tally) -> None:
    handles = [psutil.Process(p.pid) for p in procs]
    while True:
        mb = [h.memory_info().rss / 2**20 for h in handles]
        tally.rss.append(((time.monotonic() - start) / 60, mb[0], mb[1]))
        if time.monotonic() >= until:
            return
        await asyncio.sleep(min(30.0, max(0.0, until - time.monotonic())))


@dataclass(frozen=True)
class Outcome:
    tally: Tally
    totals: list[dict[str, Any]]
    stored: int
    rejected: int

    @property
    def ok(self) -> bool:
        answered = all(t["opted_in"] == t["targeted"] for t in self.totals)
        return not self.tally.errors and self.stored == self.tally.published and answered


def options(**changes: Any) -> argparse.Namespace:
    """The soak's options with their defaults, as `main` parses them."""
    return _parser().parse_args([f"--{k.replace('_', '-')}={v}" for k, v in changes.items()])


async def soak(args: argparse.Namespace) -> Outcome:
    binary = find_mosquitto()
    if binary is None:
        raise RuntimeError("the soak needs mosquitto on PATH")
    tally = Tally()
    households = [f"soak{i:05d}" for i in range(args.vens)]
    with tempfile.TemporaryDirectory(prefix="homeflex-soak-") as tmp:
        folder = Path(tmp)
        db = folder / "soak.db"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        async with mosquitto(binary) as mqtt_url:
            env = {
                "HOMEFLEX_DATABASE_URL": f"sqlite:///{db}",
                "HOMEFLEX_VTN_PORT": str(port),
                "HOMEFLEX_POLL_INTERVAL_S": str(args.poll_s),
                "HOMEFLEX_MQTT_URL": mqtt_url,
                "HOMEFLEX_METRICS_PORT": str(free_port()),
            }
            vtn_env = {k: v for k, v in env.items() if k != "HOMEFLEX_MQTT_URL"}
            # A VTN on loopback without TLS or API token, as an explicit choice (homeflex.vtn.posture)
            vtn_env |= {"HOMEFLEX_ALLOW_INSECURE_OPENADR": "1", "HOMEFLEX_ALLOW_OPEN_API": "1"}
            vtn = spawn("vtn", vtn_env, folder)
            telemetry: subprocess.Popen[bytes] | None = None
            connector = aiohttp.TCPConnector(limit=200)
            try:
                async with aiohttp.ClientSession(connector=connector) as http:
                    await _wait_up(http, base)
                    for hh in households:
                        async with http.put(
                            f"{base}/api/households/{hh}", json={"group": "soak", "category": "B"}
                        ) as r:
                            assert r.status == 200, await r.text()
                    telemetry = spawn("telemetry", env, folder)
                    await asyncio.sleep(3)
                    vens = [LightVen(hh, http, base, tally) for hh in households]
                    await asyncio.gather(*(v.register() for v in vens))
                    start = time.monotonic()
                    until = start + args.minutes * 60
                    created: list[str] = []
                    tasks = [asyncio.ensure_future(v.run(args.poll_s, until)) for v in vens]
                    tasks.append(
                        asyncio.ensure_future(meters(mqtt_url, households, args.reading_s, until, tally, 10))
                    )
                    tasks.append(asyncio.ensure_future(sample_rss([vtn, telemetry], start, until, tally)))
                    tasks.append(
                        asyncio.ensure_future(_events(http, base, households, args, until, created, tally))
                    )
                    await asyncio.gather(*tasks)
                    await asyncio.sleep(args.poll_s * 2)  # last answers and flushes land
                    totals = []
                    for event_id in created:
                        async with http.get(f"{base}/api/events/{event_id}") as r:
                            totals.append((await r.json())["totals"])
            finally:
                for proc in (telemetry, vtn):
                    if proc is not None:
                        proc.terminate()
                        proc.wait(10)
        stored = sqlite3.connect(db).execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        rejected = sqlite3.connect(db).execute("SELECT COUNT(*) FROM rejected_readings").fetchone()[0]
    report(args, tally, totals, stored, rejected)
    return Outcome(tally=tally, totals=totals, stored=stored, rejected=rejected)


async def _events(
    http: aiohttp.ClientSession,
    base: str,
    households: list[str],
    args: argparse.Namespace,
    until: float,
    created: list[str],
    tally: Tally,
) -> None:
    while time.monotonic() + args.event_every_s < until:
        await asyncio.sleep(args.event_every_s / 2)
        body = {
            "targets": households,
            "start": iso(datetime.now(UTC) + timedelta(minutes=30)),
            "duration_minutes": 30,
            "reduction_kw": 1.0,
            "price_gbp_per_mwh": 1000,
        }
        async with http.post(f"{base}/api/events", json=body) as r:
            if r.status != 201:
                tally.errors[f"create event: HTTP {r.status}"] += 1
            else:
                created.append((await r.json())["event_id"])
        await asyncio.sleep(args.event_every_s / 2)


async def _wait_up(http: aiohttp.ClientSession, base: str) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                async with http.get(f"{base}/api/households") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


def report(
    args: argparse.Namespace, tally: Tally, totals: list[dict[str, Any]], stored: int, rejected: int
) -> None:
    print(f"## Soak {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.vens} VENs, {args.minutes} min")
    print(
        f"- polls answered: {tally.polls}; events created: {len(totals)}; "
        f"event deliveries seen by VENs: {tally.events_seen}; opt-ins sent: {tally.opt_ins_sent}"
    )
    for i, t in enumerate(totals):
        print(
            f"  - event {i + 1}: targeted {t['targeted']}, opted in {t['opted_in']}, "
            f"no response {t['no_response']}"
        )
    print(
        f"- readings published (QoS 1, acknowledged): {tally.published}; stored: {stored}; "
        f"rejected: {rejected}; lost: {tally.published - stored}"
    )
    print(f"- errors: {sum(tally.errors.values())} {dict(tally.errors.most_common(5))}")
    print("- RSS (MB) over time, minute: VTN / telemetry")
    for minute, vtn_mb, tel_mb in tally.rss:
        print(f"  - {minute:5.1f}: {vtn_mb:6.1f} / {tel_mb:6.1f}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--vens", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--poll-s", type=float, default=10.0)
    parser.add_argument("--reading-s", type=float, default=10.0)
    parser.add_argument("--event-every-s", type=float, default=120.0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return 0 if asyncio.run(soak(args)).ok else 1


if __name__ == "__main__":
    sys.exit(main())
