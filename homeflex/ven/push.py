"""An OpenADR 2.0b push endpoint for an openleadr VEN (openleadr's client has none, its #147).

`async with PushEndpoint(client) as push:` serves an HTTP endpoint and makes the client register for
push with it (oadrHttpPullModel false, the endpoint as oadrTransportAddress) when `client.run()`
registers. A pushed oadrDistributeEvent goes through the same checks as a polled one (no DTD, the
schema, the VTN's signature when the client pins `vtn_fingerprint`), is answered at once with
oadrResponse and handed to the client's own event handling, which decides and sends its
oadrCreatedEvent to the VTN as after a poll. The client keeps polling, so an event whose push failed
still arrives. Unlike a poll answer, a push comes from whoever reaches the endpoint: pin the VTN's
fingerprint (signed messages) wherever the endpoint is reachable by others.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from types import TracebackType
from typing import Any

from aiohttp import web
from lxml import etree
from openleadr import OpenADRClient
from openleadr.messaging import create_message, parse_message, validate_xml_schema, validate_xml_signature
from signxml.exceptions import InvalidSignature

from homeflex.core.xmlsafe import unsafe_xml

log = logging.getLogger(__name__)
PATH = "/OpenADR2/Simple/2.0b/EiEvent"


class PushEndpoint:
    def __init__(self, client: OpenADRClient, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.client = client
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.received = 0  # pushes accepted, for tests

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    async def __aenter__(self) -> PushEndpoint:
        app = web.Application()
        app.router.add_post(PATH, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        register = self.client.create_party_registration
        self.client.create_party_registration = functools.partial(
            register, http_pull_model=False, transport_address=self.url
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        why = unsafe_xml(body)
        if why is not None:
            return web.Response(status=400, text=why)
        try:
            tree = validate_xml_schema(body)
            if self.client.vtn_fingerprint:
                validate_xml_signature(tree, cert_fingerprint=self.client.vtn_fingerprint)
            message_type, payload = parse_message(body)
        except (etree.XMLSyntaxError, InvalidSignature, ValueError) as err:
            log.warning("refused a push: %s", err)
            return web.Response(status=400, text=f"refused: {err}")
        if message_type != "oadrDistributeEvent" or not payload.get("events"):
            return web.Response(status=400, text="expected an oadrDistributeEvent with events")
        self.received += 1
        # Decided and answered (oadrCreatedEvent) by the client, as for a polled event; not awaited, so
        # the VTN gets its oadrResponse at once.
        task = asyncio.ensure_future(self.client._on_event(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        response = {
            "response_code": 200,
            "response_description": "OK",
            "request_id": payload.get("request_id"),
        }
        text = create_message("oadrResponse", response=response, ven_id=self.client.ven_id)
        return web.Response(text=text, content_type="application/xml")
