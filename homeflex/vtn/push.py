"""OpenADR 2.0b push: the VTN posts new events to VENs that registered an endpoint, pull stays the fallback.

openleadr has no push (its #147). A VEN asks for push at registration (oadrHttpPullModel false, with
its endpoint as oadrTransportAddress); `push_url` reads that. Every `interval_s` the pusher looks at
what `PollState` says is waiting, claims in the database the households with a push endpoint that
nothing has been sent to yet for that modification (`Storage.claim_deliveries`: of several workers
exactly one gets each), and posts them the same oadrDistributeEvent a poll would get. The VEN answers
the post with oadrResponse and sends its oadrCreatedEvent as after a poll. A push that fails (refused,
timed out, not an oadrResponse) is logged and left to pull: the event stays pending for the VEN's
next poll. Messages are signed exactly as poll answers are (openleadr's own `_create_message` when the
VTN signs).

When the VTN runs TLS (`tls`), a push is mutual TLS like a poll: the VTN trusts only the community CA
for the endpoint's certificate, which must name the VEN (its common name is the venID the CA issued it
for, homeflex.vtn.identity; a VEN at home has no stable host name to check instead), and presents its
own certificate, which the VEN's endpoint requires (homeflex.ven.push). A plain-http endpoint is then
never pushed to (logged once, the VEN pulls): the event would travel unencrypted to whoever answers at
that address, while its pull is confidential and authenticated both ways. Without TLS an https
endpoint is checked against the system's trust store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit
from xml.parsers.expat import ExpatError

import aiohttp
from openleadr.messaging import parse_message
from openleadr.service import VTNService

from homeflex.core.clock import Clock, perf_seconds
from homeflex.core.xmlsafe import unsafe_xml
from homeflex.storage.deliveries import DeliveryStore
from homeflex.storage.households import HouseholdStore
from homeflex.storage.records import EventRecord
from homeflex.vtn.events import openadr_event
from homeflex.vtn.poll import PollState, Renderer, signs_messages
from homeflex.vtn.tls import VtnTls

log = logging.getLogger(__name__)


def push_url(registration: dict[str, Any]) -> str | None:
    """The endpoint a registering VEN asks to be pushed to, or None for pull. Only http(s) URLs."""
    if registration.get("http_pull_model", True) is not False:
        return None
    address = registration.get("transport_address")
    if not isinstance(address, str):
        return None
    parts = urlsplit(address)
    return address if parts.scheme in ("http", "https") and parts.hostname else None


def push_context(tls: VtnTls) -> ssl.SSLContext:
    """The pusher's TLS client: trusts the community CA only, presents the VTN's certificate. The host
    name checked is the VEN's id (`_push`), found in its certificate's common name."""
    for path in (tls.cert, tls.key, tls.ca):
        if not path.is_file():
            raise FileNotFoundError(f"TLS file {path} not found")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca))
    context.load_cert_chain(str(tls.cert), str(tls.key))
    context.hostname_checks_common_name = True  # VEN certificates name the VEN in CN, without SAN
    return context


class PushStore(DeliveryStore, HouseholdStore, Protocol):
    """What the pusher needs: which VENs take pushes, and a claim on each delivery."""


class Pusher:
    """`async with Pusher(...)`: pushes in the background until the block ends."""

    def __init__(
        self,
        storage: PushStore,
        clock: Clock,
        polls: PollState,
        renderer: Renderer,
        vtn_id: str,
        *,
        interval_s: float = 0.1,
        timeout_s: float = 2.0,
        concurrency: int = 200,
        tls: VtnTls | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.polls = polls
        self.renderer = renderer
        self.vtn_id = vtn_id
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._limit = asyncio.Semaphore(concurrency)
        self._handled: dict[tuple[str, int], set[str]] = {}  # (event, modification) -> households tried
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self.endpoints_s = 1.0
        self._endpoint_map: dict[str, tuple[str, str]] = {}
        self._endpoints_at = -float("inf")
        self.pushed = 0  # acknowledged pushes, for tests and benchmarks
        self.failed = 0
        self._ssl = push_context(tls) if tls is not None else None
        self._plain: set[str] = set()  # VENs not pushed to: a plain-http endpoint while the VTN runs TLS

    async def __aenter__(self) -> Pusher:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        self._task = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await self.push_once()
            except Exception:  # the loop never dies: pull still delivers whatever a push missed
                if not failing:
                    log.exception("push rounds failing; VENs get their events by polling")
                failing = True
            else:
                if failing:
                    log.info("push rounds work again")
                failing = False
            await asyncio.sleep(self.interval_s)

    async def push_once(self) -> int:
        """One round: claim and push what is new; returns how many VENs were pushed to."""
        endpoints = await self._endpoints()
        if not endpoints:
            return 0  # no push VEN: leave the poll state's reads to the polls
        await self.polls.refresh(force=True)  # push latency is this round's interval, not refresh_s
        now = self.clock.now()
        new = [
            (event, waiting - self._handled.get((event.event_id, event.modification_number), set()))
            for event, waiting in self.polls.waiting()
            if event.end > now
        ]
        new = [(e, households) for e, households in new if households]
        if not new:
            return 0
        pushes: dict[str, list[EventRecord]] = {}
        for event, households in new:
            key = (event.event_id, event.modification_number)
            self._handled.setdefault(key, set()).update(households)
            # An aggregator's members are claimed one by one, then pushed to its VEN once per event.
            candidates = sorted(h for h in households if self.polls.ven_household(h) in endpoints)
            for household in await self.storage.claim_deliveries(key[0], key[1], candidates):
                events = pushes.setdefault(self.polls.ven_household(household), [])
                if event not in events:
                    events.append(event)
        live = {e.event_id for e, _ in self.polls.waiting()}
        self._handled = {k: v for k, v in self._handled.items() if k[0] in live}
        await asyncio.gather(*(self._push(h, *endpoints[h], events, now) for h, events in pushes.items()))
        return len(pushes)

    async def _endpoints(self) -> dict[str, tuple[str, str]]:
        """Push registrations, re-read at most every `endpoints_s`."""
        if perf_seconds() - self._endpoints_at >= self.endpoints_s:
            endpoints = await self.storage.push_vens()
            self._endpoints_at = perf_seconds()
            if self._ssl is not None:
                plain = {h for h, (_, url) in endpoints.items() if urlsplit(url).scheme != "https"}
                for household in sorted(plain - self._plain):
                    ven_id, url = endpoints[household]
                    log.warning(
                        "not pushing to %s at %s: plain http while the VTN runs TLS; it pulls", ven_id, url
                    )
                self._plain = plain
                endpoints = {h: e for h, e in endpoints.items() if h not in plain}
            self._endpoint_map = endpoints
        return self._endpoint_map

    def _message(self, events: list[EventRecord], ven_id: str, now: datetime, household: str) -> str:
        resources = {e.event_id: self.polls.resources(e.event_id, household) for e in events}
        if not signs_messages():
            return self.renderer.distribute(
                events, ven_id, now, resources if self.polls.is_aggregator(household) else None
            )
        create = VTNService._create_message  # openleadr's, with the VTN's key: signed as a poll answer is
        return str(
            create(
                "oadrDistributeEvent",
                events=[openadr_event(e, ven_id, now, resources[e.event_id]) for e in events],
                vtn_id=self.vtn_id,
                response={"response_code": 200, "response_description": "OK", "request_id": None},
                request_id=uuid.uuid4().hex,
            )
        )

    async def _push(
        self, household: str, ven_id: str, url: str, events: list[EventRecord], now: datetime
    ) -> None:
        assert self._session is not None
        body = self._message(sorted(events, key=lambda e: (e.start, e.event_id)), ven_id, now, household)
        async with self._limit:
            try:
                async with self._session.post(
                    url,
                    data=body.encode(),
                    headers={"content-type": "application/xml"},
                    # Over TLS the endpoint's certificate must be the CA's and name this VEN.
                    ssl=self._ssl or True,
                    server_hostname=ven_id if self._ssl is not None else None,
                ) as response:
                    reply = await response.read()
                    why = unsafe_xml(reply)  # the VEN's answer reaches a parser only without a DTD
                    if response.status != 200 or why or parse_message(reply)[0] != "oadrResponse":
                        raise ValueError(f"HTTP {response.status} {why or ''}".strip())
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, ExpatError) as err:
                self.failed += 1
                log.warning("push to %s (%s) failed, it gets the event by polling: %s", ven_id, url, err)
                return
        self.pushed += 1
