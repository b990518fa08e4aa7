"""OpenADR 2.0b push at scale: one event pushed to N push-mode VENs; are all acknowledged within 1 s?

`python -m bench vtn_push [--vens 1000]`

Our VTN runs in its own process (SQLite, N households; polls every 60 s, so only a push delivers in
time). A receiver process serves the N VENs' push endpoints (one path per VEN) and registers them
over OpenADR for push. On each push it answers oadrResponse at once, then sends oadrCreatedEvent
(optIn) to the VTN, as a VEN does. The operator API creates one event for all N. Timed from that
call: each push received, and each oadrCreatedEvent answered by the VTN (the answer is committed
before the VTN replies). Reference in the same run: the receiver's floor. One bare aiohttp client
posts the same N message bodies to the same endpoints, with the pusher's concurrency, and no VTN.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from lxml import etree
from openleadr.messaging import create_message, validate_xml_schema

from bench.report import append_section, cpu_description
from bench.stats import summarise
from bench.vtn_load import EI, OADR, PREFIX, PYLD, Pool, created_event_fast, registration_message
from bench.vtn_scale import _create_event, _enrol, _serve_homeflex, free_port, wait_listening
from homeflex.storage.records import EventRecord
from homeflex.vtn.poll import Renderer


@dataclass(kw_only=True)
class Receipts:
    received: dict[str, float] = field(default_factory=dict)  # ven -> wall time the push arrived
    acked: dict[str, float] = field(default_factory=dict)  # ven -> wall time the VTN answered its opt
    reference: dict[str, float] = field(default_factory=dict)
    registered: int = 0
    errors: int = 0
    schema_checked: bool = False


def _receiver(vtn_url: str, names: list[str], port: int, end_at: float, out: Any) -> None:
    """The N push-mode VENs in one process."""
    logging.getLogger("openleadr").setLevel(logging.WARNING)

    async def main() -> Receipts:
        got = Receipts()
        pool = Pool(vtn_url, 100)
        tasks: set[asyncio.Task[None]] = set()
        answer = create_message(
            "oadrResponse",
            response={"response_code": 200, "response_description": "OK", "request_id": None},
            ven_id="VENXPLACEHOLDER",
        )

        async def ack(ven_id: str, request_id: str, event_id: str, modification: int) -> None:
            body = created_event_fast(ven_id, request_id, [(event_id, modification)])
            status, _ = await pool.post(f"{PREFIX}/EiEvent", body)
            if status == 200:
                got.acked[ven_id] = time.time()
            else:
                got.errors += 1

        async def push(request: web.Request) -> web.Response:
            now, ven_id, body = time.time(), request.match_info["ven"], await request.read()
            if not got.schema_checked:
                validate_xml_schema(body)  # one pushed message per run through the schema
                got.schema_checked = True
            tree = etree.fromstring(body)
            event_id = tree.findtext(f".//{EI}eventDescriptor/{EI}eventID") or ""
            if event_id.startswith("ref-"):
                got.reference[ven_id] = now
            else:
                got.received.setdefault(ven_id, now)
                request_id = tree.findtext(f".//{OADR}oadrDistributeEvent/{PYLD}requestID") or ""
                modification = int(tree.findtext(f".//{EI}eventDescriptor/{EI}modificationNumber") or 0)
                task = asyncio.ensure_future(ack(ven_id, request_id, event_id, modification))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            return web.Response(
                text=answer.replace("VENXPLACEHOLDER", ven_id), content_type="application/xml"
            )

        app = web.Application()
        app.router.add_post("/push/{ven}", push)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
        for name in names:
            reply = (
                await pool.post(
                    f"{PREFIX}/EiRegisterParty",
                    registration_message(name, f"http://127.0.0.1:{port}/push/ven-{name}"),
                )
            )[1]
            got.registered += b"oadrCreatedPartyRegistration" in reply
        out.put(("registered", got.registered))
        while time.time() < end_at and len(got.acked) < len(names):  # noqa: ASYNC110 (bounded)
            await asyncio.sleep(0.05)
        await runner.cleanup()
        pool.close()
        return got

    out.put(("done", asyncio.run(main())))


async def _reference(port: int, names: list[str], concurrency: int) -> tuple[float, float]:
    """The floor: the same kind of body posted to every endpoint by a bare client; (start, all done).
    Its event id starts with "ref-", so the receiver does not answer it to the VTN."""
    now = datetime.now(UTC)
    event = EventRecord(
        event_id="ref-event",
        modification_number=0,
        status="scheduled",
        start=now + timedelta(hours=1),
        duration=timedelta(minutes=30),
        reduction_kw=1.0,
        price_gbp_per_mwh=500.0,
        created_at=now,
    )
    renderer = Renderer("REFERENCE")
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:

        async def one(name: str) -> None:
            text = renderer.distribute([event], f"ven-{name}", now)
            async with (
                limit,
                session.post(
                    f"http://127.0.0.1:{port}/push/ven-{name}",
                    data=text.encode(),
                    headers={"content-type": "application/xml"},
                ) as r,
            ):
                await r.read()

        began = time.time()
        await asyncio.gather(*(one(n) for n in names))
        return began, time.time()


@dataclass(frozen=True, kw_only=True)
class Options:
    vens: int = 1_000
    results: Path | None = None


def run(opts: Options) -> dict[str, Any]:
    names = [f"p{i:05d}" for i in range(opts.vens)]
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'vtn.db'}"
        asyncio.run(_enrol(database_url, None, names))
        vtn_port, push_port = free_port(), free_port()
        server = ctx.Process(target=_serve_homeflex, args=(database_url, None, vtn_port, 60.0), daemon=True)
        server.start()
        out: Any = ctx.Queue()
        try:
            wait_listening(vtn_port)
            vtn_url = f"http://127.0.0.1:{vtn_port}"
            receiver = ctx.Process(
                target=_receiver, args=(vtn_url, names, push_port, time.time() + 120, out), daemon=True
            )
            receiver.start()
            kind, registered = out.get(timeout=120)
            assert kind == "registered"
            time.sleep(2.0)  # the pusher re-reads push registrations every second
            ref_start, ref_end = asyncio.run(_reference(push_port, names, 200))
            created = time.time()
            asyncio.run(_create_event(vtn_url))
            api_s = time.time() - created
            kind, got = out.get(timeout=150)
            assert kind == "done"
            receiver.join(10)
        finally:
            server.terminate()
            server.join(10)
    return {
        "registered": registered,
        "api_s": api_s,
        "received": sorted(t - created for t in got.received.values()),
        "acked": sorted(t - created for t in got.acked.values()),
        "reference": sorted(t - ref_start for t in got.reference.values()),
        "reference_all_s": ref_end - ref_start,
        "errors": got.errors,
        "schema_checked": got.schema_checked,
    }


def _line(label: str, delays: list[float], n: int) -> str:
    if not delays:
        return f"- {label}: none of {n}"
    s = summarise(delays)
    within = sum(d <= 1.0 for d in delays)
    return (
        f"- {label}: {len(delays)} / {n}; all within {s.max_s:.3f} s, p50 {s.p50_s:.3f} s; "
        f"{within} within 1 s"
    )


def main(opts: Options) -> int:
    r = run(opts)
    n = opts.vens
    acked_all = len(r["acked"]) == n and r["acked"][-1] <= 1.0
    text = "\n".join(
        [
            "## vtn_push — one event pushed to push-mode VENs (OpenADR 2.0b push)",
            "",
            f"- date: {datetime.now(UTC).replace(microsecond=0).isoformat()}; cpu: {cpu_description()}, "
            "shared with other engineers' work; VTN (SQLite), receiver and reference client on loopback",
            f"- {r['registered']} VENs registered for push (one receiver process, a path per VEN); "
            f"the VTN's polls are 60 s apart, so only the push delivers in time; {r['errors']} ack errors; "
            f"pushed XML schema-checked: {r['schema_checked']}",
            f"- event created through the operator API in {r['api_s']:.3f} s (timed from the call)",
            _line("push received by the VEN", r["received"], n),
            _line("oadrCreatedEvent answered by the VTN (stored)", r["acked"], n),
            _line(
                "reference: the same bodies from a bare aiohttp client, 200 at a time, no VTN",
                r["reference"],
                n,
            )
            + f" (all answered in {r['reference_all_s']:.3f} s)",
            "",
            f"Goal (all {n} acknowledged within 1 s of the API call): {'MET' if acked_all else 'NOT MET'}.",
        ]
    )
    print(text)
    if opts.results is not None:
        append_section(opts.results, text)
    return 0 if acked_all else 1


def cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench vtn_push", description=__doc__)
    p.add_argument("--vens", type=int, default=1_000, help="push-mode VENs (default 1000)")
    p.add_argument("--no-results", action="store_true", help="print only; do not append to RESULTS.md")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return main(
        Options(vens=a.vens, results=None if a.no_results else Path(__file__).with_name("RESULTS.md"))
    )
