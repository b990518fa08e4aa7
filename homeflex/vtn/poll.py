"""Cheap OpenADR 2.0b polls at DSO scale (10,000 VENs polling every 10 s = 1,000 polls/s).

Measured before this module (bench/RESULTS.md, vtn_scale): every poll cost two VEN lookups and an
event query in the database, and every delivery a fresh oadrDistributeEvent from openleadr's templates;
at 10,000 VENs the VTN fell behind. Here:

- `PollState` keeps, per worker, the events that can still be sent and which households have not
  answered their current modification, so a poll is a dictionary lookup with no database work. The
  database stays the truth: the live events are re-read at most every `refresh_s` (an event created
  or cancelled through another worker reaches this one's VENs within that), and who has answered is
  re-read every `resync_s` (an answer taken by another worker; until then this worker may send the
  event once more, and the VEN answers the same modification again, as OpenADR allows). A due re-read
  runs in the background: polls wait only for a read older than `max_stale_s`.
- `Renderer` renders each distinct oadrDistributeEvent (same events, modifications and status) once
  and fills in the venID and a fresh requestID per VEN; an empty poll gets a prebuilt oadrResponse.
- `favour_database_thread` shortens the interpreter's GIL switch interval: aiosqlite runs each
  statement on its own thread, which gives up the GIL for every row of an executemany and then waits
  up to the switch interval (5 ms) to get it back from a busy event loop. With a 1,000-row batch that
  was seconds per commit at 10,000 VENs; at 0.5 ms the whole event reached every VEN in time.
- `fast_path_middleware` answers plain-HTTP, unsigned oadrPoll and oadrCreatedEvent messages from the
  above after openleadr's own schema check, without openleadr's parse-and-render round trip. Anything
  else (TLS, signed messages, an unknown VEN, an invalid message) goes to openleadr's handler unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from xml.sax.saxutils import escape

from aiohttp import web
from lxml import etree
from openleadr import messaging
from openleadr.service import VTNService

from homeflex.core.clock import Clock, perf_seconds
from homeflex.storage.aggregators import AggregatorStore
from homeflex.storage.deliveries import DeliveryStore
from homeflex.storage.events import EventStore
from homeflex.storage.households import HouseholdStore
from homeflex.storage.records import EventRecord, VenRecord
from homeflex.vtn.events import event_status, openadr_event

log = logging.getLogger(__name__)
OADR = "{http://openadr.org/oadr-2.0b/2012/07}"
EI = "{http://docs.oasis-open.org/ns/energyinterop/201110}"
PYLD = "{http://docs.oasis-open.org/ns/energyinterop/201110/payloads}"
VEN_PLACEHOLDER = "HOMEFLEXVENIDPLACEHOLDER"
REQUEST_PLACEHOLDER = "HOMEFLEXREQUESTIDPLACEHOLDER"


@dataclass(frozen=True, kw_only=True)
class _Live:
    """The live events (not ended) as last read, and who has not answered each one's modification."""

    events: dict[str, EventRecord]
    targets: dict[str, frozenset[str]]  # event id -> households targeted (fixed when it is created)
    waiting: dict[str, set[str]]  # event id -> households still to answer (mutated as answers come)
    portfolios: dict[str, frozenset[str]]  # aggregator (its household id) -> member households
    member_of: dict[str, str]  # member household -> its aggregator


class PollStore(EventStore, DeliveryStore, HouseholdStore, AggregatorStore, Protocol):
    """What the poll state reads: live events and their targets, VEN registrations, portfolios."""


