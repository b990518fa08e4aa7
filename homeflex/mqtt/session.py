"""One MQTT connection with topic handlers, reconnecting with jittered backoff.

QoS 1 request/response needs TCP_NODELAY on the client (and the broker): with Nagle on, a
responder's PUBACK followed by its reply waits for a delayed ACK (~40 ms; shared/domain/mqtt.md §3).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from homeflex.core.errors import Transient
from homeflex.core.tasks import stop_tasks
from homeflex.mqtt.access import connection_username

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], Awaitable[None] | None]
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class MqttUnavailable(ConnectionError, Transient):
    """The broker cannot be reached now; retry later."""


@dataclass(frozen=True, kw_only=True)
class MqttEndpoint:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None  # the CA that signed the broker's certificate; None: the system's

    def ssl_context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=self.ca_file) if self.tls else None


def parse_mqtt_url(url: str) -> MqttEndpoint:
    """`mqtt://[user:pass@]host[:port]` or `mqtts://[user:pass@]host[:port][?ca=/path/ca.pem]` ->
    endpoint; ValueError with the reason otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"MQTT URL must look like mqtt://host:port or mqtts://host:port, got {url!r}")
    query = parse_qs(parts.query)
    if set(query) - {"ca"} or (query and parts.scheme != "mqtts"):
        raise ValueError(f"an MQTT URL takes only ?ca=/path/ca.pem, and only with mqtts://, got {url!r}")
    tls = parts.scheme == "mqtts"
    return MqttEndpoint(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
        ca_file=query["ca"][0] if "ca" in query else None,
    )


def _refused(err: MqttConnectError) -> bool:
    """CONNACK codes that no retry fixes: bad username or password, not authorised (MQTT 3.1.1 and 5)."""
    rc = err.rc
    code = rc if isinstance(rc, int) else getattr(rc, "value", None)
    return code in (4, 5, 0x86, 0x87, 0x8C)


def encode(payload: bytes | str | dict[str, Any] | list[Any]) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, separators=(",", ":")).encode()


