"""An OpenADR 2.0b push endpoint for an openleadr VEN (openleadr's client has none, its #147).

`async with PushEndpoint(client) as push:` serves an HTTP endpoint and makes the client register for
push with it (oadrHttpPullModel false, the endpoint as oadrTransportAddress) when `client.run()`
registers. A pushed oadrDistributeEvent goes through the same checks as a polled one (no DTD, the
schema, the VTN's signature when the client pins `vtn_fingerprint`), is answered at once with
oadrResponse and handed to the client's own event handling, which decides and sends its
oadrCreatedEvent to the VTN as after a poll. The client keeps polling, so an event whose push failed
still arrives. Unlike a poll answer, a push comes from whoever reaches the endpoint: pin the VTN's
fingerprint (signed messages) wherever the endpoint is reachable by others.

With `tls` (the VEN's VenTls) the endpoint serves https with the VEN's certificate and requires a
client certificate from the community CA: the TLS handshake turns away anyone without one, and a
request whose certificate is not the pinned VTN's (`vtn_fingerprint`) is refused with 403, before its
body is read.
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
from openleadr.errors import FingerprintMismatch
from openleadr.messaging import create_message, parse_message, validate_xml_schema, validate_xml_signature
from openleadr.utils import get_cert_fingerprint_from_request
from signxml.exceptions import SignXMLException

from homeflex.core.xmlsafe import unsafe_xml
from homeflex.ven.tls import VenTls

log = logging.getLogger(__name__)
PATH = "/OpenADR2/Simple/2.0b/EiEvent"
_X509 = "{http://www.w3.org/2000/09/xmldsig#}X509Certificate"


class PushEndpoint:
    def __init__(
        self,
        client: OpenADRClient,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: VenTls | None = None,
    ) -> None:
        self.client = client
        self.host = host
        self.port = port
        self.tls = tls
        self._ssl = tls.push_context() if tls is not None else None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.received = 0  # pushes accepted, for tests

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://{self.host}:{self.port}{PATH}"

    async def __aenter__(self) -> PushEndpoint:
        app = web.Application()
        app.router.add_post(PATH, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl).start()
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
        if self.tls is not None and self.tls.vtn_fingerprint:
            # The handshake checked the CA; only the VTN's certificate may push.
            fingerprint = get_cert_fingerprint_from_request(request)
            if fingerprint != self.tls.vtn_fingerprint:
                log.warning("refused a push from certificate %s: not the VTN's", fingerprint)
                return web.Response(status=403, text="only the VTN may push")
        body = await request.read()
        why = unsafe_xml(body)
        if why is not None:
            return web.Response(status=400, text=why)
        try:
            tree = validate_xml_schema(body)
            if self.client.vtn_fingerprint:
                if tree.find(f".//{_X509}") is None:  # openleadr's check would fail on it unhandled
                    raise ValueError("unsigned message")
                validate_xml_signature(tree, cert_fingerprint=self.client.vtn_fingerprint)
            message_type, payload = parse_message(body)
        except (etree.XMLSyntaxError, SignXMLException, FingerprintMismatch, ValueError) as err:
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
