"""OpenADR 3.1 GET /events with 100,000 stored events: pages of 50 through the real VTN over HTTP (token
check, VEN lookup, SQL page, JSON), beside the bare SQL query of the same page on the same database file
in the same run (sqlite3, no HTTP, no JSON).

`python -m bench oadr3_events [--events 100000] [--households 1000] [--requests 300]`

Each query kind is asked `--requests` times, one request at a time, at skips spread over the whole list
(a deep skip is the costly case of OFFSET paging): business logic with no filter, by two targets (any
of), by program, `active=true`, and a VEN client (its own events only).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.report import Row, append_section, cpu_description, markdown_table, table
from bench.stage_control import code_version
from bench.stats import summarise
from homeflex.core.clock import ManualClock, perf_seconds
from homeflex.core.domain import Category
from homeflex.core.timeutil import iso
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.oadr3 import PREFIX, Oadr3Service, provision_client
from homeflex.vtn.service import VtnService

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GROUPS = 10
PROGRAMS = ("default", "evening", "morning")
# The storage's page query for business logic without filters, for the bare reference.
PAGE_SQL = "SELECT e.* FROM events e WHERE e.status='scheduled' ORDER BY e.start, e.event_id LIMIT ? OFFSET ?"
TARGETS_SQL = "SELECT event_id, household_id FROM event_targets WHERE event_id IN ({}) ORDER BY household_id"


@dataclass(frozen=True, kw_only=True)
class Options:
    events: int = 100_000
    households: int = 1_000
    requests: int = 300
    seed: int = 1
    results: Path | None = None


async def no_settle(event_id: str) -> list[Any]:
    return []


async def seed(storage: SQLiteStorage, options: Options) -> None:
    """Households in groups, programs, and `events` events (one to three households each), 10 minutes
    apart with NOW in the middle, written in bulk (a bench seed, not the API's path)."""
    rng = random.Random(options.seed)
    for i in range(options.households):
        record = HouseholdRecord(id=f"hh{i:05d}", group=f"g{i % GROUPS}", category=Category.B)
        await storage.upsert_household(record, NOW)
    for name in PROGRAMS[1:]:
        await storage.put_oadr3_program(name, name, {}, NOW)
    first = NOW - timedelta(minutes=10 * options.events // 2)
    events, targets = [], []
    for i in range(options.events):
        start = first + timedelta(minutes=10 * i)
        event_id = f"ev-{i:08d}"
        events.append(
            (event_id, storage.stored_time(start), storage.stored_time(NOW), PROGRAMS[i % 3], _ms(start))
        )
        for h in sorted(rng.sample(range(options.households), rng.randint(1, 3))):
            targets.append((event_id, f"hh{h:05d}"))
    async with storage.transaction() as tx:
        await tx.executemany(
            "INSERT INTO events (event_id, modification_number, status, start, duration_s, reduction_kw,"
            " price_gbp_per_mwh, created_at, programme_id, ends_ms)"
            " VALUES (?, 0, 'scheduled', ?, 1800, 2.0, 100.0, ?, ?, ? + 1800000)",
            events,
        )
        await tx.executemany("INSERT INTO event_targets (event_id, household_id) VALUES (?,?)", targets)
    await storage.execute("ANALYZE")


def household(rng: random.Random, options: Options) -> str:
    return f"hh{rng.randrange(options.households):05d}"


def _ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def bare_page(db: sqlite3.Connection, skip: int) -> int:
    """The same page as GET /events for business logic, straight from SQL: events, then their targets."""
    rows = db.execute(PAGE_SQL, (50, skip)).fetchall()
    ids = [r[0] for r in rows]
    if ids:
        db.execute(TARGETS_SQL.format(",".join("?" * len(ids))), ids).fetchall()
    return len(rows)


async def token(http: aiohttp.ClientSession, client_id: str, secret: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    async with http.post(f"{PREFIX}/auth/token", data=form) as r:
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


async def timed_gets(
    http: aiohttp.ClientSession, headers: dict[str, str], params: Sequence[list[tuple[str, str]]]
) -> list[float]:
    samples = []
    for query in params:
        started = perf_seconds()
        async with http.get(f"{PREFIX}/events", headers=headers, params=query) as r:
            assert r.status == 200, await r.text()
            await r.read()
        samples.append(perf_seconds() - started)
    return samples


async def run(options: Options, folder: Path) -> tuple[list[Row], int]:
    rng = random.Random(options.seed)
    storage = await SQLiteStorage.open(folder / "events.db")
    try:
        await seed(storage, options)
        clock = ManualClock(NOW)
        bl = await provision_client(storage, clock, "bl", "bl")
        ven = await provision_client(storage, clock, "ven-hh00001", "ven")
        oadr3 = Oadr3Service(storage, clock)
        n, deep = options.requests, options.events - 50
        skips = [rng.randrange(0, deep) for _ in range(n)]
        async with (
            VtnService(storage, clock, no_settle, port=0, oadr3=oadr3) as vtn,
            aiohttp.ClientSession(base_url=vtn.url) as http,
        ):
            bl_auth = await token(http, "bl", bl)
            ven_auth = await token(http, "ven-hh00001", ven)
            body = {"objectType": "VEN_VEN_REQUEST", "venName": "hh00001"}
            async with http.post(f"{PREFIX}/vens", json=body, headers=ven_auth) as r:
                assert r.status == 201
            counted = await storage.execute_raw(
                "SELECT count(*) FROM event_targets WHERE household_id='hh00001'"
            )
            mine = int(counted[0][0])
            kinds = {
                "business logic, no filter": (bl_auth, [[("skip", str(s))] for s in skips]),
                "business logic, targets=2 households (any of)": (
                    bl_auth,
                    [
                        [("targets", household(rng, options)), ("targets", household(rng, options))]
                        for _ in skips
                    ],
                ),
                "business logic, targets=a group of 100 households": (
                    bl_auth,
                    [[("targets", f"g{rng.randrange(GROUPS)}"), ("skip", str(s // 10))] for s in skips],
                ),
                "business logic, programID": (
                    bl_auth,
                    [[("programID", "evening"), ("skip", str(s // 3))] for s in skips],
                ),
                "business logic, active=true": (
                    bl_auth,
                    [[("active", "true"), ("skip", str(s // 2))] for s in skips],
                ),
                "VEN client (its own events)": (ven_auth, [[] for _ in range(n)]),
            }
            rows = []
            for label, (headers, params) in kinds.items():
                rows.append(
                    Row(
                        label=f"GET /events {label}",
                        summary=summarise(await timed_gets(http, headers, params)),
                    )
                )
        db = sqlite3.connect(folder / "events.db")
        try:
            samples = []
            for s in skips:
                started = perf_seconds()
                assert bare_page(db, s) == 50
                samples.append(perf_seconds() - started)
        finally:
            db.close()
        rows.append(
            Row(label="reference: bare SQL page (sqlite3, same skips, no HTTP)", summary=summarise(samples))
        )
        return rows, mine
    finally:
        await storage.close()


def report(options: Options, rows: list[Row], mine: int) -> str:
    return "\n".join(
        [
            f"### oadr3_events — GET /events, {options.events:,} stored events, pages of 50",
            "",
            f"`python -m bench oadr3_events --events {options.events} --households {options.households}"
            f" --requests {options.requests}`",
            "",
            f"- date: {iso(datetime.now(UTC).replace(microsecond=0))}; code: {code_version()}",
            f"- machine: {cpu_description()} (shared with other work)",
            f"- store: SQLite (WAL) file, {options.events:,} events x 1-3 of {options.households:,}"
            " households,"
            f" {GROUPS} groups, {len(PROGRAMS)} programs; the VEN client's household has {mine} events",
            "- each row: sequential requests over loopback HTTP through the real VTN (token check, SQL"
            " page, JSON); skips spread uniformly over the list; the reference runs the storage's page"
            " SQL on the same file in the same run",
            "",
            markdown_table(rows),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench oadr3_events", description=__doc__)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--households", type=int, default=1_000)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--no-results", action="store_true")
    args = p.parse_args(argv)
    options = Options(events=args.events, households=args.households, requests=args.requests)
    with tempfile.TemporaryDirectory(prefix="homeflex-bench-oadr3-events-") as tmp:
        rows, mine = asyncio.run(run(options, Path(tmp)))
    print(table(rows))
    if not args.no_results:
        append_section(Path(__file__).with_name("RESULTS.md"), report(options, rows, mine))
    return 0
