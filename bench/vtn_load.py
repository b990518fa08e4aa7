"""A load generator that speaks OpenADR 2.0b pull to a VTN: many VENs from a few processes, on loopback.

Every message is built with openleadr's own `create_message` and checked against its schema
(`validate_xml_schema`) before the run; per VEN only the venID differs, so the run sends prebuilt bytes
and the generator spends its CPU on HTTP, not on templates. Each VEN registers
(oadrCreatePartyRegistration), then polls (oadrPoll) every `poll_s` at its own phase; an
oadrDistributeEvent is parsed with openleadr's `parse_message` and answered with oadrCreatedEvent
(optIn), as openleadr's VEN does. Bounded: a fixed set of VENs, a fixed end time, a few keep-alive
connections per process, 30 s per request.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import etree
from openleadr.messaging import create_message, parse_message, validate_xml_schema

PREFIX = "/OpenADR2/Simple/2.0b"
OADR = "{http://openadr.org/oadr-2.0b/2012/07}"
EI = "{http://docs.oasis-open.org/ns/energyinterop/201110}"
PYLD = "{http://docs.oasis-open.org/ns/energyinterop/201110/payloads}"


def poll_message(ven_id: str) -> bytes:
    return create_message("oadrPoll", ven_id=ven_id).encode()


def registration_message(ven_name: str, push_to: str | None = None) -> bytes:
    """Registration for pull, or for push to the endpoint `push_to`."""
    return create_message(
        "oadrCreatePartyRegistration",
        request_id=uuid.uuid4().hex,
        ven_name=ven_name,
        http_pull_model=push_to is None,
        xml_signature=False,
        report_only=False,
        profile_name="2.0b",
        transport_name="simpleHttp",
        transport_address=push_to,
    ).encode()


def created_event_message(ven_id: str, request_id: str, events: Sequence[tuple[str, int]]) -> bytes:
    responses = [
        {
            "response_code": 200,
            "response_description": "OK",
            "request_id": request_id,
            "event_id": event_id,
            "modification_number": modification,
            "opt_type": "optIn",
        }
        for event_id, modification in events
    ]
    return create_message(
        "oadrCreatedEvent",
        response={"response_code": 200, "response_description": "OK", "request_id": request_id},
        event_responses=responses,
        ven_id=ven_id,
    ).encode()


_CREATED_ONE = created_event_message("VENXPLACEHOLDER", "REQXPLACEHOLDER", [("EVTXPLACEHOLDER", 987654321)])


def created_event_fast(ven_id: str, request_id: str, events: Sequence[tuple[str, int]]) -> bytes:
    """created_event_message's bytes, from one prebuilt message for the usual single event."""
    texts = (ven_id, request_id, events[0][0]) if len(events) == 1 else ()
    if not texts or any(not x.isascii() or "<" in x or "&" in x for x in texts):
        return created_event_message(ven_id, request_id, events)
    return (
        _CREATED_ONE.replace(b"VENXPLACEHOLDER", ven_id.encode())
        .replace(b"REQXPLACEHOLDER", request_id.encode())
        .replace(b"EVTXPLACEHOLDER", events[0][0].encode())
        .replace(b"987654321", str(events[0][1]).encode())
    )


def check_schema(*messages: bytes) -> None:
    """Raises lxml's XMLSyntaxError if a message is not valid OpenADR 2.0b."""
    for message in messages:
        validate_xml_schema(message)


@dataclass(frozen=True, kw_only=True)
class LoadPlan:
    """What one generator process does. Times are wall-clock epoch seconds (shared across processes)."""

    base_url: str  # e.g. http://127.0.0.1:8080 (the OpenADR prefix is added)
    more_urls: tuple[str, ...] = ()  # other VTN workers: VEN i registers on worker i, then rotates
    ven_names: tuple[str, ...]
    poll_s: float
    start_at: float  # first polls begin here, spread over one poll interval
    end_at: float
    connections: int = 250  # keep-alive connections per process, shared by its VENs
    register: bool = True


@dataclass(kw_only=True)
class LoadResult:
    registered: int = 0
    refused: int = 0
    polls: int = 0
    errors: int = 0
    latencies_s: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # wall time each timed poll was sent
    first_seen: dict[str, list[float]] = field(default_factory=dict)  # event id -> receive times
    acks: int = 0
    schema_checked: int = 0
    cpu_s: float = 0.0  # the generator process's own CPU time


