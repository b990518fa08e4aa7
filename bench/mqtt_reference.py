"""The raw MQTT floor: QoS 1 request -> response between two plain aiomqtt clients, through the broker.

Both clients set TCP_NODELAY (homeflex.mqtt.session.NODELAY) and speak MQTT 3.1.1; the correlation id
travels in a JSON payload, as a homeflex command and its ack do. A request is timed from the moment it is
fired (or from a common start, for a burst) to the response reaching the requester's loop.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from types import TracebackType
from typing import Any

import aiomqtt

from homeflex.core.clock import perf_seconds
from homeflex.mqtt import parse_mqtt_url
from homeflex.mqtt.session import NODELAY

REQUEST_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 60.0


def _client(url: str, identifier: str) -> aiomqtt.Client:
    endpoint = parse_mqtt_url(url)
    return aiomqtt.Client(
        endpoint.host,
        endpoint.port,
        username=endpoint.username,
        password=endpoint.password,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V311,
        socket_options=NODELAY,
    )


class EchoPair:
    """A requester and a responder on their own topics; `request()` times one round trip."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.request_topic = f"bench/{name}/req"
        self.response_topic = f"bench/{name}/resp"
        self._waiting: dict[str, asyncio.Future[float]] = {}
        self._stack = AsyncExitStack()
        self._tasks: set[asyncio.Task[None]] = set()
        self._requester: aiomqtt.Client | None = None

    async def __aenter__(self) -> EchoPair:
        try:
            responder = await self._stack.enter_async_context(_client(self.url, f"{self.name}-resp"))
            self._requester = await self._stack.enter_async_context(_client(self.url, f"{self.name}-req"))
            await responder.subscribe(self.request_topic, qos=1)
            await self._requester.subscribe(self.response_topic, qos=1)
        except BaseException:
            await self._stack.aclose()
            raise
        self._spawn(self._respond(responder))
        self._spawn(self._collect(self._requester))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with suppress(aiomqtt.MqttError):
            await self._stack.aclose()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _respond(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            request = json.loads(bytes(message.payload))
            reply = json.dumps({"id": request["id"], "ok": True}, separators=(",", ":"))
            # Like a device endpoint per command: a reply does not wait for another reply's PUBACK.
            self._spawn(client.publish(self.response_topic, reply, qos=1))

    async def _collect(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            received = perf_seconds()
            response = json.loads(bytes(message.payload))
            future = self._waiting.get(str(response["id"]))
            if future is not None and not future.done():
                future.set_result(received)

    async def request(self, since: float | None = None) -> float:
        """Seconds from `since` (default: now) to the response; raises TimeoutError past 5 s."""
        assert self._requester is not None, "enter the pair first"
        start = perf_seconds() if since is None else since
        request_id = uuid.uuid4().hex
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                payload = json.dumps({"id": request_id, "set": {"on": False}}, separators=(",", ":"))
                await self._requester.publish(self.request_topic, payload, qos=1)
                return await future - start
        finally:
            self._waiting.pop(request_id, None)


@asynccontextmanager
async def echo_pairs(url: str, count: int, prefix: str) -> AsyncIterator[list[EchoPair]]:
    """`count` connected pairs, entered concurrently and closed on exit."""
    async with AsyncExitStack() as stack:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            pairs = await asyncio.gather(
                *(stack.enter_async_context(EchoPair(url, f"{prefix}{i:04d}")) for i in range(count))
            )
        yield list(pairs)


async def sequential(pair: EchoPair, count: int, warmup: int = 20) -> list[float]:
    """`count` round trips one after another (after `warmup` untimed ones)."""
    for _ in range(warmup):
        await pair.request()
    return [await pair.request() for _ in range(count)]


async def burst(pairs: Sequence[EchoPair], count: int) -> list[float]:
    """`count` requests fired at once, spread round-robin over the pairs, timed from one common start."""
    start = perf_seconds()
    return list(await asyncio.gather(*(pairs[i % len(pairs)].request(since=start) for i in range(count))))
