"""homeflex's S2 CEM endpoint (EN 50491-12-2): the WebSocket server resource managers connect to.

One endpoint per household agent, shared by its S2 drivers (like the OCPP central system). A resource
manager (RM) connects, sends ``Handshake``; the CEM answers ``HandshakeResponse``. The RM says who it is
in ``ResourceManagerDetails``: its ``resource_id`` is the address a driver registered; an unknown one is
answered PERMANENT_ERROR and let go (logged once). The CEM then selects FRBC (``SelectControlType``) and
hands everything the RM sends to the driver. Every message is answered with ``ReceptionStatus``; one
that is not S2 is answered INVALID_DATA (when it has a message id) and recorded, never a crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol

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

from homeflex.drivers import DeviceRefused, DeviceUnreachable

log = logging.getLogger(__name__)

DONE = {InstructionStatus.ACCEPTED, InstructionStatus.STARTED, InstructionStatus.SUCCEEDED}
REFUSED = {InstructionStatus.REJECTED, InstructionStatus.ABORTED, InstructionStatus.REVOKED}
MAX_MESSAGE_BYTES = 1 << 20  # a system description is a few kB; more is not an RM
UNKNOWN_REMEMBERED = 1024  # unknown resource ids logged once; forgotten beyond this


class Listener(Protocol):
    def connected(self, up: bool) -> None: ...

    def received(self, message: S2Message) -> None: ...


@dataclass(frozen=True, kw_only=True)
class CemSettings:
    host: str = "127.0.0.1"
    port: int = 9100  # 0: a free port (tests), see Cem.port
    response_timeout_s: float = 10.0  # wall seconds for an RM to answer an instruction

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535 or self.response_timeout_s <= 0:
            raise ValueError("s2 port must be 0..65535 and the response timeout positive")


class Session:
    """One connected RM: sends, and matches the answers to what was sent."""

    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
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
    """The server; drivers ``register`` their resource ids and ``instruct`` their RMs."""

    def __init__(self, settings: CemSettings | None = None) -> None:
        self.settings = settings or CemSettings()
        self.registered: dict[str, Listener] = {}
        self.sessions: dict[str, Session] = {}
        self._unknown: set[str] = set()
        self._server: Server | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the S2 CEM endpoint is not running")
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://{self.settings.host}:{self.port}/s2"

    async def __aenter__(self) -> Cem:
        self._server = await serve(
            self._handle, self.settings.host, self.settings.port, max_size=MAX_MESSAGE_BYTES
        )
        log.info("S2 CEM endpoint on %s", self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def register(self, resource_id: str, listener: Listener) -> None:
        if resource_id in self.registered:
            raise ValueError(f"S2 resource {resource_id} is already driven by another device")
        self.registered[resource_id] = listener

    async def unregister(self, resource_id: str) -> None:
        self.registered.pop(resource_id, None)
        if (session := self.sessions.pop(resource_id, None)) is not None:
            await session.connection.close()

    def is_connected(self, resource_id: str) -> bool:
        return resource_id in self.sessions

    async def instruct(self, resource_id: str, instruction: FRBCInstruction) -> InstructionStatus:
        """Send an instruction; its status once the RM accepted it. DeviceRefused when the RM rejects
        it (ReceptionStatus not OK, or status REJECTED/ABORTED/REVOKED), DeviceUnreachable when no RM is
        connected or it does not answer in time."""
        session = self.sessions.get(resource_id)
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

    async def _handle(self, connection: ServerConnection) -> None:
        session = Session(connection)
        try:
            async for raw in connection:
                await self._receive(session, raw)
        except ConnectionClosed:
            pass
        finally:
            rid = session.resource_id
            if rid is not None and self.sessions.get(rid) is session:
                del self.sessions[rid]
                log.info("S2: resource %s disconnected", rid)
                if (listener := self.registered.get(rid)) is not None:
                    listener.connected(False)

    async def _receive(self, session: Session, raw: str | bytes) -> None:
        try:
            message = S2Parser.parse_as_any_message(raw if isinstance(raw, str) else raw.decode())
        except (S2ValidationError, ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is one
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
        listener = self.registered.get(session.resource_id or "")
        if listener is None:
            await session.answer(
                subject, ReceptionStatusValues.TEMPORARY_ERROR, "ResourceManagerDetails first"
            )
            return
        await session.answer(subject, ReceptionStatusValues.OK)
        if isinstance(message, InstructionStatusUpdate):
            session.resolve(str(message.instruction_id), message)
        listener.received(message)

    async def _details(self, session: Session, details: ResourceManagerDetails) -> None:
        rid = str(details.resource_id)
        listener = self.registered.get(rid)
        if listener is None:
            if rid not in self._unknown:
                if len(self._unknown) >= UNKNOWN_REMEMBERED:
                    self._unknown.clear()
                self._unknown.add(rid)
                log.warning("S2: refused unknown resource %s from %s", rid, session.connection.remote_address)
            await session.answer(
                details.message_id, ReceptionStatusValues.PERMANENT_ERROR, "unknown resource"
            )
            await session.connection.close()
            return
        if ControlType.FILL_RATE_BASED_CONTROL not in details.available_control_types:
            log.error("S2: resource %s does not offer FRBC (it offers %s)", rid,
                      [c.value for c in details.available_control_types])  # fmt: skip
            await session.answer(details.message_id, ReceptionStatusValues.PERMANENT_ERROR, "FRBC needed")
            return
        await session.answer(details.message_id, ReceptionStatusValues.OK)
        old = self.sessions.get(rid)
        session.resource_id = rid
        self.sessions[rid] = session  # first: the old connection's end must not count as a loss
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
        with suppress(ValueError, TypeError, AttributeError, S2ValidationError):
            subject = json.loads(raw).get("message_id")
            if subject is not None:
                await session.answer(subject, ReceptionStatusValues.INVALID_DATA, str(err)[:200])


@asynccontextmanager
async def cem_endpoint(settings: Any) -> AsyncIterator[Cem]:
    """The S2 driver's shared service, from homeflex's settings (homeflex.settings.Settings)."""
    async with Cem(CemSettings(host=settings.s2_host, port=settings.s2_port)) as cem:
        yield cem
