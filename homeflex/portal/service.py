"""The portal process: `async with PortalService(...) as portal:` serves until the block ends."""

from __future__ import annotations

import logging
import ssl
from dataclasses import replace
from types import TracebackType

from aiohttp import web

from homeflex.core.clock import Clock
from homeflex.portal import api, pages_console, pages_household, pages_public
from homeflex.portal.actions import Portal, PortalConfig
from homeflex.portal.mailer import OutboxSender
from homeflex.portal.skipnotice import MqttRetainedPublisher
from homeflex.portal.vtnclient import VtnClient
from homeflex.portal.web import build_app
from homeflex.storage import Storage

log = logging.getLogger(__name__)


def portal_app(portal: Portal) -> web.Application:
    return build_app(
        portal, [*pages_public.ROUTES, *pages_household.ROUTES, *pages_console.ROUTES, *api.ROUTES]
    )


class PortalService:
    """Port 0 picks a free port (the config's base_url then follows it)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        vtn_url: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8090,
        config: PortalConfig | None = None,
        vtn_token: str | None = None,
        mqtt_url: str | None = None,
        vtn_ssl: ssl.SSLContext | None = None,
    ) -> None:
        """`mqtt_url`: the broker the households' agents are on, for their skips and configurations
        (skipnotice.py); `vtn_ssl`: how to reach a VTN behind mutual TLS (vtnclient.py)."""
        self.portal = Portal(
            storage=storage,
            store=storage.portal,
            clock=clock,
            vtn=VtnClient(vtn_url, vtn_token, vtn_ssl),
            config=config or PortalConfig(),
            publisher=MqttRetainedPublisher(mqtt_url) if mqtt_url else None,
        )
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        smtp = self.portal.config.smtp
        self.mailer = OutboxSender(self.portal.store, clock, smtp) if smtp else None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> PortalService:
        self._runner = web.AppRunner(portal_app(self.portal), access_log=None)  # URLs may carry tokens
        await self._runner.setup()
        await web.TCPSite(self._runner, host=self.host, port=self.port).start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
            if self.portal.config.base_url == PortalConfig().base_url:
                self.portal.config = replace(self.portal.config, base_url=self.url)
        log.info("portal serving at %s (VTN %s)", self.url, self.portal.vtn.base_url)
        if self.mailer is not None:
            await self.mailer.__aenter__()
        else:
            log.warning("no SMTP server configured (smtp_host): mail stays queued in the outbox")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.mailer is not None:
            await self.mailer.__aexit__(exc_type, exc, tb)
        await self.portal.vtn.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
