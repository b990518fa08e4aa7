"""One simulated device in homeflex's own MQTT dialect: its own connection, commands and acks, retained
state, expiry (homeflex.core.topics)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

from homeflex.core import topics
from homeflex.core.clock import Clock, sleep_until
from homeflex.core.tasks import stop_tasks
from homeflex.core.timeutil import iso
from homeflex.mqtt import MqttSession, MqttUnavailable
from homeflex.sim.commands import Command, CommandRejected, ack, parse_command
from homeflex.sim.household import SimHousehold
from homeflex.sim.protocols import ENDPOINTS

log = logging.getLogger(__name__)

REMEMBERED_IDS = 256  # acks kept for retries of recent commands
STATE_DELAY_S = 0.2  # wall seconds from a command to the state report that follows it


def availability_topic(household_id: str, device_id: str) -> str:
    return topics.device_topic(household_id, device_id, "availability")


class DeviceEndpoint:
    """Applies commands to one device of a SimHousehold and publishes what the device would report."""

    def __init__(
        self,
        household: SimHousehold,
        device_id: str,
        clock: Clock,
        mqtt_url: str,
        options: Mapping[str, Any] | None = None,
        *,
        step_s: float = 10.0,
    ) -> None:
        household.device(device_id)  # fail early on an unknown device
        self.household = household
        self.device_id = device_id
        self.clock = clock
        self.step_s = step_s
        self.expires_at: datetime | None = None
        self._acks: OrderedDict[str, dict[str, object]] = OrderedDict()
        self._expiry: asyncio.Task[None] | None = None
        self._state_task: asyncio.Task[None] | None = None
        hh = household.id
        self._availability = availability_topic(hh, device_id)
        self.session = MqttSession(
            mqtt_url, f"sim-{hh}-{device_id}", will=(self._availability, b"offline"), part=device_id
        )
        self.session.announce(self._availability, b"online")
        self.session.subscribe(topics.cmd(hh, device_id), self._on_command)

    async def __aenter__(self) -> DeviceEndpoint:
        await self.session.__aenter__()
        await self.publish_state()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await stop_tasks(t for t in (self._expiry, self._state_task) if t is not None)
        with suppress(MqttUnavailable):  # a clean shutdown sends no will: say it ourselves
            await self.session.publish(self._availability, b"offline", retain=True, timeout=1.0)
        await self.session.__aexit__(*exc)

    async def publish_state(self) -> None:
        state = self.household.device_state(self.device_id)
        state["ts"] = iso(self.clock.now())
        state["expires_at"] = iso(self.expires_at) if self.expires_at else None
        try:
            await self.session.publish(topics.state(self.household.id, self.device_id), state, retain=True)
        except MqttUnavailable as err:
            log.warning("%s/%s: state not published: %s", self.household.id, self.device_id, err)

    async def _on_command(self, topic: str, payload: bytes) -> None:
        now = self.clock.now()
        try:
            command = parse_command(payload)
        except CommandRejected as err:
            await self._reply(ack(err.command_id, str(err)))
            return
        if command.id in self._acks:  # a retry: answer again, apply once
            await self._reply(self._acks[command.id])
            return
        reply = self._apply(command, now)
        self._acks[command.id] = reply
        while len(self._acks) > REMEMBERED_IDS:
            self._acks.popitem(last=False)
        await self._reply(reply)  # the ack first: it is on the controller's critical path
        if reply["ok"]:
            self._state_soon()

    def _state_soon(self) -> None:
        """Publish the new state shortly after, once for a burst of commands. A real device reports its
        state on its own cadence; publishing it inside the command path would delay other devices' acks
        when many share one process (bench/RESULTS.md)."""
        if self._state_task is None or self._state_task.done():
            self._state_task = asyncio.get_running_loop().create_task(self._publish_state_later())

    async def _publish_state_later(self) -> None:
        await asyncio.sleep(STATE_DELAY_S)
        self.household.refresh()  # report the power under the new settings
        await self.publish_state()

    def _apply(self, command: Command, now: datetime) -> dict[str, object]:
        if command.expires_at is not None and command.expires_at <= now:
            return ack(command.id, f"command expired at {iso(command.expires_at)} (device time {iso(now)})")
        self.household.advance_to(now, self.step_s)  # the time so far ran under the old settings
        try:
            self.household.apply(self.device_id, command.set, now)
        except ValueError as err:
            return ack(command.id, str(err))
        self._set_expiry(command.expires_at)
        return ack(command.id)

    def _set_expiry(self, expires_at: datetime | None) -> None:
        """The latest command's expiry replaces any earlier one; None keeps the settings until changed."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.expires_at = expires_at
        if expires_at is not None:
            self._expiry = asyncio.get_running_loop().create_task(self._expire(expires_at))

    async def _expire(self, expires_at: datetime) -> None:
        await sleep_until(self.clock, expires_at)
        self.household.advance_to(expires_at, self.step_s)
        self.household.reset(self.device_id, expires_at)
        self.household.refresh()
        self.expires_at = None
        self._expiry = None
        log.info("%s/%s: command expired, back to default", self.household.id, self.device_id)
        await self.publish_state()

    async def _reply(self, payload: dict[str, object]) -> None:
        try:
            await self.session.publish(topics.ack(self.household.id, self.device_id), payload)
        except MqttUnavailable as err:
            log.warning("%s/%s: ack not published: %s", self.household.id, self.device_id, err)


ENDPOINTS.register("homeflex")(DeviceEndpoint)