class _Connection:
    """One keep-alive HTTP/1.1 connection, one request at a time: far less client CPU than aiohttp's
    client, so the VTN rather than the generator is what the run measures."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: bytes) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.writer.write(
            b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n"
            % (path.encode(), self.host, len(body))
            + body
        )
        status = int((await self.reader.readline()).split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"transfer-encoding":
                raise RuntimeError("chunked responses are not expected from the VTN")
        return status, await self.reader.readexactly(length)


class Pool:
    """`size` connections shared by the VENs of one process (each VEN's request waits for a free one)."""

    def __init__(self, base_url: str, size: int) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.size = size
        self.free: asyncio.Queue[_Connection | None] = asyncio.Queue()
        for _ in range(size):
            self.free.put_nowait(None)  # opened on first use

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        conn = await self.free.get()
        try:
            if conn is None:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                conn = _Connection(reader, writer, f"{self.host}:{self.port}".encode())
            result = await asyncio.wait_for(conn.post(path, body), timeout=30)
        except BaseException:
            if conn is not None:
                conn.writer.close()
            self.free.put_nowait(None)
            raise
        self.free.put_nowait(conn)
        return result

    def close(self) -> None:
        while not self.free.empty():
            conn = self.free.get_nowait()
            if conn is not None:
                conn.writer.close()


class _Generator:
    def __init__(self, plan: LoadPlan, pools: list[Pool], stop: asyncio.Event) -> None:
        self.plan = plan
        self.pools = pools
        self.stop = stop
        self.result = LoadResult()
        self.seen: dict[str, dict[str, int]] = {}  # ven id -> event id -> modification answered

    async def _post(self, service: str, body: bytes, worker: int = 0) -> bytes:
        status, text = await self.pools[worker % len(self.pools)].post(f"{PREFIX}/{service}", body)
        if status != 200:
            raise RuntimeError(f"{service}: HTTP {status}: {text[:200]!r}")
        return text

    async def register(self, name: str, worker: int = 0) -> str | None:
        reply = await self._post("EiRegisterParty", registration_message(name), worker)
        msg_type, payload = parse_message(reply)
        if msg_type != "oadrCreatedPartyRegistration" or not payload.get("registration_id"):
            self.result.refused += 1
            return None
        self.result.registered += 1
        return str(payload["ven_id"])

    async def _on_events(self, ven_id: str, reply: bytes, worker: int) -> None:
        if self.result.schema_checked < 3:  # a few answers per process go through openleadr's checks
            validate_xml_schema(reply)
            parse_message(reply)
            self.result.schema_checked += 1
        tree = etree.fromstring(reply)
        now = time.time()
        answered = self.seen.setdefault(ven_id, {})
        fresh = []
        for descriptor in tree.iter(f"{EI}eventDescriptor"):
            event_id = descriptor.findtext(f"{EI}eventID") or ""
            modification = int(descriptor.findtext(f"{EI}modificationNumber") or 0)
            if answered.get(event_id) != modification:
                answered[event_id] = modification
                fresh.append((event_id, modification))
                if modification == 0:
                    self.result.first_seen.setdefault(event_id, []).append(now)
        if fresh:
            request_id = tree.findtext(f".//{OADR}oadrDistributeEvent/{PYLD}requestID") or ""
            await self._post("EiEvent", created_event_fast(ven_id, request_id, fresh), worker)
            self.result.acks += 1

    async def poll_loop(self, ven_id: str, phase_s: float, worker: int) -> None:
        """Polls the workers in turn, starting with the one it registered on (a load balancer)."""
        body = poll_message(ven_id)
        due = self.plan.start_at + phase_s
        while True:
            worker += 1
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.time() >= self.plan.end_at or self.stop.is_set():
                return
            began, sent = time.perf_counter(), time.time()
            try:
                reply = await self._post("OadrPoll", body, worker)
                self.result.latencies_s.append(time.perf_counter() - began)
                self.result.sent_at.append(sent)
                self.result.polls += 1
                if b"oadrDistributeEvent" in reply:
                    await self._on_events(ven_id, reply, worker)
            except (OSError, RuntimeError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                self.result.errors += 1
            # A poll that overran its slot is skipped, as openleadr's APScheduler job does.
            due = max(due + self.plan.poll_s, time.time())


async def run_plan(plan: LoadPlan, stop: asyncio.Event | None = None) -> LoadResult:
    """Run the plan in this process; setting `stop` ends it early (each VEN at its next poll)."""
    urls = (plan.base_url, *plan.more_urls)
    pools = [Pool(url, max(1, plan.connections // len(urls))) for url in urls]
    try:
        gen = _Generator(plan, pools, stop or asyncio.Event())
        ids: list[str | None]
        if plan.register:
            ids = list(await asyncio.gather(*(gen.register(n, i) for i, n in enumerate(plan.ven_names))))
        else:
            ids = [f"ven-{n}" for n in plan.ven_names]
        spread = plan.poll_s / max(len(ids), 1)
        await asyncio.gather(*(gen.poll_loop(v, i * spread, i) for i, v in enumerate(ids) if v))
        return gen.result
    finally:
        for pool in pools:
            pool.close()


def _process(plan: LoadPlan, out: mp.Queue) -> None:  # type: ignore[type-arg]
    import logging

    logging.getLogger("openleadr").setLevel(logging.WARNING)
    result = asyncio.run(run_plan(plan))
    result.cpu_s = time.process_time()
    out.put(result)


def run_processes(plans: Sequence[LoadPlan]) -> list[LoadResult]:
    """One OS process per plan (spawned, so none inherits the parent's event loop); waits for all."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_process, args=(p, out), daemon=True) for p in plans]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join(timeout=10)
    return results


def merge(results: Sequence[LoadResult]) -> LoadResult:
    total = LoadResult()
    for r in results:
        total.registered += r.registered
        total.refused += r.refused
        total.polls += r.polls
        total.errors += r.errors
        total.acks += r.acks
        total.schema_checked += r.schema_checked
        total.cpu_s += r.cpu_s
        total.latencies_s.extend(r.latencies_s)
        total.sent_at.extend(r.sent_at)
        for event_id, times in r.first_seen.items():
            total.first_seen.setdefault(event_id, []).extend(times)
    return total
