"""What the drivers' own servers share (the OCPP central system and the S2 CEM endpoint: devices
connect to homeflex over WebSocket): the server-side TLS context and the port the server listens on."""

from __future__ import annotations

import ssl

from websockets.asyncio.server import Server


def server_tls(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """TLS with this certificate and key (wss), or None (plain ws) unless both are given."""
    if not (cert and key):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def listening_port(server: Server | None, what: str) -> int:
    """The port `server` listens on (port 0 in the settings: the one the system chose)."""
    if server is None:
        raise RuntimeError(f"the {what} is not running")
    return int(next(iter(server.sockets)).getsockname()[1])
