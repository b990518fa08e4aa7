"""Command -> acknowledgement over MQTT: QoS 1, correlation by id, timeout and retry."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from homeflex.control.devices import Settings
from homeflex.core import topics
from homeflex.core.timeutil import iso
from homeflex.mqtt import MqttSession, MqttUnavailable

log = logging.getLogger(__name__)


class CommandFailed(RuntimeError):
    """The device refused the command or never acknowledged it."""


@dataclass(frozen=True, kw_only=True)
class Ack:
    command_id: str
    attempts: int


class CommandSender:
    """Sends commands to one household's devices and waits for each device's ack."""

    def __init__(self, session: MqttSession, household_id: str, *, timeout_s: float = 2.0, attempts: int = 3):
        self.session = session
        self.household_id = household_id
        self.timeout_s = timeout_s  # wall seconds: a network round trip, not simulated time
        self.attempts = attempts
        self._waiting: dict[str, asyncio.Future[dict[str, object]]] = {}
        session.subscribe(f"{topics.PREFIX}/{household_id}/+/ack", self._on_ack)

    def _on_ack(self, topic: str, payload: bytes) -> None:
        try:
            ack = json.loads(payload)
            future = self._waiting.get(str(ack["id"]))
        except (ValueError, KeyError, TypeError):
            log.warning("%s: unreadable ack on %s", self.household_id, topic)
            return
        if future is not None and not future.done():
            future.set_result(ack)

    async def send(self, device_id: str, settings: Settings, expires_at: datetime | None) -> Ack:
        """Publish the command; resend the same id (devices apply an id once) until acknowledged."""
        command_id = uuid.uuid4().hex
        payload = {"id": command_id, "set": settings, "expires_at": iso(expires_at) if expires_at else None}
        future: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        try:
            for attempt in range(1, self.attempts + 1):
                try:
                    await self.session.publish(topics.cmd(self.household_id, device_id), payload, qos=1)
                    async with asyncio.timeout(self.timeout_s):
                        ack = await asyncio.shield(future)
                except (TimeoutError, MqttUnavailable) as err:
                    log.warning(
                        "%s/%s: no ack for %s (attempt %d): %s",
                        self.household_id,
                        device_id,
                        command_id,
                        attempt,
                        err or "timeout",
                    )
                    continue
                if not ack.get("ok"):
                    raise CommandFailed(f"{self.household_id}/{device_id} refused: {ack.get('error')}")
                return Ack(command_id=command_id, attempts=attempt)
            raise CommandFailed(f"{self.household_id}/{device_id}: no ack after {self.attempts} attempts")
        finally:
            self._waiting.pop(command_id, None)