class PollState:
    """What one VTN worker knows about pending events and registered VENs, re-read from storage."""

    def __init__(
        self,
        storage: PollStore,
        clock: Clock,
        *,
        refresh_s: float = 0.5,
        resync_s: float = 5.0,
        max_stale_s: float = 2.0,
        ven_cache_s: float = 300.0,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.refresh_s = refresh_s
        self.resync_s = resync_s
        self.max_stale_s = max_stale_s
        self.ven_cache_s = ven_cache_s
        self._live = _Live(events={}, targets={}, waiting={}, portfolios={}, member_of={})
        self._read_at = -float("inf")  # monotonic times of the last refresh and resync
        self._synced_at = -float("inf")
        self._refreshing: asyncio.Task[None] | None = None
        self._vens: dict[str, tuple[VenRecord, float]] = {}

    # -- VEN registrations: immutable once registered but for the fingerprint, so cached a while

    async def ven(self, ven_id: str) -> VenRecord | None:
        hit = self._vens.get(ven_id)
        if hit is not None and hit[1] > perf_seconds():
            return hit[0]
        ven = await self.storage.get_ven(ven_id)
        if ven is not None and ven.registration_id:  # provisioned, not yet registered: ask again
            self._vens[ven_id] = (ven, perf_seconds() + self.ven_cache_s)
        return ven

    def remember_ven(self, ven: VenRecord) -> None:
        """A registration this worker has just stored."""
        self._vens[ven.ven_id] = (ven, perf_seconds() + self.ven_cache_s)

    # -- events

    async def refresh(self, *, force: bool = False) -> None:
        """Re-read the live events if `refresh_s` has passed (or `force`); concurrent callers share one
        read. Polls do not wait for it (see `pending`) unless what they would use is too old."""
        if not force and perf_seconds() - self._read_at < self.refresh_s:
            return
        task = self._start_read()
        await asyncio.shield(task)

    async def ensure_read(self) -> None:
        """Read once if this worker has not read yet (who is an aggregator is known from a read)."""
        if self._read_at == -float("inf"):
            await self.refresh(force=True)

    def _start_read(self) -> asyncio.Task[None]:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._read())
            self._refreshing.add_done_callback(_log_failed_read)
        return self._refreshing

    async def _read(self) -> None:
        started = perf_seconds()
        resync = started - self._synced_at >= self.resync_s
        now = self.clock.now()
        live = {e.event_id: e for e in await self.storage.live_events(now)}
        portfolios = {
            a.id: frozenset(m.household_id for m in a.members) for a in await self.storage.list_aggregators()
        }
        old = self._live
        targets: dict[str, frozenset[str]] = {}
        waiting: dict[str, set[str]] = {}
        for event_id, event in live.items():
            known = old.events.get(event_id)
            if not resync and known is not None and known.modification_number == event.modification_number:
                targets[event_id] = old.targets[event_id]
                waiting[event_id] = old.waiting[event_id]  # answers seen since stay seen
                continue
            rows = await self.storage.event_targets(event_id)
            targets[event_id] = frozenset(t.household_id for t in rows)
            waiting[event_id] = {
                t.household_id
                for t in rows
                if t.acked_modification is None or t.acked_modification < event.modification_number
            }
        member_of = {m: a for a, members in portfolios.items() for m in members}
        self._live = _Live(
            events=live, targets=targets, waiting=waiting, portfolios=portfolios, member_of=member_of
        )
        self._read_at = started
        if resync:
            self._synced_at = started

    async def pending(self, household_id: str, now: datetime) -> list[EventRecord]:
        """Events to send to the household's VEN now (not answered at their modification, not ended).

        A due refresh runs in the background while polls are answered from the last read: with a slow
        database (a 10,000-row resync) every poll would otherwise wait for it. Only a read older than
        `max_stale_s` (or none yet) is waited for."""
        age = perf_seconds() - self._read_at
        if age >= self.max_stale_s:
            await self.refresh(force=True)
        elif age >= self.refresh_s:
            self._start_read()
        live = self._live
        # An aggregator's VEN answers for its members: an event is pending while any member waits.
        members = live.portfolios.get(household_id)
        if members is None:
            due = [e for e in live.events.values() if household_id in live.waiting[e.event_id]]
        else:
            due = [e for e in live.events.values() if not members.isdisjoint(live.waiting[e.event_id])]
        return sorted((e for e in due if e.end > now), key=lambda e: (e.start, e.event_id))

    def resources(self, event_id: str, household_id: str) -> tuple[str, ...]:
        """The members of an aggregator's portfolio a live event targets (its eiTarget resourceIDs);
        () for a household's own VEN, or an event not live here."""
        members = self._live.portfolios.get(household_id)
        targets = self._live.targets.get(event_id)
        if members is None or targets is None:
            return ()
        return tuple(sorted(members & targets))

    def is_aggregator(self, household_id: str) -> bool:
        return household_id in self._live.portfolios

    def answering_for(self, event_id: str, household_id: str) -> tuple[str, ...] | None:
        """The targeted households a VEN's delivery or answer stands for: the household itself, or an
        aggregator's targeted members; None if the event is not live here (the database decides)."""
        if event_id not in self._live.targets:
            return None
        if self.is_aggregator(household_id):
            return self.resources(event_id, household_id)
        return (household_id,) if household_id in self._live.targets[event_id] else ()

    def ven_household(self, household_id: str) -> str:
        """The household whose VEN serves this one: its aggregator's, or its own."""
        return self._live.member_of.get(household_id, household_id)

    def waiting(self) -> list[tuple[EventRecord, frozenset[str]]]:
        """Each live event (as last read) with the households that have not answered it yet."""
        live = self._live
        return [(e, frozenset(live.waiting[e.event_id])) for e in live.events.values()]

    def targeted(self, event_id: str, household_id: str) -> bool | None:
        """Whether a live event targets the household; None if the event is not live here."""
        targets = self._live.targets.get(event_id)
        return None if targets is None else household_id in targets

    def answered(self, event_id: str, household_id: str, modification_number: int) -> None:
        event = self._live.events.get(event_id)
        if event is not None and modification_number >= event.modification_number:
            self._live.waiting[event_id].discard(household_id)


