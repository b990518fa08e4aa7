"""The VTN at DSO scale: N VENs polling over OpenADR 2.0b, one event to all of them.

`python -m bench vtn_scale [--vens 10000] [--reference-vens 1000] [--poll-s 10] [--processes 2]`

Our VTN runs in its own process on a fresh SQLite file (or `--database-url`), with N households
enrolled; `bench/vtn_load.py` registers N VENs over OpenADR and polls from a few processes. During the
polls the operator API creates one event for the whole group, and each VEN's first receipt is timed.
Measured: registrations/s, polls/s, p50/p99 poll latency, the VTN's RSS and CPU per poll, and the time
from the API call until every VEN has the event. Beside it in the same run, the reference: bare
openleadr's own VTN (in-memory queues, `add_event` per VEN) at a size it can handle.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.report import append_section, cpu_description
from bench.stats import summarise
from bench.vtn_load import LoadPlan, LoadResult, merge, run_processes

GROUP = "bench"


@dataclass(frozen=True, kw_only=True)
class Options:
    vens: int = 10_000
    reference_vens: int = 1_000
    poll_s: float = 10.0
    processes: int = 2
    polls_per_ven: int = 3  # the run lasts this many poll intervals
    database_url: str | None = None  # default: a fresh SQLite file
    workers: int = 1  # VTN worker processes sharing the database (PostgreSQL only)
    profile: Path | None = None  # py-spy's collapsed stacks of our VTN while it serves the polls
    results: Path | None = None


@dataclass(frozen=True, kw_only=True)
class Outcome:
    label: str
    vens: int
    registered: int
    register_s: float
    load: LoadResult
    window_s: float
    vtn_cpu_s: float
    rss_mb: float
    event_created_at: float
    event_api_s: float  # the operator API call (or add_event loop) that created the event
    setup_note: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


# -- the servers, each in its own process ----------------------------------------------------------


async def _open(database_url: str, schema: str | None) -> Any:
    from homeflex.storage import PostgresStorage, open_storage

    if schema is not None:
        return await PostgresStorage.open(database_url, schema=schema)
    return await open_storage(database_url)


async def _drop_schema(database_url: str, schema: str) -> None:
    storage = await _open(database_url, schema)
    await storage.drop_schema()
    await storage.close()


def _serve_homeflex(database_url: str, schema: str | None, port: int, poll_s: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("openleadr").setLevel(logging.WARNING)

    async def main() -> None:
        from homeflex.core.clock import WallClock
        from homeflex.vtn.poll import favour_database_thread
        from homeflex.vtn.service import VtnService

        favour_database_thread()  # as `homeflex vtn` does in its own process
        storage = await _open(database_url, schema)

        async def no_settle(event_id: str) -> list[Any]:
            return []

        async with VtnService(
            storage, WallClock(), no_settle, port=port, poll_interval=timedelta(seconds=poll_s)
        ):
            await asyncio.Event().wait()

    asyncio.run(main())


def _serve_reference(port: int, poll_s: float, event_at: float, out: Any) -> None:
    """Bare openleadr: registrations and events in its own memory, `add_event` once per VEN."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("openleadr").setLevel(logging.WARNING)
    from openleadr import OpenADRServer
    from openleadr.service import VTNService

    async def main() -> None:
        vens: list[str] = []

        async def register(payload: dict[str, Any]) -> tuple[str, str]:
            ven_id = f"ven-{payload['ven_name']}"
            vens.append(ven_id)
            return ven_id, f"reg-{payload['ven_name']}"

        server = OpenADRServer(
            vtn_id="REFERENCE-VTN",
            http_host="127.0.0.1",
            http_port=port,
            requested_poll_freq=timedelta(seconds=poll_s),
            show_fingerprint=False,
        )
        VTNService._create_message = staticmethod(VTNService._create_message)
        server.add_handler("on_create_party_registration", register)
        from aiohttp import web

        runner = web.AppRunner(server.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.sleep(max(0.0, event_at - time.time()))
        began = time.time()
        start = datetime.now(UTC) + timedelta(hours=1)
        for ven_id in vens:
            server.add_event(
                ven_id=ven_id,
                signal_name="LOAD_DISPATCH",
                signal_type="delta",
                intervals=[{"dtstart": start, "duration": timedelta(minutes=30), "signal_payload": 1.0}],
                event_id="ev-reference",
                callback=_noop_opt,
            )
        out.put((began, time.time() - began))
        await asyncio.Event().wait()

    asyncio.run(main())


async def _noop_opt(ven_id: str, event_id: str, opt_type: str) -> None:
    return None


# -- the runs --------------------------------------------------------------------------------------


def _plans(base_url: str, names: list[str], processes: int, poll_s: float, **kw: Any) -> list[LoadPlan]:
    chunks = [tuple(names[i::processes]) for i in range(processes)]
    return [LoadPlan(base_url=base_url, ven_names=c, poll_s=poll_s, **kw) for c in chunks if c]


async def _enrol(database_url: str, schema: str | None, names: list[str]) -> None:
    from homeflex.core.clock import WallClock
    from homeflex.core.domain import Category
    from homeflex.storage.records import HouseholdRecord

    storage = await _open(database_url, schema)
    try:
        now = WallClock().now()
        for name in names:
            await storage.upsert_household(HouseholdRecord(id=name, group=GROUP, category=Category.B), now)
    finally:
        await storage.close()


async def _create_event(base_url: str) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    body = {
        "group": GROUP,
        "start": start.isoformat().replace("+00:00", "Z"),
        "duration_minutes": 30,
        "reduction_kw": 1.0,
        "price_gbp_per_mwh": 500.0,
    }
    async with aiohttp.ClientSession() as session, session.post(f"{base_url}/api/events", json=body) as r:
        if r.status != 201:
            raise RuntimeError(f"event not created: HTTP {r.status} {await r.text()}")


def _sample_rss(procs: list[psutil.Process], until: float) -> float:
    """Peak of the summed RSS of the processes, sampled every 0.5 s, in MB."""
    peak = 0
    while time.time() < until:
        peak = max(peak, sum(p.memory_info().rss for p in procs))
        time.sleep(0.5)
    return peak / 2**20


def _register_phase(base_url: str, names: list[str], opts: Options, **kw: Any) -> tuple[int, float]:
    began = time.time()
    plans = _plans(base_url, names, opts.processes, opts.poll_s, start_at=0.0, end_at=0.0, **kw)
    registered = merge(run_processes(plans)).registered
    return registered, time.time() - began


def run_homeflex(opts: Options, tmp: Path) -> Outcome:
    names = [f"b{i:06d}" for i in range(opts.vens)]
    database_url = opts.database_url or f"sqlite:///{tmp / 'vtn.db'}"
    # PostgreSQL: a schema of its own, dropped afterwards (the database may be shared).
    schema = f"bench_{uuid.uuid4().hex[:10]}" if database_url.startswith("postgres") else None
    if opts.workers > 1 and schema is None:
        raise ValueError("several workers need a shared PostgreSQL: give --database-url postgresql://...")
    asyncio.run(_enrol(database_url, schema, names))
    ports = [free_port() for _ in range(opts.workers)]
    ctx = mp.get_context("spawn")
    servers = [
        ctx.Process(target=_serve_homeflex, args=(database_url, schema, port, opts.poll_s), daemon=True)
        for port in ports
    ]
    for server in servers:
        server.start()
    try:
        for port in ports:
            wait_listening(port)
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        kw: dict[str, Any] = {"more_urls": tuple(urls[1:])}
        registered, register_s = _register_phase(urls[0], names, opts, **kw)
        procs = [psutil.Process(server.pid) for server in servers]
        start_at = time.time() + 5.0
        event_at = start_at + opts.poll_s * 1.2
        window = max(opts.poll_s * opts.polls_per_ven, event_at + opts.poll_s + 3.0 - start_at)
        plans = _plans(
            urls[0],
            names,
            opts.processes,
            opts.poll_s,
            start_at=start_at,
            end_at=start_at + window,
            register=False,
            **kw,
        )
        results: list[LoadResult] = []
        ctx_threads = _Background(lambda: results.extend(run_processes(plans)))
        spy = _profile(opts.profile, servers[0].pid, start_at, window)
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = sum(sum(p.cpu_times()[:2]) for p in procs)
        time.sleep(max(0.0, event_at - time.time()))
        created = time.time()
        asyncio.run(_create_event(urls[0]))
        api_s = time.time() - created
        rss = _sample_rss(procs, start_at + window)
        cpu = sum(sum(p.cpu_times()[:2]) for p in procs) - cpu0
        ctx_threads.join()
        if spy is not None:
            spy.wait(timeout=60)
    finally:
        for server in servers:
            server.terminate()
            server.join(10)
        if schema is not None:
            asyncio.run(_drop_schema(database_url, schema))
    workers = f", {opts.workers} workers (each VEN polls them in turn)" if opts.workers > 1 else ""
    return Outcome(
        label=f"homeflex VTN (DB-backed poll{workers})",
        vens=opts.vens,
        registered=registered,
        register_s=register_s,
        load=merge(results),
        window_s=window,
        vtn_cpu_s=cpu,
        rss_mb=rss,
        event_created_at=created,
        event_api_s=api_s,
        setup_note=f"database {database_url.split(':', 1)[0]}",
    )


def run_reference(opts: Options) -> Outcome:
    names = [f"r{i:06d}" for i in range(opts.reference_vens)]
    port = free_port()
    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    base_url = f"http://127.0.0.1:{port}"
    window = opts.poll_s * opts.polls_per_ven
    # The event time is fixed before the server starts; registration must be done by then.
    register_budget = 20.0 + opts.reference_vens / 100
    event_at = time.time() + register_budget + opts.poll_s * 1.2
    server = ctx.Process(target=_serve_reference, args=(port, opts.poll_s, event_at, out), daemon=True)
    server.start()
    try:
        wait_listening(port)
        registered, register_s = _register_phase(base_url, names, opts)
        proc = psutil.Process(server.pid)
        start_at = time.time() + 5.0
        if start_at > event_at - opts.poll_s:
            raise RuntimeError("the reference registration took longer than its budget")
        end_at = max(start_at + window, event_at + opts.poll_s + 3.0)
        plans = _plans(
            base_url, names, opts.processes, opts.poll_s, start_at=start_at, end_at=end_at, register=False
        )
        results: list[LoadResult] = []
        background = _Background(lambda: results.extend(run_processes(plans)))
        time.sleep(max(0.0, start_at - time.time()))
        cpu0 = sum(proc.cpu_times()[:2])
        rss = _sample_rss([proc], end_at)
        cpu = sum(proc.cpu_times()[:2]) - cpu0
        background.join()
        created, add_s = out.get(timeout=10)
    finally:
        server.terminate()
        server.join(10)
    return Outcome(
        label="reference: bare openleadr VTN (in-memory queue)",
        vens=opts.reference_vens,
        registered=registered,
        register_s=register_s,
        load=merge(results),
        window_s=end_at - start_at,
        vtn_cpu_s=cpu,
        rss_mb=rss,
        event_created_at=created,
        event_api_s=add_s,
        setup_note="openleadr add_event per VEN",
    )


def _profile(path: Path | None, pid: int | None, start_at: float, window: float) -> Any:
    """py-spy (pip install py-spy) sampling the VTN for the polling window, if asked for."""
    if path is None or pid is None:
        return None
    import subprocess

    time.sleep(max(0.0, start_at - time.time()))
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(window)),
            "--format",
            "raw",
            "--output",
            str(path),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
    )


