"""homeflex's own MQTT dialect, spoken by the device simulators (``homeflex.sim``):

    homeflex/v1/<household>/<device>/cmd    {"id", "set": {...}, "expires_at"}   QoS 1
    homeflex/v1/<household>/<device>/ack    {"id", "ok", "error"?}               QoS 1
    homeflex/v1/<household>/<device>/state  retained, the device's whole state

Commands are correlated by id, retried with the same id (a device applies an id once) and expire natively:
the simulated device returns to its own behaviour at ``expires_at``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from homeflex.core import topics
from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import iso
from homeflex.drivers import (
    DeviceLink,
    DeviceRefused,
    DeviceUnreachable,
    DriverInfo,
    Expiry,
    Settings,
    register,
)
from homeflex.mqtt import MqttUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class HomeflexAddress:
    """``device``: the device's name in the household's topic tree (default: the device's id)."""

    device: str | None = None
    ack_timeout_s: float = 2.0  # wall seconds: a network round trip, not simulated time
    attempts: int = 3

    def __post_init__(self) -> None:
        if self.device is not None and not topics.is_topic_level(self.device):
            raise ValueError(f"device must be one MQTT topic level, got {self.device!r}")
        if self.ack_timeout_s <= 0 or not 1 <= self.attempts <= 10:
            raise ValueError("ack_timeout_s must be positive and attempts in 1..10")


class HomeflexDriver:
    def __init__(self, link: DeviceLink, address: HomeflexAddress) -> None:
        self.link = link
        self.address = address
        self.topic_device = address.device or link.device_id
        self._waiting: dict[str, asyncio.Future[dict[str, object]]] = {}
        hh = link.household_id
        link.mqtt.subscribe(topics.ack(hh, self.topic_device), self._on_ack)
        link.mqtt.subscribe(topics.state(hh, self.topic_device), self._on_state)
        link.mqtt.subscribe(topics.device_topic(hh, self.topic_device, "availability"), self._on_availability)
        self._up: bool | None = None  # unknown until the device says or a command tells

    def _seen(self, up: bool, why: str) -> None:
        """Tell the agent when the device goes or comes back: once each way."""
        if up != self._up:
            self._up = up
            self.link.availability(self.link.device_id, up, why)

    def _on_availability(self, _topic: str, payload: bytes) -> None:
        if payload in (b"online", b"offline"):
            self._seen(payload == b"online", f"the device says {payload.decode()}")
        else:
            log.warning("%s: unreadable availability %r", self.link.name, payload[:64])

    async def start(self) -> None:
        """Nothing to do: the device's state is retained and arrives with the subscription."""

    async def stop(self) -> None:
        for future in self._waiting.values():
            future.cancel()

    def _on_state(self, topic: str, payload: bytes) -> None:
        try:
            state = json.loads(payload)
        except ValueError:
            log.warning("%s: unreadable state on %s", self.link.name, topic)
            return
        if isinstance(state, dict):
            self.link.report(self.link.device_id, state)

    def _on_ack(self, topic: str, payload: bytes) -> None:
        try:
            ack = json.loads(payload)
            future = self._waiting.get(str(ack["id"]))
        except (ValueError, KeyError, TypeError):
            log.warning("%s: unreadable ack on %s", self.link.name, topic)
            return
        if future is not None and not future.done():
            future.set_result(ack)

    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        """Publish the command; resend the same id until acknowledged."""
        command_id = uuid.uuid4().hex
        payload = {"id": command_id, "set": settings, "expires_at": iso(expires_at) if expires_at else None}
        future: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        topic = topics.cmd(self.link.household_id, self.topic_device)
        try:
            for attempt in range(1, self.address.attempts + 1):
                try:
                    await self.link.mqtt.publish(topic, payload, qos=1)
                    async with asyncio.timeout(self.address.ack_timeout_s):
                        ack = await asyncio.shield(future)
                except (TimeoutError, MqttUnavailable) as err:
                    log.warning(
                        "%s: no ack for %s (attempt %d): %s",
                        self.link.name,
                        command_id,
                        attempt,
                        err or "timeout",
                    )
                    continue
                self._seen(True, "it answers")
                if not ack.get("ok"):
                    raise DeviceRefused(f"{self.link.name} refused: {ack.get('error')}")
                return attempt
            self._seen(False, "no answer")
            raise DeviceUnreachable(f"{self.link.name}: no ack after {self.address.attempts} attempts")
        finally:
            self._waiting.pop(command_id, None)


INFO = register(
    DriverInfo(
        protocol="homeflex",
        title="homeflex MQTT",
        kinds=frozenset(DeviceKind),
        products=("homeflex device simulators",),
        expiry=Expiry.NATIVE,
        fail_safe="the device returns to its own behaviour at the command's expires_at",
        config=HomeflexAddress,
        build=HomeflexDriver,
    )
)
