"""homeflex's OCPP central system: the websocket server that chargers connect to.

A charger connects to ``ws(s)://host:port/<anything>/<charge point id>`` with the subprotocol
``ocpp1.6`` or ``ocpp2.0.1`` (homeflex.drivers.ocpp_sessions) and HTTP Basic auth
``<charge point id>:<password>`` (OCPP security profile 1; profile 2 is the same over TLS, when the
settings give a certificate and key). Only charge points a driver registered are let in: an unknown one
is refused at the handshake with 404, a wrong or missing password with 401, each logged once (a refused
charger retries every few seconds).

The central system answers what the charger sends and hands it to the registered listener (the driver,
homeflex.drivers.ocpp); ``call`` sends a CALL to a connected charger. It knows nothing of households or
limits.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from ocpp.exceptions import OCPPError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from homeflex.core.clock import Clock, WallClock
from homeflex.drivers import DeviceRefused, DeviceUnreachable
from homeflex.drivers.ocpp_sessions import SESSIONS, Listener, Session16, Session201
from homeflex.drivers.serving import listening_port, server_tls

log = logging.getLogger(__name__)

REFUSALS_REMEMBERED = 1024  # refused (charge point, reason) pairs logged once; forgotten beyond this


@dataclass(frozen=True, kw_only=True)
class CentralSettings:
    host: str = "127.0.0.1"
    port: int = 9000  # 0: a free port (tests), see CentralSystem.port
    heartbeat_s: int = 300  # the BootNotification reply's interval
    response_timeout_s: float = 10.0  # wall seconds for a charger to answer a CALL
    tls_cert: str | None = None  # security profile 2: Basic auth over TLS
    tls_key: str | None = None

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("ocpp_tls_cert and ocpp_tls_key go together: give both or neither")
        if not 0 <= self.port <= 65535 or self.heartbeat_s <= 0 or self.response_timeout_s <= 0:
            raise ValueError("ocpp port must be 0..65535, heartbeat and response timeout positive")


@dataclass(frozen=True)
class _Registration:
    password: str
    listener: Listener


def charge_point_id(path: str) -> str:
    """The last path segment of the URL the charger connected to (OCPP-J §3.1.1)."""
    return path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    if header is None or not header.lower().startswith("basic "):
        return None
    try:
        user, sep, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class CentralSystem:
    """The server; drivers ``register`` their charge points and ``call`` them."""

    def __init__(self, settings: CentralSettings | None = None, clock: Clock | None = None) -> None:
        self.settings = settings or CentralSettings()
        self.clock: Clock = clock or WallClock()
        self.registered: dict[str, _Registration] = {}
        self.sessions: dict[str, Session16 | Session201] = {}
        self._refusals: set[tuple[str, HTTPStatus]] = set()
        self._server: Server | None = None

    @property
    def heartbeat_s(self) -> int:
        return self.settings.heartbeat_s

    @property
    def response_timeout_s(self) -> float:
        return self.settings.response_timeout_s

    def listener(self, cp_id: str) -> Listener | None:
        registration = self.registered.get(cp_id)
        return registration.listener if registration else None

    def version(self, cp_id: str) -> str | None:
        """The OCPP version a connected charger speaks ("1.6", "2.0.1"); None when it is not connected."""
        session = self.sessions.get(cp_id)
        return session.version if session else None

    @property
    def port(self) -> int:
        return listening_port(self._server, "OCPP central system")

    @property
    def url(self) -> str:
        scheme = "wss" if self.settings.tls_cert else "ws"
        return f"{scheme}://{self.settings.host}:{self.port}/ocpp"

    async def __aenter__(self) -> CentralSystem:
        context = server_tls(self.settings.tls_cert, self.settings.tls_key)
        self._server = await serve(
            self._handle,
            self.settings.host,
            self.settings.port,
            subprotocols=list(SESSIONS),  # type: ignore[arg-type]
            process_request=self._check,
            compression=None,
            ssl=context,
        )
        log.info("OCPP central system (%s) on %s", ", ".join(SESSIONS), self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def register(self, cp_id: str, password: str, listener: Listener) -> None:
        if cp_id in self.registered:
            raise ValueError(f"charge point {cp_id!r} is already driven by another device")
        self.registered[cp_id] = _Registration(password, listener)

    async def unregister(self, cp_id: str) -> None:
        """No one drives the charger any more: let it go (it is refused when it comes back)."""
        self.registered.pop(cp_id, None)
        if (session := self.sessions.pop(cp_id, None)) is not None:
            await session.connection.close()

    def is_connected(self, cp_id: str) -> bool:
        return cp_id in self.sessions

    async def call(self, cp_id: str, payload: Any) -> Any:
        """Send a CALL and return its CALLRESULT payload. DeviceUnreachable when the charger is not
        connected or does not answer in time; DeviceRefused when it answers with a CALLERROR."""
        session = self.sessions.get(cp_id)
        if session is None:
            raise DeviceUnreachable(f"charge point {cp_id} is not connected")
        try:
            return await session.call(payload, suppress=False)
        except TimeoutError as err:
            raise DeviceUnreachable(f"charge point {cp_id} did not answer {type(payload).__name__}") from err
        except ConnectionClosed as err:
            raise DeviceUnreachable(
                f"charge point {cp_id} went away during {type(payload).__name__}"
            ) from err
        except OCPPError as err:
            raise DeviceRefused(f"charge point {cp_id}: {type(payload).__name__} failed: {err}") from err

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        """The handshake: a charge point a driver registered, with its password."""
        cp_id = charge_point_id(request.path)
        registration = self.registered.get(cp_id)
        if registration is None:
            return self._refuse(connection, cp_id, HTTPStatus.NOT_FOUND, "unknown charge point")
        credentials = basic_credentials(request.headers.get("Authorization"))
        user, password = credentials or ("", "")
        if not (user == cp_id and hmac.compare_digest(password.encode(), registration.password.encode())):
            return self._refuse(connection, cp_id, HTTPStatus.UNAUTHORIZED, "wrong or missing password")
        self._refusals.discard((cp_id, HTTPStatus.NOT_FOUND))
        self._refusals.discard((cp_id, HTTPStatus.UNAUTHORIZED))
        return None

    def _refuse(self, connection: ServerConnection, cp_id: str, status: HTTPStatus, why: str) -> Response:
        if (cp_id, status) not in self._refusals:
            if len(self._refusals) >= REFUSALS_REMEMBERED:
                self._refusals.clear()
            self._refusals.add((cp_id, status))
            log.warning(
                "OCPP: refused charge point %r from %s: %s", cp_id[:64], connection.remote_address, why
            )
        response = connection.respond(status, f"{why}\n")
        if status is HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Basic realm="homeflex OCPP", charset="UTF-8"'
        return response

    async def _handle(self, connection: ServerConnection) -> None:
        cp_id = charge_point_id(connection.request.path if connection.request else "")
        registration = self.registered.get(cp_id)
        if registration is None:  # unregistered between the handshake and now
            return
        session = SESSIONS[str(connection.subprotocol)](cp_id, connection, self)
        old = self.sessions.get(cp_id)
        self.sessions[cp_id] = session  # first: the old connection's end must not count as a loss
        if old is not None:  # the charger reconnected before its old connection timed out
            await old.connection.close()
        log.info("OCPP: charge point %s connected (%s)", cp_id, connection.subprotocol)
        registration.listener.connected(True)
        try:
            await session.start()
        except ConnectionClosed:
            pass
        finally:
            if self.sessions.get(cp_id) is session:
                del self.sessions[cp_id]
                log.info("OCPP: charge point %s disconnected", cp_id)
                if (current := self.registered.get(cp_id)) is not None:
                    current.listener.connected(False)


@asynccontextmanager
async def central_system(settings: Any, clock: Clock | None = None) -> AsyncIterator[CentralSystem]:
    """The OCPP driver's shared service, from homeflex's settings (homeflex.settings.Settings)."""
    central = CentralSystem(
        CentralSettings(
            host=settings.ocpp_host,
            port=settings.ocpp_port,
            tls_cert=settings.ocpp_tls_cert,
            tls_key=settings.ocpp_tls_key,
        ),
        clock,
    )
    async with central:
        yield central
