"""`homeflex portal`: serve the portal, or add an operator or installer account.

The password of a new account is read from HOMEFLEX_PORTAL_PASSWORD or asked for at the terminal;
it is never taken from the command line (which other users can see) and never logged."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import ipaddress
import os
import ssl
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homeflex.settings import Settings


def add_arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    s.add_argument("--vtn-url", help="the VTN's operator API (default http://<vtn_host>:<vtn_port>)")
    s.add_argument("--base-url", help="the portal's public address, for links in mail")
    s.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy (address or network) whose X-Forwarded-For names the client; repeatable",
    )
    s.add_argument("--add-operator", metavar="EMAIL", help="create an operator account and exit")
    s.add_argument("--add-installer", metavar="EMAIL", help="create an installer account and exit")


def vtn_client_tls(settings: Settings) -> ssl.SSLContext | None:
    """A VTN behind mutual TLS (its vtn_tls_* settings) is called with the same community certificate
    files: its CA to trust, and a certificate that CA issued as the portal's own."""
    if not (settings.vtn_tls_cert and settings.vtn_tls_key and settings.vtn_tls_ca):
        return None
    context = ssl.create_default_context(cafile=settings.vtn_tls_ca)
    context.load_cert_chain(settings.vtn_tls_cert, settings.vtn_tls_key)
    return context


async def cmd_portal(settings: Settings, args: argparse.Namespace) -> int:
    # Imported here, so that building the CLI's parser stays light for every other command.
    from homeflex.core.clock import WallClock
    from homeflex.core.shutdown import until_stopped
    from homeflex.portal.actions import ActionError, PortalConfig
    from homeflex.portal.journey import Role
    from homeflex.portal.mailer import SmtpServer
    from homeflex.portal.service import PortalService
    from homeflex.storage import open_storage

    vtn_url = args.vtn_url or f"http://{settings.vtn_host}:{settings.vtn_port}"
    smtp = (
        SmtpServer(host=settings.smtp_host, port=settings.smtp_port, sender=settings.mail_from)
        if settings.smtp_host
        else None
    )
    try:
        proxies = tuple(str(ipaddress.ip_network(p, strict=False)) for p in args.trusted_proxy)
    except ValueError as err:
        print(f"homeflex portal: --trusted-proxy: {err}", file=sys.stderr)
        return 2
    config = PortalConfig(
        base_url=args.base_url or f"http://{args.host}:{args.port}", smtp=smtp, trusted_proxies=proxies
    )
    storage = await open_storage(settings.database_url)
    try:
        service = PortalService(
            storage,
            WallClock(),
            vtn_url,
            host=args.host,
            port=args.port,
            config=config,
            vtn_token=settings.api_token,
            mqtt_url=settings.mqtt_url,  # none: skips are recorded but VENs are not told (logged)
            vtn_ssl=vtn_client_tls(settings) if vtn_url.startswith("https:") else None,
        )
        new = [(args.add_operator, Role.OPERATOR), (args.add_installer, Role.INSTALLER)]
        if any(email for email, _ in new):
            for email, role in new:
                if email:
                    password = os.environ.get("HOMEFLEX_PORTAL_PASSWORD") or str(
                        await asyncio.to_thread(getpass.getpass, f"password for {email}: ")
                    )
                    await service.portal.create_account(email, role, password)
                    print(f"{role.value} account {email} created")
            return 0
        async with service:
            print(f"portal at {service.url} (VTN {vtn_url})", flush=True)
            await until_stopped()
    except ActionError as err:
        print(f"homeflex portal: {err}", file=sys.stderr)
        return 2
    finally:
        await storage.close()
    return 0
