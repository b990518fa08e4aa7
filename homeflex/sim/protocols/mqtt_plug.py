"""What the simulated MQTT plugs share (Shelly, Tasmota, Zigbee2MQTT): one connection with the product's
last will, the plug's relay in the simulated household's physics, an energy counter and the product's
own timer on the simulation clock. Each protocol's module says the product's topics and payloads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

from homeflex.core.clock import Clock
from homeflex.core.tasks import stop_tasks
from homeflex.mqtt import MqttSession, MqttUnavailable
from homeflex.sim.household import SimHousehold

log = logging.getLogger(__name__)

VOLTAGE = 230.0  # V: the simulated supply
REPORT_DELAY_S = 0.2  # wall seconds from a command's reply to the report of the change it made


def required_option(options: Mapping[str, Any], key: str, product: str) -> str:
    """A text option the simulated product cannot run without (its topic, prefix or name)."""
    value = options.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"a simulated {product} needs its {key}, got options {dict(options)}")
    return value


class SimMqttDevice:
    """One simulated product's MQTT connection: ``online`` is published (retained) on every connect
    and ``offline`` is its will, and is said on a clean exit too."""

    def __init__(
        self,
        household: SimHousehold,
        clock: Clock,
        mqtt_url: str,
        *,
        client_id: str,
        presence: tuple[str, bytes, bytes],  # topic, online payload, offline payload
        step_s: float,
        part: str | None = None,  # its own login within the household's account (mqtt/access.py)
    ) -> None:
        self.household = household
        self.clock = clock
        self.step_s = step_s
        self._presence = presence
        self.session = MqttSession(mqtt_url, client_id, will=(presence[0], presence[2]), part=part)
        self.session.announce(presence[0], presence[1])
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Any:
        await self.session.__aenter__()
        await self.publish_state()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await stop_tasks(list(self._tasks))
        with suppress(MqttUnavailable):  # a clean shutdown sends no will: say it ourselves
            await self.session.publish(self._presence[0], self._presence[2], retain=True, timeout=1.0)
        await self.session.__aexit__(*exc)

    async def publish_state(self) -> None:
        """The product's periodic report (each protocol)."""

    async def send(self, topic: str, payload: bytes | str | dict[str, Any], *, retain: bool = False) -> None:
        try:
            await self.session.publish(topic, payload, retain=retain, timeout=2.0)
        except MqttUnavailable as err:
            log.warning("%s: not published on %s: %s", self.session.identifier, topic, err)

    def spawn(self, work: Callable[[], Awaitable[None]], delay_s: float) -> asyncio.Task[None]:
        """Run ``work`` after ``delay_s`` wall seconds, owned by this device."""

        async def later() -> None:
            await asyncio.sleep(delay_s)
            await work()

        task = asyncio.get_running_loop().create_task(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


class SimPlug(SimMqttDevice):
    """A plug's relay in the household's physics: off cuts the appliance; on is the plug's own
    behaviour (the appliance runs on its schedule)."""

    def __init__(
        self, household: SimHousehold, device_id: str, clock: Clock, mqtt_url: str, **kw: Any
    ) -> None:
        household.device(device_id)  # fail early on an unknown device
        kw.setdefault("part", device_id)  # each device logs in as <household>.<device id>
        super().__init__(household, clock, mqtt_url, **kw)
        self.device_id = device_id
        self.energy_wh = 0.0
        self._metered_at: datetime | None = None
        self._timer: asyncio.Task[None] | None = None

    @property
    def on(self) -> bool:
        return bool(self.household.device_state(self.device_id)["on"])

    @property
    def power_w(self) -> float:
        return round(self.household.device(self.device_id).power_w, 1)

    def meter(self) -> None:
        """Count the energy at the last power up to now (the plug's own counter, Wh)."""
        now = self.clock.now()
        if self._metered_at is not None and now > self._metered_at:
            self.energy_wh += self.power_w * (now - self._metered_at).total_seconds() / 3600
        self._metered_at = now

    def switch(self, on: bool) -> bool:
        """Set the relay; whether it was on."""
        was_on = self.on
        now = self.clock.now()
        self.household.advance_to(now, self.step_s)  # the time so far ran under the old setting
        self.meter()
        if on:
            self.household.reset(self.device_id, now)
        else:
            self.household.apply(self.device_id, {"on": False}, now)
        self.household.refresh()
        return was_on

    def timer(self, seconds: float | None, then: Callable[[], Awaitable[None]] | None = None) -> None:
        """The product's own timer (simulation seconds): replaces any running one; None stops it."""
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        self._timer = None
        if seconds is not None and then is not None:
            self._timer = asyncio.get_running_loop().create_task(self._after(seconds, then))
            self._tasks.add(self._timer)
            self._timer.add_done_callback(self._tasks.discard)

    async def _after(self, seconds: float, then: Callable[[], Awaitable[None]]) -> None:
        await self.clock.sleep(seconds)
        self._timer = None
        await then()