class _Background:
    """A thread running `fn`, so the parent can time the event while the generators run."""

    def __init__(self, fn: Any) -> None:
        import threading

        self._thread = threading.Thread(target=fn, daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()


# -- report ----------------------------------------------------------------------------------------


def _latency(samples: list[float]) -> str:
    lat = summarise(samples)
    return (
        f"p50 {lat.p50_s * 1000:.1f} ms, p99 {lat.p99_s * 1000:.1f} ms, max {lat.max_s * 1000:.1f} ms "
        f"({lat.count} polls)"
    )


def describe(o: Outcome, poll_s: float) -> dict[str, str]:
    seen = o.load.first_seen.get(next(iter(o.load.first_seen), ""), [])
    delays = sorted(t - o.event_created_at for t in seen)
    within = sum(d <= poll_s + 1.0 for d in delays)
    per_poll_ms = o.vtn_cpu_s / o.load.polls * 1000 if o.load.polls else float("nan")
    return {
        "VENs registered": f"{o.registered} / {o.vens} in {o.register_s:.1f} s "
        f"({o.registered / o.register_s:.0f}/s)",
        "polls": f"{o.load.polls} in {o.window_s:.0f} s = {o.load.polls / o.window_s:.0f}/s "
        f"(offered {o.registered / poll_s:.0f}/s), errors {o.load.errors}",
        "poll latency": _latency(o.load.latencies_s),
        "poll latency before the event": _latency(
            [x for x, t in zip(o.load.latencies_s, o.load.sent_at, strict=True) if t < o.event_created_at]
        ),
        "poll latency from the event on": _latency(
            [x for x, t in zip(o.load.latencies_s, o.load.sent_at, strict=True) if t >= o.event_created_at]
        ),
        "VTN CPU": f"{o.vtn_cpu_s:.1f} s over the window = {per_poll_ms:.2f} ms per poll "
        f"(incl. the event) -> {1000 / per_poll_ms:.0f} polls/s per core",
        "VTN RSS": f"{o.rss_mb:.0f} MB (peak while polling)",
        "event creation": f"{o.event_api_s:.2f} s ({o.setup_note})",
        "event received by": f"{len(delays)} / {o.registered} VENs; "
        + (
            f"all within {delays[-1]:.2f} s, p50 {delays[len(delays) // 2]:.2f} s; {within} within poll + 1 s"
            if delays
            else "none"
        ),
        "opt acks sent": str(o.load.acks),
        "generator CPU": f"{o.load.cpu_s:.1f} s in {o.window_s:.0f} s (all generator processes)",
    }


def cli(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m bench vtn_scale", description=__doc__)
    p.add_argument("--vens", type=int, default=10_000, help="VENs against our VTN (default 10000)")
    p.add_argument("--reference-vens", type=int, default=1_000, help="VENs against bare openleadr (0: skip)")
    p.add_argument("--poll-s", type=float, default=10.0, help="poll interval (default 10 s)")
    p.add_argument("--processes", type=int, default=2, help="load generator processes (default 2)")
    p.add_argument("--polls-per-ven", type=int, default=3, help="the run lasts this many poll intervals")
    p.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    p.add_argument("--workers", type=int, default=1, help="VTN processes on one PostgreSQL (default 1)")
    p.add_argument("--profile", type=Path, default=None, help="py-spy collapsed stacks of our VTN to here")
    p.add_argument("--no-results", action="store_true", help="print only; do not append to RESULTS.md")
    a = p.parse_args(argv)
    return main(
        Options(
            vens=a.vens,
            reference_vens=a.reference_vens,
            poll_s=a.poll_s,
            processes=a.processes,
            polls_per_ven=a.polls_per_ven,
            database_url=a.database_url,
            workers=a.workers,
            profile=a.profile,
            results=None if a.no_results else Path(__file__).with_name("RESULTS.md"),
        )
    )


def main(opts: Options) -> int:
    logging.getLogger("openleadr").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        ours = run_homeflex(opts, Path(tmp))
    reference = run_reference(opts) if opts.reference_vens > 0 else None
    lines = [
        "## vtn_scale",
        "",
        f"- date: {datetime.now(UTC).replace(microsecond=0).isoformat()}",
        f"- cpu: {cpu_description()}, load average at the end {psutil.getloadavg()}",
        f"- poll interval {opts.poll_s:.0f} s, {opts.processes} generator processes, loopback HTTP, "
        "unsigned, no TLS",
        "",
    ]
    for o in (ours, reference):
        if o is None:
            continue
        lines.append(f"**{o.label}**, {o.vens} VENs")
        lines.append("")
        lines.extend(f"- {k}: {v}" for k, v in describe(o, opts.poll_s).items() if v)
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if opts.results is not None:
        append_section(opts.results, text)
    everyone = len(next(iter(ours.load.first_seen.values()), [])) == ours.registered == ours.vens
    return 0 if everyone else 1
