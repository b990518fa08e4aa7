"""homeflex's S2 CEM endpoint (EN 50491-12-2): the WebSocket server resource managers connect to.

One endpoint per household agent, shared by its S2 drivers (like the OCPP central system). S2 itself has
no authentication, so the endpoint binds each RM to one household before a message is read: the RM
connects to ``ws(s)://host:port/s2/<household id>`` with its device's token, as
``Authorization: Bearer <token>`` or ``?token=<token>`` (for devices that take only a URL). A household
no driver registered is refused at the handshake with 404, a token that opens none of that household's
resources with 401 (each logged once; the token is never logged). TLS when the settings give a
certificate and key (``s2_tls_cert``/``s2_tls_key``): without it the token crosses the LAN in clear.

The RM sends ``Handshake``; the CEM answers ``HandshakeResponse``. The RM says who it is in
``ResourceManagerDetails``: its ``resource_id`` must be one the token opens in that household, else it is
answered PERMANENT_ERROR and let go (the same answer whether the resource is unknown or another
household's). The CEM then selects FRBC (``SelectControlType``) and hands everything the RM sends to the
driver. Every message is answered with ``ReceptionStatus``; one that is not S2 is answered INVALID_DATA
(when it has a message id) and recorded, never a crash. Answers are matched by the ids of what this
session sent and is still waiting for: a replayed ReceptionStatus or InstructionStatusUpdate of an
earlier instruction answers nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from s2python.common import (
    ControlType,
    EnergyManagementRole,
    Handshake,
    HandshakeResponse,
    InstructionStatus,
    InstructionStatusUpdate,
    ReceptionStatus,
    ReceptionStatusValues,
    ResourceManagerDetails,
    SelectControlType,
)
from s2python.frbc import FRBCInstruction
from s2python.message import S2Message
from s2python.s2_parser import S2Parser
from s2python.s2_validation_error import S2ValidationError
from s2python.version import S2_VERSION
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from homeflex.drivers import DeviceRefused, DeviceUnreachable
from homeflex.drivers.serving import listening_port, server_tls

log = logging.getLogger(__name__)

DONE = {InstructionStatus.ACCEPTED, InstructionStatus.STARTED, InstructionStatus.SUCCEEDED}
REFUSED = {InstructionStatus.REJECTED, InstructionStatus.ABORTED, InstructionStatus.REVOKED}
MAX_MESSAGE_BYTES = 1 << 20  # a system description is a few kB; more is not an RM
REFUSALS_REMEMBERED = 1024  # refusals logged once each; forgotten beyond this
PATH = "/s2/"


class Listener(Protocol):
    def connected(self, up: bool) -> None: ...

    def received(self, message: S2Message) -> None: ...


@dataclass(frozen=True, kw_only=True)
class CemSettings:
    host: str = "127.0.0.1"
    port: int = 9100  # 0: a free port (tests), see Cem.port
    response_timeout_s: float = 10.0  # wall seconds for an RM to answer an instruction
    tls_cert: str | None = None
    tls_key: str | None = None

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("s2_tls_cert and s2_tls_key go together: give both or neither")
        if not 0 <= self.port <= 65535 or self.response_timeout_s <= 0:
            raise ValueError("s2 port must be 0..65535 and the response timeout positive")


@dataclass(frozen=True)
class _Registration:
    token: str
    listener: Listener


def household_of(path: str) -> str:
    """The household id in ``/s2/<household id>[?...]``; "" for any other path."""
    route = unquote(urlsplit(path).path)
    return route[len(PATH) :] if route.startswith(PATH) and "/" not in route[len(PATH) :] else ""


def token_of(request: Request) -> str:
    header = request.headers.get("Authorization") or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return (parse_qs(urlsplit(request.path).query).get("token") or [""])[0]


class Session:
    """One connected RM: sends, and matches the answers to what was sent."""

    def __init__(self, connection: ServerConnection, household_id: str, opens: frozenset[str]) -> None:
        self.connection = connection
        self.household_id = household_id
        self.opens = opens  # the resource ids its token opens in its household
        self.resource_id: str | None = None
        self.waiting: dict[str, asyncio.Future[Any]] = {}  # message id / instruction id -> answer

    async def send(self, message: S2Message) -> None:
        await self.connection.send(message.to_json())

    async def answer(self, subject: Any, status: ReceptionStatusValues, why: str | None = None) -> None:
        await self.send(ReceptionStatus(subject_message_id=subject, status=status, diagnostic_label=why))

    def expect(self, key: str) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        return future

    def resolve(self, key: str, value: Any) -> None:
        future = self.waiting.get(key)
        if future is not None and not future.done():
            future.set_result(value)


class Cem:
    """The server; drivers ``register`` their resources (household, resource id, token) and
    ``instruct`` their RMs. Resources are keyed by (household id, resource id)."""

    def __init__(self, settings: CemSettings | None = None) -> None:
        self.settings = settings or CemSettings()
        self.registered: dict[tuple[str, str], _Registration] = {}
        self.sessions: dict[tuple[str, str], Session] = {}
        self._refusals: set[tuple[str, str]] = set()
        self._server: Server | None = None

    @property
    def port(self) -> int:
        return listening_port(self._server, "S2 CEM endpoint")

    @property
    def url(self) -> str:
        """The base: household ``hh``'s RMs connect to ``url + "/" + hh`` (``url_for``)."""
        scheme = "wss" if self.settings.tls_cert else "ws"
        return f"{scheme}://{self.settings.host}:{self.port}{PATH.rstrip('/')}"

    def url_for(self, household_id: str) -> str:
        return f"{self.url}/{household_id}"

    async def __aenter__(self) -> Cem:
        context = server_tls(self.settings.tls_cert, self.settings.tls_key)
        self._server = await serve(
            self._handle,
            self.settings.host,
            self.settings.port,
            max_size=MAX_MESSAGE_BYTES,
            process_request=self._check,
            ssl=context,
        )
        log.info("S2 CEM endpoint on %s/<household>", self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def register(self, household_id: str, resource_id: str, token: str, listener: Listener) -> None:
        if not token:
            raise ValueError(f"S2 resource {resource_id}: an empty token would let any RM in")
        if (household_id, resource_id) in self.registered:
            raise ValueError(f"S2 resource {resource_id} is already driven by another device")
        self.registered[household_id, resource_id] = _Registration(token, listener)

    async def unregister(self, household_id: str, resource_id: str) -> None:
        self.registered.pop((household_id, resource_id), None)
        if (session := self.sessions.pop((household_id, resource_id), None)) is not None:
            await session.connection.close()

    def is_connected(self, household_id: str, resource_id: str) -> bool:
        return (household_id, resource_id) in self.sessions

    async def instruct(
        self, household_id: str, resource_id: str, instruction: FRBCInstruction
    ) -> InstructionStatus:
        """Send an instruction; its status once the RM accepted it. DeviceRefused when the RM rejects
        it (ReceptionStatus not OK, or status REJECTED/ABORTED/REVOKED), DeviceUnreachable when no RM is
        connected or it does not answer in time."""
        session = self.sessions.get((household_id, resource_id))
        if session is None:
            raise DeviceUnreachable(f"S2 resource {resource_id} is not connected")
        received = session.expect(str(instruction.message_id))
        status = session.expect(str(instruction.id))
        try:
            async with asyncio.timeout(self.settings.response_timeout_s):
                await session.send(instruction)
                reception: ReceptionStatus = await received
                if reception.status is not ReceptionStatusValues.OK:
                    raise DeviceRefused(f"S2 resource {resource_id}: instruction {reception.status.value}: "
                                        f"{reception.diagnostic_label or ''}")  # fmt: skip
                while True:  # NEW first, then the one that says yes or no
                    update: InstructionStatusUpdate = await status
                    if update.status_type in DONE:
                        return update.status_type
                    if update.status_type in REFUSED:
                        raise DeviceRefused(
                            f"S2 resource {resource_id}: instruction {update.status_type.value}"
                        )
                    status = session.expect(str(instruction.id))
        except TimeoutError:
            raise DeviceUnreachable(f"S2 resource {resource_id} did not answer the instruction") from None
        except ConnectionClosed:
            raise DeviceUnreachable(f"S2 resource {resource_id} went away during an instruction") from None
        finally:
            session.waiting.pop(str(instruction.message_id), None)
            session.waiting.pop(str(instruction.id), None)

    def _opens(self, household_id: str, token: str) -> frozenset[str]:
        """The resource ids of the household whose token is ``token`` (compared in constant time)."""
        return frozenset(
            rid
            for (hh, rid), registration in self.registered.items()
            if hh == household_id and hmac.compare_digest(token.encode(), registration.token.encode())
        )

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        """The handshake: a household a driver registered, with a token of one of its resources."""
        household_id = household_of(request.path)
        if not any(hh == household_id for hh, _ in self.registered):
            return self._refuse(connection, household_id, HTTPStatus.NOT_FOUND, "unknown household")
        if not self._opens(household_id, token_of(request)):
            return self._refuse(connection, household_id, HTTPStatus.UNAUTHORIZED, "wrong or missing token")
        return None

    def _refuse(
        self, connection: ServerConnection, household_id: str, status: HTTPStatus, why: str
    ) -> Response:
        self._said(f"{household_id[:64]!r}: {why}", "S2: refused an RM for household %s from %s",
                   connection.remote_address)  # fmt: skip
        response = connection.respond(status, f"{why}\n")
        if status is HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = 'Bearer realm="homeflex S2"'
        return response

    def _said(self, what: str, message: str, where: object) -> None:
        """Log a refusal once (a refused RM retries every few seconds)."""
        key = (what, str(where).split(",")[0])
        if key not in self._refusals:
            if len(self._refusals) >= REFUSALS_REMEMBERED:
                self._refusals.clear()
            self._refusals.add(key)
            log.warning(message, what, where)

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        household_id = household_of(request.path) if request else ""
        opens = self._opens(household_id, token_of(request)) if request else frozenset()
        if not opens:  # unregistered between the handshake and now
            return
        session = Session(connection, household_id, opens)
        try:
            async for raw in connection:
                await self._receive(session, raw)
        except ConnectionClosed:
            pass
        finally:
            key = (household_id, session.resource_id or "")
            if session.resource_id is not None and self.sessions.get(key) is session:
                del self.sessions[key]
                log.info("S2: resource %s of %s disconnected", session.resource_id, household_id)
                if (registration := self.registered.get(key)) is not None:
                    registration.listener.connected(False)

    async def _receive(self, session: Session, raw: str | bytes) -> None:
        try:
            text = raw if isinstance(raw, str) else raw.decode()
            if not isinstance(_strict_json(text), dict):  # s2-python assumes an object
                raise ValueError("not a JSON object")
            message = S2Parser.parse_as_any_message(text)
        # JSONDecodeError and UnicodeDecodeError are ValueErrors; JSON nested deeper than Python's
        # recursion limit (easily under the size limit) raises RecursionError
        except (S2ValidationError, ValueError, RecursionError) as err:
            await self._garbage(session, raw, err)
            return
        subject = getattr(message, "message_id", None)
        if isinstance(message, ReceptionStatus):
            session.resolve(str(message.subject_message_id), message)
            return
        if isinstance(message, Handshake):
            await session.answer(subject, ReceptionStatusValues.OK)
            if message.role is EnergyManagementRole.RM:
                await session.send(
                    HandshakeResponse(message_id=uuid.uuid4(), selected_protocol_version=S2_VERSION)
                )
            return
        if isinstance(message, ResourceManagerDetails):
            await self._details(session, message)
            return
        registration = self.registered.get((session.household_id, session.resource_id or ""))
        if (
            registration is None
            or self.sessions.get((session.household_id, session.resource_id or "")) is not session
        ):
            await session.answer(
                subject, ReceptionStatusValues.TEMPORARY_ERROR, "ResourceManagerDetails first"
            )
            return
        await session.answer(subject, ReceptionStatusValues.OK)
        if isinstance(message, InstructionStatusUpdate):
            session.resolve(str(message.instruction_id), message)
        registration.listener.received(message)

    async def _details(self, session: Session, details: ResourceManagerDetails) -> None:
        rid = str(details.resource_id)
        key = (session.household_id, rid)
        registration = self.registered.get(key) if rid in session.opens else None
        if registration is None or session.resource_id not in (None, rid):
            self._said(f"{rid} in {session.household_id[:64]!r}",
                       "S2: refused resource %s: not one its token opens (from %s)",
                       session.connection.remote_address)  # fmt: skip
            await session.answer(
                details.message_id, ReceptionStatusValues.PERMANENT_ERROR, "unknown resource"
            )
            await session.connection.close()
            return
        listener = registration.listener
        if ControlType.FILL_RATE_BASED_CONTROL not in details.available_control_types:
            log.error("S2: resource %s does not offer FRBC (it offers %s)", rid,
                      [c.value for c in details.available_control_types])  # fmt: skip
            await session.answer(details.message_id, ReceptionStatusValues.PERMANENT_ERROR, "FRBC needed")
            return
        await session.answer(details.message_id, ReceptionStatusValues.OK)
        old = self.sessions.get(key)
        session.resource_id = rid
        self.sessions[key] = session  # first: the old connection's end must not count as a loss
        if old is not None and old is not session:
            await old.connection.close()
        log.info("S2: resource %s connected (%s %s)", rid, details.manufacturer or "", details.model or "")
        await session.send(
            SelectControlType(message_id=uuid.uuid4(), control_type=ControlType.FILL_RATE_BASED_CONTROL)
        )
        listener.connected(True)
        listener.received(details)

    async def _garbage(self, session: Session, raw: str | bytes, err: Exception) -> None:
        log.warning("S2: unreadable message from resource %s (not S2): %s: %.200r",
                    session.resource_id or "(unidentified)", type(err).__name__, raw)  # fmt: skip
        with suppress(ValueError, TypeError, AttributeError, S2ValidationError, RecursionError):
            subject = json.loads(raw).get("message_id")
            if subject is not None:
                await session.answer(subject, ReceptionStatusValues.INVALID_DATA, str(err)[:200])


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"a number out of range: {text[:40]}")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _strict_json(text: str) -> Any:
    """JSON as the standard has it: Python's parser takes NaN, Infinity and 1e999 (inf), which
    s2-python's models let through to the readings."""
    return json.loads(text, parse_float=_finite, parse_constant=_no_constant)


@asynccontextmanager
async def cem_endpoint(settings: Any) -> AsyncIterator[Cem]:
    """The S2 driver's shared service, from homeflex's settings (homeflex.settings.Settings)."""
    cem = Cem(
        CemSettings(
            host=settings.s2_host,
            port=settings.s2_port,
            tls_cert=settings.s2_tls_cert,
            tls_key=settings.s2_tls_key,
        )
    )
    async with cem:
        yield cem
