"""The VTN process: openleadr's OpenADR endpoint and the operator API on one aiohttp app."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import TracebackType

from aiohttp import web

from homeflex.core.clock import Clock
from homeflex.jsonguard import json_depth_guard, text_guard
from homeflex.storage import Storage
from homeflex.vtn import api
from homeflex.vtn.oadr3 import Oadr3Service
from homeflex.vtn.openadr import VTN_ID, OpenAdrHandlers, build_server
from homeflex.vtn.push import Pusher
from homeflex.vtn.tls import VtnTls

log = logging.getLogger(__name__)
OPENADR_PREFIX = "/OpenADR2/Simple/2.0b"


class VtnService:
    """`async with VtnService(...) as vtn:` serves until the block ends. Port 0 picks a free port."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        settle: api.Settle,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        poll_interval: timedelta = timedelta(seconds=10),
        report_interval: timedelta = timedelta(seconds=10),
        oadr3: Oadr3Service | None = None,
        tls: VtnTls | None = None,
        api_token: str | None = None,
    ) -> None:
        if report_interval < timedelta(seconds=1):
            # OpenADR durations carry whole seconds here: a shorter one would request a one-off report.
            raise ValueError("report_interval must be at least 1 s")
        self.handlers = OpenAdrHandlers(storage, clock, report_interval)
        # tls: mutual TLS and signed messages; the operator API on this port then needs a client
        # certificate from the same CA too.
        self.server = build_server(self.handlers, host=host, port=port, poll_interval=poll_interval, tls=tls)
        api.add_routes(self.server.app, storage, clock, settle, token=api_token)
        # operator API and 3.1: no deep JSON, no text a database cannot store (jsonguard.py)
        self.server.app.middlewares[0:0] = [json_depth_guard, text_guard]
        # OpenADR 2.0b push to VENs that registered an endpoint; pull stays the fallback (vtn/push.py).
        # Over TLS the push is mutual TLS too, and plain-http endpoints are left to pull.
        self.pusher = Pusher(storage, clock, self.handlers.polls, self.handlers.renderer, VTN_ID, tls=tls)
        self.oadr3 = oadr3  # OpenADR 3.1 under /openadr3, on the same events (homeflex/vtn/oadr3/)
        if oadr3 is not None:
            oadr3.mount(self.server.app)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.server.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def openadr_url(self) -> str:
        return f"{self.url}{OPENADR_PREFIX}"

    async def __aenter__(self) -> VtnService:
        # Our own runner rather than server.run(): same app, without openleadr's banner on stdout.
        if self.oadr3 is not None:
            await self.oadr3.__aenter__()
        self._runner = web.AppRunner(self.server.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host=self.host, port=self.port, ssl_context=self.server.ssl_context)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        await self.pusher.__aenter__()
        log.info("VTN serving OpenADR 2.0b at %s and the operator API at %s/api", self.openadr_url, self.url)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.pusher.__aexit__(exc_type, exc, tb)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.oadr3 is not None:
            await self.oadr3.__aexit__(exc_type, exc, tb)