class MqttSession:
    """An MQTT client owned by an async context manager.

    Handlers are registered per topic filter and called in arrival order; a handler that raises is
    logged and skipped, and the session goes on. Subscriptions are restored after a reconnect.
    """

    def __init__(
        self,
        url: str,
        identifier: str,
        *,
        will: tuple[str, bytes] | None = None,
        keepalive: int = 10,
        max_concurrent_outgoing: int = 256,
        persistent: bool = False,
        part: str | None = None,
    ) -> None:
        """`part` names this connection within the URL's account (mqtt/access.py): with credentials it
        logs in as `<account>.<part>`, the username (and, on the platform's broker, client id) that only
        this account can use."""
        self.endpoint = parse_mqtt_url(url)
        self.identifier = identifier
        self._username = connection_username(self.endpoint.username, part) if self.endpoint.username else None
        self._will = will
        self._keepalive = keepalive
        self._max_outgoing = max_concurrent_outgoing
        self._handlers: list[tuple[str, Handler, bool]] = []  # (filter, handler, takes retained)
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._online_payload: tuple[str, bytes] | None = None
        self._refusal: str | None = None  # why the broker refused us for good (credentials, ACL)
        # persistent: the broker keeps our subscriptions and queues QoS 1 messages while we are away,
        # and a message counts as received only when the owner acks it (after it is safely stored).
        self._persistent = persistent
        self._unacked: list[tuple[aiomqtt.Client, int, int]] = []

    def subscribe(self, topic_filter: str, handler: Handler, *, retained: bool = True) -> None:
        """Call `handler(topic, payload)` for every message matching `topic_filter` (QoS 1).
        `retained=False`: only messages published while subscribed, not a retained one the broker
        replays at (re)subscription (a command must not be carried out again on every reconnect)."""
        self._handlers.append((topic_filter, handler, retained))
        if self._client is not None and self._connected.is_set():
            asyncio.get_running_loop().create_task(self._subscribe_one(topic_filter))

    def announce(self, topic: str, payload: bytes) -> None:
        """A retained message published on every (re)connect, e.g. 'online' against the will."""
        self._online_payload = (topic, payload)

    async def _subscribe_one(self, topic_filter: str) -> None:
        try:
            assert self._client is not None
            await self._client.subscribe(topic_filter, qos=1)
        except aiomqtt.MqttError as err:  # the reconnect path subscribes again
            log.warning("subscribe %s failed: %s", topic_filter, err)

    async def publish(
        self,
        topic: str,
        payload: bytes | str | dict[str, Any] | list[Any],
        *,
        qos: int = 1,
        retain: bool = False,
        timeout: float = 10.0,
    ) -> None:
        """Publish; waits up to `timeout` s for a connection, else raises MqttUnavailable."""
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError as err:
            raise MqttUnavailable(f"{self.identifier}: no broker connection") from err
        assert self._client is not None
        try:
            await self._client.publish(topic, encode(payload), qos=qos, retain=retain)
        except aiomqtt.MqttError as err:
            raise MqttUnavailable(f"{self.identifier}: publish failed: {err}") from err

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def unacked(self) -> int:
        """Messages handled but not yet acknowledged to the broker (persistent sessions only)."""
        return len(self._unacked)

    def take_unacked(self) -> list[tuple[aiomqtt.Client, int, int]]:
        """Every message handled so far, to `ack` once what the handlers kept is durable."""
        taken, self._unacked = self._unacked, []
        return taken

    def ack(self, tokens: list[tuple[aiomqtt.Client, int, int]]) -> None:
        """PUBACK messages from `take_unacked`. Those from an earlier connection are skipped: the broker
        sends them again, and storing a reading twice is harmless (readings are unique by time)."""
        for client, mid, qos in tokens:
            if client is self._client and self._connected.is_set():
                client._client.ack(mid, qos)  # paho's: aiomqtt 2.x has no manual-ack API

    def restore_unacked(self, tokens: list[tuple[aiomqtt.Client, int, int]]) -> None:
        self._unacked[:0] = tokens

    async def __aenter__(self) -> MqttSession:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mqtt-{self.identifier}")
        try:
            async with asyncio.timeout(15):
                connected = asyncio.ensure_future(self._connected.wait())
                await asyncio.wait({connected, self._task}, return_when=asyncio.FIRST_COMPLETED)
                connected.cancel()
        except TimeoutError as err:
            await self.__aexit__(None, None, None)
            raise MqttUnavailable(
                f"cannot connect to mqtt://{self.endpoint.host}:{self.endpoint.port} as {self.identifier}"
            ) from err
        if self._refusal is not None:
            await self.__aexit__(None, None, None)
            raise MqttUnavailable(self._refusal)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None
        self._connected.clear()

    def _make_client(self) -> aiomqtt.Client:
        will = None
        if self._will is not None:
            will = aiomqtt.Will(self._will[0], self._will[1], qos=1, retain=True)
        client = aiomqtt.Client(
            self.endpoint.host,
            self.endpoint.port,
            username=self._username,
            password=self.endpoint.password,
            identifier=self.identifier,
            tls_context=self.endpoint.ssl_context(),
            keepalive=self._keepalive,
            will=will,
            socket_options=NODELAY,
            max_concurrent_outgoing_calls=self._max_outgoing,
            clean_session=False if self._persistent else None,
        )
        if self._persistent:
            client._client.manual_ack_set(True)  # see ack()
        return client

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                async with self._make_client() as client:
                    self._client = client
                    for topic_filter, _, _ in self._handlers:
                        await client.subscribe(topic_filter, qos=1)
                    if self._online_payload is not None:
                        await client.publish(*self._online_payload, qos=1, retain=True)
                    self._connected.set()
                    if backoff > 0.2:
                        log.info("%s: reconnected to the broker", self.identifier)
                    backoff = 0.2
                    async for message in client.messages:
                        await self._dispatch(
                            str(message.topic), message.topic, message.payload, bool(message.retain)
                        )
                        if self._persistent and message.qos > 0:
                            self._unacked.append((client, message.mid, message.qos))
            except MqttConnectError as err:
                if _refused(err):  # bad credentials or not allowed: retrying cannot help
                    self._refusal = f"{self.identifier}: the broker refused the connection: {err}"
                    log.error("%s", self._refusal)
                    self._connected.clear()
                    return
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, 10.0)
            except aiomqtt.MqttError as err:
                if self._connected.is_set() or backoff == 0.2:
                    log.warning("%s: broker connection lost: %s", self.identifier, err)
                self._connected.clear()
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, 10.0)

    async def _dispatch(self, topic: str, matcher: aiomqtt.Topic, payload: Any, retain: bool = False) -> None:
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        for topic_filter, handler, takes_retained in self._handlers:
            if not matcher.matches(topic_filter) or (retain and not takes_retained):
                continue
            try:
                result = handler(topic, data)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # a bad message must not stop the session
                log.exception("%s: handler for %s failed", self.identifier, topic)
