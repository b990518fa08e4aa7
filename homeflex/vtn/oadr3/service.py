"""OpenADR 3.1 beside 2.0b in the same VTN: mount the 3.1 API on the VTN's aiohttp app, own its webhook
client and the notifications under way (MQTT: one burst connection per notification, burst.py).

Events are the VTN's events: created through 3.1 POST /events or the operator API, they are stored once
and reach 2.0b VENs (next poll) and 3.1 VENs (GET /events, MQTT, webhooks) alike. The operator API does
not know about 3.1, so a middleware notices its successful event creations and cancellations.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable
from dataclasses import replace
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web

from homeflex.core.clock import Clock
from homeflex.mqtt.access import NOTIFY_PART, connection_username
from homeflex.mqtt.session import MqttEndpoint, parse_mqtt_url
from homeflex.storage import Storage
from homeflex.vtn.oadr3 import discovery_api, events_api, objects_api
from homeflex.vtn.oadr3.auth import TokenIssuer
from homeflex.vtn.oadr3.http import CONTEXT, Context, oadr3_middleware
from homeflex.vtn.oadr3.model import Topics, event_json, given_targets
from homeflex.vtn.oadr3.notify import Notifier
from homeflex.vtn.oadr3.spec import openapi
from homeflex.vtn.oadr3.webhooks import PolicyResolver, WebhookPolicy

log = logging.getLogger(__name__)
PREFIX = "/openadr3"
DEFAULT_TOPIC_PREFIX = "OpenADR/3.1/"


def _public(url: str) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class Oadr3Service:
    """`Oadr3Service(...)` is mounted by VtnService(oadr3=...), which also enters and leaves it."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        mqtt_url: str | None = None,
        public_mqtt_uris: list[str] | None = None,
        topic_prefix: str = DEFAULT_TOPIC_PREFIX,
        token_key: bytes | None = None,
        check_responses: bool = False,
        mqtt_qos: int = 1,
        webhooks: WebhookPolicy | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.mqtt_url = mqtt_url
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        endpoint = _notifier_endpoint(mqtt_url) if mqtt_url else None  # each notification opens a connection
        # webhooks: the networks a callbackUrl may reach although not public (oadr3_webhook_allow)
        self.webhooks = webhooks or WebhookPolicy()
        self.notifier = Notifier(
            storage, Topics(topic_prefix), endpoint, None, clock=clock, webhooks=self.webhooks, qos=mqtt_qos
        )
        # The VTN's own broker credentials are never published: /notifiers shows the broker without them.
        uris = public_mqtt_uris if public_mqtt_uris is not None else ([_public(mqtt_url)] if mqtt_url else [])
        self.context = Context(
            storage=storage,
            clock=clock,
            spec=openapi(),
            issuer=TokenIssuer(token_key or secrets.token_bytes(32), clock),
            notifier=self.notifier,
            prefix=PREFIX,
            notifier_uris=uris,
            notify=self._background,
            check_responses=check_responses,
            webhooks=self.webhooks,
        )

    @property
    def violations(self) -> list[str]:
        """Responses that did not conform to the OpenAPI document (collected when check_responses)."""
        return self.context.violations

    def _background(self, job: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("3.1 notification failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for the notifications under way."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def mount(self, app: web.Application) -> None:
        app[CONTEXT] = self.context
        app.middlewares.append(self._operator_events)
        app.middlewares.append(oadr3_middleware)
        for method, path, handler in events_api.ROUTES + objects_api.ROUTES + discovery_api.ROUTES:
            app.router.add_route(method, PREFIX + path, handler)

    @web.middleware
    async def _operator_events(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if not request.path.startswith("/api/events") or not isinstance(response, web.Response):
            return response
        created = request.method == "POST" and request.path == "/api/events" and response.status == 201
        cancelled = request.method == "DELETE" and response.status == 200
        if (created or cancelled) and isinstance(response.body, bytes):
            event_id = json.loads(response.body)["event_id"]
            self._background(self.notify_stored_event(event_id, "CREATE" if created else "DELETE"))
        return response

    async def notify_stored_event(self, event_id: str, operation: str) -> int:
        """Notify 3.1 VENs of a stored event (created or cancelled elsewhere); returns MQTT messages."""
        event = await self.storage.get_event(event_id)
        if event is None:
            return 0
        targets = [t.household_id for t in await self.storage.event_targets(event_id)]
        served = event_json(event, given_targets(event, targets))
        return await self.notifier.notify("EVENT", operation, served, ven_ids=targets)

    async def __aenter__(self) -> Oadr3Service:
        # Webhooks only: the resolver connects to the addresses the policy allows and no others.
        connector = aiohttp.TCPConnector(resolver=PolicyResolver(self.webhooks))
        self._http = aiohttp.ClientSession(connector=connector)
        self.notifier.http = self._http
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            async with asyncio.timeout(10):
                await self.drain()
        except TimeoutError:
            log.warning("3.1 notifications still under way at shutdown: cancelled")
            for task in self._tasks:
                task.cancel()
        if self._http is not None:
            await self._http.close()
            self._http = self.notifier.http = None


def _notifier_endpoint(mqtt_url: str) -> MqttEndpoint:
    """The broker as the notifier logs in: with credentials in the URL (the VTN's account, svc-vtn-oadr3),
    as its `notify` connection, the username (and, on the platform's broker, client id) only it has."""
    endpoint = parse_mqtt_url(mqtt_url)
    if endpoint.username is None:
        return endpoint
    return replace(endpoint, username=connection_username(endpoint.username, NOTIFY_PART))
