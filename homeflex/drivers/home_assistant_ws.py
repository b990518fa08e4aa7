"""A client of Home Assistant's WebSocket API (``/api/websocket``, protocols.md §7), for the
``home_assistant`` driver: one connection, kept open with reconnection and backoff.

    <- auth_required            -> {"type": "auth", "access_token": T}     <- auth_ok | auth_invalid
    -> {"id": n, "type": "subscribe_events", "event_type": "state_changed"}
    -> {"id": n, "type": "get_states"}                                    (the entities' states once)
    -> {"id": n, "type": "call_service", "domain", "service", "service_data", "target"}
    <- {"id": n, "type": "result", "success": true|false, "error": {"code", "message"}}
    <- {"id": n, "type": "event", "event": {"data": {"entity_id", "new_state"}}}

A service call Home Assistant refuses (``not_found``, ``invalid_format``, ``service_validation_error``)
is DeviceRefused; one it could not carry out (``home_assistant_error``: the device behind it failed) or
no answer is DeviceUnreachable. ``auth_invalid`` is permanent: the connection stops trying, and every
call is refused saying the token is wrong, until the household's configuration gives another.
Anything unreadable from Home Assistant is logged and skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from homeflex.drivers import DeviceRefused, DeviceUnreachable

log = logging.getLogger(__name__)

REFUSALS = {"not_found", "invalid_format", "service_validation_error"}
StateCallback = Callable[[str, dict[str, Any] | None], None]  # entity id, its new state (None: removed)


class AuthInvalid(DeviceRefused):
    """Home Assistant refused the access token."""


class HaConnection:
    """The connection of one device's driver (a household's devices each hold their own: one broken
    entity never stalls another). ``on_state`` hears the watched entities' states; ``on_link`` hears
    whether Home Assistant is reachable (True once connected, False once lost), with why."""

    def __init__(
        self,
        name: str,
        ws_url: str,
        token: str,
        entities: frozenset[str],
        on_state: StateCallback,
        on_link: Callable[[bool, str], None],
        *,
        timeout_s: float,
        retry_max_s: float,
    ) -> None:
        self.name, self.ws_url, self.token, self.entities = name, ws_url, token, entities
        self.on_state, self.on_link = on_state, on_link
        self.timeout_s, self.retry_max_s = timeout_s, retry_max_s
        self.refused: str | None = None  # auth_invalid: why the connection stopped trying
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._connected = asyncio.Event()
        self._tried = asyncio.Event()  # the first attempt has ended, either way
        # Entities heard in events since this connection subscribed: get_states' answer is older than
        # the events read after it (the reader runs on before the answer is taken up).
        self._evented: set[str] = set()

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed and self._connected.is_set()

    async def first_attempt(self) -> None:
        """Until the first connection attempt has ended (bounded by the caller)."""
        await self._tried.wait()

    # -- the connection loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, read, and reconnect after a loss with a doubling wait up to ``retry_max_s``; stops
        for good on auth_invalid."""
        delay = min(0.5, self.retry_max_s)
        connect = aiohttp.ClientTimeout(total=None, connect=self.timeout_s, sock_connect=self.timeout_s)
        async with aiohttp.ClientSession(timeout=connect) as http:
            while True:
                try:
                    await self._session(http)
                    why = "Home Assistant closed the connection"
                except AuthInvalid as err:
                    self.refused = str(err)
                    log.error("%s", err)
                    self._lost(str(err))
                    return
                except (
                    aiohttp.ClientError,
                    OSError,
                    TimeoutError,
                    ConnectionError,
                    DeviceUnreachable,
                ) as err:
                    why = f"Home Assistant unreachable: {err or type(err).__name__}"
                except Exception as err:  # a refused subscription, a bug: said, and tried again later
                    log.exception("%s: the Home Assistant connection failed", self.name)
                    why = f"the Home Assistant connection failed: {err}"
                if self._connected.is_set():  # it was up: the backoff starts afresh
                    delay = min(0.5, self.retry_max_s)
                self._lost(why)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)

    async def _session(self, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(self.ws_url, timeout=aiohttp.ClientWSTimeout(ws_close=self.timeout_s),
                                   heartbeat=max(self.timeout_s * 5, 1.0)) as ws:  # fmt: skip
            await self._authenticate(ws)
            self._ws, self._next_id = ws, 1
            self._evented.clear()
            reader = asyncio.get_running_loop().create_task(self._read(ws), name=f"ha-read-{self.name}")
            try:
                await self._request({"type": "subscribe_events", "event_type": "state_changed"})
                states = await self._request({"type": "get_states"})
                self._initial(states)
                self._connected.set()
                self._tried.set()
                self.on_link(True, "Home Assistant answers")
                await reader
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _authenticate(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async with asyncio.timeout(self.timeout_s):
            hello = await self._frame(ws)
            if hello.get("type") != "auth_required":
                raise ConnectionError(f"not Home Assistant's WebSocket API (it said {hello!r:.80})")
            await ws.send_json({"type": "auth", "access_token": self.token})
            said = await self._frame(ws)
        if said.get("type") == "auth_invalid":
            told = said.get("message", "auth_invalid")
            raise AuthInvalid(
                f"{self.name}: Home Assistant refused the access token ({told})"
                ": make a new long-lived token in Home Assistant (your profile, Security) and put it in "
                "the device's address"
            )
        if said.get("type") != "auth_ok":
            raise ConnectionError(f"no auth_ok from Home Assistant (it said {said!r:.80})")

    async def _frame(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        """The next JSON object; junk is logged and skipped; a closed socket is ConnectionError."""
        while True:
            message = await ws.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):  # fmt: skip
                raise ConnectionError("the WebSocket closed")
            body = self._parse(message)
            if body is not None:
                return body

    def _parse(self, message: aiohttp.WSMessage) -> dict[str, Any] | None:
        if message.type is not aiohttp.WSMsgType.TEXT:
            log.warning("%s: unreadable frame from Home Assistant: %s", self.name, message.type.name)
            return None
        try:
            body = json.loads(message.data)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's limit
            body = None
        if not isinstance(body, dict):
            log.warning("%s: unreadable message from Home Assistant: %r", self.name, message.data[:80])
            return None
        return body

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            body = await self._frame(ws)
            kind = body.get("type")
            ident = body.get("id")
            if kind == "result" and isinstance(ident, int) and not isinstance(ident, bool):
                self._answered(body)
            elif kind == "event":
                self._event(body.get("event"))
            elif kind != "pong":
                log.warning("%s: unreadable message from Home Assistant: %r", self.name, str(body)[:80])

    def _lost(self, why: str) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        self._ws = None
        self._tried.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(DeviceUnreachable(f"{self.name}: {why}"))
        self._pending.clear()
        if was or self.refused:
            log.warning("%s: %s", self.name, why)
        self.on_link(False, why)

    # -- requests ---------------------------------------------------------------------------------------
    async def call(self, domain: str, service: str, data: dict[str, Any], entity_id: str) -> None:
        """``domain.service`` on ``entity_id``; DeviceRefused or DeviceUnreachable as the module says."""
        if self.refused:
            raise DeviceRefused(self.refused)
        if not self.connected:
            raise DeviceUnreachable(f"{self.name}: Home Assistant is not connected")
        await self._request({"type": "call_service", "domain": domain, "service": service,
                             "service_data": data, "target": {"entity_id": entity_id}})  # fmt: skip

    async def _request(self, body: dict[str, Any]) -> Any:
        ws = self._ws
        if ws is None or ws.closed:
            raise DeviceUnreachable(f"{self.name}: Home Assistant is not connected")
        ident, self._next_id = self._next_id, self._next_id + 1
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = answer
        try:
            await ws.send_json({"id": ident, **body})
            async with asyncio.timeout(self.timeout_s):
                return await answer
        except (TimeoutError, ConnectionError, aiohttp.ClientError) as err:
            raise DeviceUnreachable(f"{self.name}: no answer from Home Assistant to {body['type']}") from err
        finally:
            self._pending.pop(ident, None)

    def _answered(self, body: dict[str, Any]) -> None:
        answer = self._pending.get(body["id"])
        if answer is None or answer.done():
            return
        if body.get("success") is True:
            answer.set_result(body.get("result"))
            return
        error = body["error"] if isinstance(body.get("error"), dict) else {}
        code, message = str(error.get("code", "?")), str(error.get("message", ""))[:300]
        said = f"{self.name}: Home Assistant says {code}: {message}"
        answer.set_exception(DeviceRefused(said) if code in REFUSALS else DeviceUnreachable(said))

    # -- states -----------------------------------------------------------------------------------------
    def _initial(self, states: object) -> None:
        if not isinstance(states, list):
            log.warning("%s: unreadable states from Home Assistant: %r", self.name, str(states)[:80])
            return
        found = {
            s["entity_id"]: s for s in states if isinstance(s, dict) and isinstance(s.get("entity_id"), str)
        }
        for entity in sorted(self.entities - self._evented):
            state = found.get(entity)
            if state is not None and not _readable(state):
                log.warning("%s: unreadable state of %s: %r", self.name, entity, str(state)[:80])
                continue
            self.on_state(entity, state)

    def _event(self, event: object) -> None:
        data = event.get("data") if isinstance(event, dict) else None
        entity = data.get("entity_id") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(entity, str):
            log.warning("%s: unreadable event from Home Assistant: %r", self.name, str(event)[:80])
            return
        if entity not in self.entities:
            return
        new = data.get("new_state")
        if new is not None and not _readable(new):
            log.warning("%s: unreadable state of %s: %r", self.name, entity, str(new)[:80])
            return
        self._evented.add(entity)
        self.on_state(entity, new)


def _readable(state: object) -> bool:
    """A state as Home Assistant sends it: an object whose attributes, if any, are an object."""
    return isinstance(state, dict) and isinstance(state.get("attributes") or {}, dict)
