"""What the drivers of MQTT products share: a plug's setting in the control vocabulary, JSON that may be
junk, availability said once each way, a request retried until answered, and an emulated expiry."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from homeflex.core.clock import sleep_until
from homeflex.drivers import DeviceLink, DeviceRefused, DeviceUnreachable, Settings
from homeflex.mqtt import MqttUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Timing:
    """How long to wait for a device's answer (wall seconds: a network round trip, not simulated
    time) and how often to ask."""

    ack_timeout_s: float = 2.0
    attempts: int = 3

    def __post_init__(self) -> None:
        if self.ack_timeout_s <= 0 or not 1 <= self.attempts <= 10:
            raise ValueError("ack_timeout_s must be positive and attempts in 1..10")


def check_topic(name: str, value: str, *, levels: bool = False) -> None:
    """A topic part we publish to: no wildcards or NUL (``levels``: may hold several levels)."""
    bad = "+#\0" if levels else "/+#\0"
    if not value or len(value) > 200 or any(c in value for c in bad) or value.strip("/") != value:
        what = "an MQTT topic prefix" if levels else "one MQTT topic level"
        raise ValueError(f"{name} must be {what} without wildcards, got {value!r}")


def plug_on(name: str, settings: Settings) -> bool:
    """A plug's command: ``{"on": False}`` switches it off, ``{"on": None}`` (or True) gives it back to
    its own behaviour, which for a plug is on. Anything else is refused before it reaches the device."""
    if set(settings) != {"on"}:
        raise DeviceRefused(f"{name}: a plug takes only 'on', got {sorted(settings)}")
    value = settings["on"]
    if value is not None and not isinstance(value, bool):
        raise DeviceRefused(f"{name}: on must be false, true or null, got {value!r}")
    return value is not False


def read_json(name: str, topic: str, payload: bytes) -> dict[str, Any] | None:
    """A JSON object from a device, or None (logged) for anything else."""
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        unreadable(name, topic, payload)
        return None
    return body


def unreadable(name: str, topic: str, payload: bytes) -> None:
    log.warning("%s: unreadable message on %s: %r", name, topic, payload[:80])


def number(value: object, scale: float = 1.0) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) * scale


class Presence:
    """Tells the agent when the device goes or comes back: once each way, not on every attempt. Only
    the device's presence topic and the answers to commands count: a report can be in flight when the
    device's last will says it is gone."""

    def __init__(self, link: DeviceLink) -> None:
        self.link = link
        self.up: bool | None = None  # unknown until the device or a command says

    def seen(self, up: bool, why: str) -> None:
        if up != self.up:
            self.up = up
            self.link.availability(self.link.device_id, up, why)


async def until_answered(
    link: DeviceLink,
    presence: Presence,
    timing: Timing,
    publish: Callable[[], Awaitable[None]],
    answer: asyncio.Future[T],
) -> tuple[T, int]:
    """Publish, wait for ``answer``; publish again (the same request) until it comes. The answer and the
    attempts it took; DeviceUnreachable after the last attempt."""
    for attempt in range(1, timing.attempts + 1):
        try:
            await publish()
            async with asyncio.timeout(timing.ack_timeout_s):
                result = await asyncio.shield(answer)
        except (TimeoutError, MqttUnavailable) as err:
            log.warning("%s: no answer (attempt %d): %s", link.name, attempt, err or "timeout")
            continue
        presence.seen(True, "it answers")
        return result, attempt
    answer.cancel()
    presence.seen(False, "no answer")
    raise DeviceUnreachable(f"{link.name}: no answer after {timing.attempts} attempts")


class EmulatedExpiry:
    """The driver's own timer for a protocol without one: at the command's expiry it gives the device
    back to its own behaviour; a new command cancels it. If the agent stops, the last command stays."""

    def __init__(self, link: DeviceLink, revert: Callable[[], Awaitable[object]]) -> None:
        self.link = link
        self._revert = revert
        self._task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = None

    def at(self, when: datetime | None) -> None:
        self.cancel()
        if when is not None:
            self._task = asyncio.get_running_loop().create_task(self._expire(when))

    async def _expire(self, when: datetime) -> None:
        await sleep_until(self.link.clock, when)
        log.info("%s: command expired, back to the device's own behaviour", self.link.name)
        try:
            await self._revert()
        except Exception as err:  # the next command (or the agent's next tick) tries again
            log.warning("%s: could not revert at expiry: %s", self.link.name, err)


class EchoedSwitch:
    """A plug whose command is acknowledged by the state it reports next (Tasmota, Zigbee2MQTT): the
    protocol has no request id, so the ack is the first report after the command showing the wanted
    state. The protocol's expiry is emulated (``EmulatedExpiry``)."""

    def __init__(self, link: DeviceLink, timing: Timing) -> None:
        self.link = link
        self.timing = timing
        self.presence = Presence(link)
        self.state: dict[str, Any] = {}
        self._wanted: tuple[bool, asyncio.Future[None]] | None = None
        self._expiry = EmulatedExpiry(link, lambda: self.send({"on": None}, None))

    async def switch(self, on: bool) -> None:
        """Publish the protocol's command for ``on`` (each protocol's driver)."""
        raise NotImplementedError

    def heard(self, **state: Any) -> None:
        """The device reported (keys in the control vocabulary; None values are left out)."""
        self.state.update({k: v for k, v in state.items() if v is not None})
        self.link.report(self.link.device_id, dict(self.state))
        if self._wanted is not None and state.get("on") is self._wanted[0] and not self._wanted[1].done():
            self._wanted[1].set_result(None)

    def availability(self, up: bool, why: str) -> None:
        self.presence.seen(up, why)

    async def stop(self) -> None:
        """Nothing is reverted: with the agent gone the device keeps the last command (emulated expiry)."""
        self._expiry.cancel()
        if self._wanted is not None:
            self._wanted[1].cancel()

    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        on = plug_on(self.link.name, settings)
        self._expiry.cancel()
        answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wanted = (on, answer)
        try:
            _, attempts = await until_answered(
                self.link, self.presence, self.timing, lambda: self.switch(on), answer
            )
        finally:
            self._wanted = None
        if not on:
            self._expiry.at(expires_at)
        return attempts