def _log_failed_read(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not re-read live events; answering from the last read: %s", task.exception())


class Renderer:
    """oadrResponse and oadrDistributeEvent as openleadr renders them, rendered once per content."""

    def __init__(self, vtn_id: str, cache_size: int = 64) -> None:
        self.vtn_id = vtn_id
        self.cache_size = cache_size
        self._empty = messaging.create_message(
            "oadrResponse",
            response={"response_code": 200, "response_description": "OK", "request_id": None},
            ven_id=VEN_PLACEHOLDER,
        )
        self._distribute: OrderedDict[tuple[Any, ...], str] = OrderedDict()

    def empty(self, ven_id: str) -> str:
        return self._empty.replace(VEN_PLACEHOLDER, escape(ven_id))

    def distribute(
        self,
        events: list[EventRecord],
        ven_id: str,
        now: datetime,
        resources: dict[str, tuple[str, ...]] | None = None,
    ) -> str:
        """`resources`: an aggregator's targeted members per event; such a message is its own (few
        aggregators, each with its own portfolio), so it is rendered for the VEN, not cached."""
        if resources:
            return messaging.create_message(
                "oadrDistributeEvent",
                events=[openadr_event(e, ven_id, now, resources.get(e.event_id, ())) for e in events],
                vtn_id=self.vtn_id,
                response={"response_code": 200, "response_description": "OK", "request_id": None},
                request_id=uuid.uuid4().hex,
            )
        key = tuple((e.event_id, e.modification_number, event_status(e, now)) for e in events)
        text = self._distribute.get(key)
        if text is None:
            text = messaging.create_message(
                "oadrDistributeEvent",
                events=[openadr_event(e, VEN_PLACEHOLDER, now) for e in events],
                vtn_id=self.vtn_id,
                response={"response_code": 200, "response_description": "OK", "request_id": None},
                request_id=REQUEST_PLACEHOLDER,
            )
            self._distribute[key] = text
            while len(self._distribute) > self.cache_size:
                self._distribute.popitem(last=False)
        return text.replace(VEN_PLACEHOLDER, escape(ven_id)).replace(REQUEST_PLACEHOLDER, uuid.uuid4().hex)


def _unsigned_message(body: bytes, message_type: str) -> Any | None:
    """The message element of a schema-valid, unsigned message of that type, or None."""
    try:
        tree = messaging.validate_xml_schema(body)
    except etree.XMLSyntaxError:
        return None
    if tree.find(".//{http://www.w3.org/2000/09/xmldsig#}Signature") is not None:
        return None
    return tree.find(f"{OADR}oadrSignedObject/{OADR}{message_type}")


def poll_ven_id(body: bytes) -> str | None:
    """The venID of a schema-valid, unsigned oadrPoll, or None for anything else."""
    poll = _unsigned_message(body, "oadrPoll")
    return (poll.findtext(f"{EI}venID") or None) if poll is not None else None


def created_event_responses(body: bytes) -> tuple[str, list[dict[str, Any]]] | None:
    """The venID and event responses (as openleadr's parser names them) of a schema-valid, unsigned
    oadrCreatedEvent, or None for anything else."""
    created = _unsigned_message(body, "oadrCreatedEvent")
    inner = created.find(f"{PYLD}eiCreatedEvent") if created is not None else None
    ven_id = inner.findtext(f"{EI}venID") if inner is not None else None
    if inner is None or not ven_id:
        return None
    responses = [
        {
            "event_id": r.findtext(f"{EI}qualifiedEventID/{EI}eventID"),
            "modification_number": int(r.findtext(f"{EI}qualifiedEventID/{EI}modificationNumber") or 0),
            "opt_type": r.findtext(f"{EI}optType"),
        }
        for r in inner.iter(f"{EI}eventResponse")
    ]
    return ven_id, responses


def signs_messages() -> bool:
    """True unless openleadr's VTN renders with create_message and no key (then nothing is signed)."""
    create = VTNService._create_message
    if not isinstance(create, functools.partial) or create.func is not messaging.create_message:
        return True
    return bool(create.keywords.get("key"))


DATABASE_THREAD_SWITCH_S = 0.0005


def favour_database_thread() -> None:
    """Lower the GIL switch interval to DATABASE_THREAD_SWITCH_S (never raise it); see the module doc.
    A process-wide setting: called where a process is the VTN (`homeflex vtn`, the benchmark's VTN
    process), not where a VTN is embedded in a larger process (demo, tests)."""
    if sys.getswitchinterval() > DATABASE_THREAD_SWITCH_S:
        sys.setswitchinterval(DATABASE_THREAD_SWITCH_S)


class FastAnswers(Protocol):
    async def answer_poll(self, ven_id: str) -> str | None: ...

    async def answer_created(self, ven_id: str, responses: list[dict[str, Any]]) -> str | None: ...


def fast_path_middleware(prefix: str, answers: FastAnswers) -> Any:
    """Answer plain, unsigned oadrPoll and oadrCreatedEvent messages from `answers` (None defers the
    message to openleadr's own handler, as does anything else)."""
    poll_path, event_path = f"{prefix}/OadrPoll", f"{prefix}/EiEvent"

    async def answer(path: str, body: bytes) -> str | None:
        if path == poll_path:
            ven_id = poll_ven_id(body)
            return await answers.answer_poll(ven_id) if ven_id is not None else None
        created = created_event_responses(body)
        return await answers.answer_created(*created) if created is not None else None

    @web.middleware
    async def fast_path(request: web.Request, handler: Any) -> web.StreamResponse:
        if (
            request.method != "POST"
            or request.path not in (poll_path, event_path)
            or request.secure
            or not request.content_type.lower().startswith("application/xml")
            or signs_messages()
        ):
            return await handler(request)
        text = await answer(request.path, await request.read())  # aiohttp keeps the body for handler
        if text is None:
            return await handler(request)
        return web.Response(text=text, content_type="application/xml")

    return fast_path
