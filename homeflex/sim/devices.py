"""Simulated households on MQTT: one connection per device plus the meter, and the physics clock.

    async with HouseholdSimulator(config, clock, "mqtt://127.0.0.1:1883") as sim: ...

Like real devices, simulators are only reachable through MQTT topics (homeflex.core.topics).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from datetime import timedelta
from itertools import islice
from typing import Any

from homeflex.core import topics
from homeflex.core.clock import Clock, sleep_until
from homeflex.core.tasks import stop_tasks
from homeflex.mqtt import MqttSession, MqttUnavailable
from homeflex.sim.household import SimHousehold
from homeflex.sim.population import SimHouseholdConfig, build_household
from homeflex.sim.protocols import ENDPOINTS, Endpoint
from homeflex.sim.protocols.homeflex_mqtt import availability_topic

log = logging.getLogger(__name__)

BACKLOG_READINGS = 8640  # a day at 10 s: what a meter keeps while the broker is away
HISTORY_CHUNK = 336  # readings per meter/history message


class HouseholdSimulator:
    """Runs a SimHousehold on `clock`: physics every `step_s`, meter and state on their own cadences."""

    def __init__(
        self,
        source: SimHouseholdConfig | SimHousehold,
        clock: Clock,
        mqtt_url: str,
        *,
        step_s: float = 10.0,
        meter_interval_s: float = 10.0,
        state_interval_s: float = 60.0,
        wiring: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        if min(step_s, meter_interval_s, state_interval_s) <= 0:
            raise ValueError("step and publishing intervals must be positive")
        self.household = source if isinstance(source, SimHousehold) else build_household(source)
        self.clock = clock
        self.mqtt_url = mqtt_url
        self.step_s = step_s
        self.meter_interval_s = meter_interval_s
        self.state_interval_s = state_interval_s
        # device id -> {"protocol": name, **options}: what each device speaks (default homeflex's dialect)
        self.wiring = {k: dict(v) for k, v in (wiring or {}).items()}
        self.devices: dict[str, Endpoint] = {}
        # The household's meter: homeflex's simulated meter (meter/reading) unless the wiring's "meter"
        # names a product's protocol (a Shelly Pro 3EM), which then reports on the meter's cadence.
        self.meter_device: Endpoint | None = None
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = clock.now()  # loops tick on a grid from here; reset on entry
        hh = self.household.id
        self._meter_availability = availability_topic(hh, topics.METER)
        self.meter = MqttSession(
            mqtt_url, f"sim-{hh}-meter", will=(self._meter_availability, b"offline"), part="meter"
        )
        self.meter.announce(self._meter_availability, b"online")
        # Readings measured while the broker is unreachable, oldest first; sent as history on reconnect,
        # so telemetry stores them with the time they were measured. The oldest go when it is full.
        self.backlog: deque[dict[str, object]] = deque(maxlen=BACKLOG_READINGS)
        self.readings_measured = 0
        self.readings_dropped = 0

    async def __aenter__(self) -> HouseholdSimulator:
        self._started = self.clock.now()
        self.household.advance_to(self._started, self.step_s)  # catch up, e.g. after a history backfill
        try:
            await self._stack.enter_async_context(self.meter)
            for device_id in self.household.devices:
                self.devices[device_id] = await self._endpoint(device_id)
            if self.wiring.get(topics.METER, {}).get("protocol", "homeflex") != "homeflex":
                self.meter_device = await self._endpoint(topics.METER)
        except BaseException:
            await self._stack.aclose()
            raise
        meter = self.publish_reading if self.meter_device is None else self.meter_device.publish_state
        loops = (
            ("physics", self.step_s, self._step),
            ("meter", self.meter_interval_s, meter),
            ("state", self.state_interval_s, self._publish_states),
        )
        for name, interval, action in loops:
            task = asyncio.get_running_loop().create_task(
                self._every(interval, action), name=f"{self.household.id}-{name}"
            )
            self._tasks.append(task)
        return self

    async def _endpoint(self, device_id: str) -> Endpoint:
        """Start what ``device_id`` speaks, by its wiring (default: homeflex's dialect)."""
        options = dict(self.wiring.get(device_id, {}))
        factory = ENDPOINTS.get(str(options.pop("protocol", "homeflex")))
        endpoint = factory(self.household, device_id, self.clock, self.mqtt_url, options, step_s=self.step_s)
        await self._stack.enter_async_context(endpoint)
        return endpoint

    async def __aexit__(self, *exc: object) -> None:
        await stop_tasks(self._tasks)
        self._tasks.clear()
        with suppress(MqttUnavailable):  # a clean shutdown sends no will: say it ourselves
            await self.meter.publish(self._meter_availability, b"offline", retain=True, timeout=1.0)
        await self._stack.aclose()

    async def publish_reading(self) -> None:
        now = self.clock.now()
        self.household.advance_to(now, self.step_s)
        reading = self.household.meter_reading(now)
        self.readings_measured += 1
        if self.meter.connected:
            try:
                await self._send_backlog()
                await self.meter.publish(topics.meter_reading(self.household.id), reading, timeout=1.0)
                return
            except MqttUnavailable as err:
                log.warning("%s: meter keeps its readings: %s", self.household.id, err)
        elif not self.backlog:
            log.warning("%s: broker unreachable; the meter keeps its readings", self.household.id)
        if len(self.backlog) == self.backlog.maxlen:
            self.readings_dropped += 1
        self.backlog.append(reading)

    async def _send_backlog(self) -> None:
        """Send what was kept, oldest first, in history chunks; a chunk leaves the backlog only once the
        broker has acknowledged it (QoS 1), so a failure part way keeps the rest for the next try."""
        if self.backlog:
            log.info("%s: meter sends %d kept readings", self.household.id, len(self.backlog))
        while self.backlog:
            chunk = list(islice(self.backlog, HISTORY_CHUNK))
            await self.meter.publish(topics.meter_history(self.household.id), chunk, timeout=1.0)
            for _ in chunk:
                self.backlog.popleft()

    async def _step(self) -> None:
        self.household.advance_to(self.clock.now(), self.step_s)

    async def _publish_states(self) -> None:
        self.household.advance_to(self.clock.now(), self.step_s)
        for endpoint in self.devices.values():
            await endpoint.publish_state()

    async def _every(self, interval_s: float, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` on a fixed grid of clock time from the start; missed ticks are skipped, not
        replayed, and a failure is logged and the loop goes on."""
        step = timedelta(seconds=interval_s)
        due = self._started + step
        while True:
            await sleep_until(self.clock, due)
            # Next tick from when this one fired: time that passes during a slow publish must not
            # swallow the tick that comes due meanwhile.
            fired = self.clock.now()
            try:
                await action()
            except MqttUnavailable as err:
                log.warning("%s: %s", self.household.id, err)
            except Exception:
                log.exception("%s: simulator loop failed", self.household.id)
            while due <= fired:
                due += step


async def publish_history(
    target: MqttSession | str, household_id: str, readings: Sequence[dict[str, object]], chunk: int = 336
) -> None:
    """Publish a backlog to meter/history as JSON lists of at most `chunk` readings (QoS 1), oldest first."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    if isinstance(target, str):
        async with MqttSession(target, f"sim-{household_id}-history", part="history") as session:
            await publish_history(session, household_id, readings, chunk)
        return
    for i in range(0, len(readings), chunk):
        await target.publish(topics.meter_history(household_id), list(readings[i : i + chunk]))


@asynccontextmanager
async def run_population(
    sources: Sequence[SimHouseholdConfig | SimHousehold],
    clock: Clock,
    mqtt_url: str,
    wiring: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    **options: float,
) -> AsyncIterator[list[HouseholdSimulator]]:
    """Start a HouseholdSimulator per source, concurrently (options as for HouseholdSimulator);
    ``wiring``: household id -> its devices' wiring (HouseholdSimulator)."""
    wiring = wiring or {}
    simulators = [
        HouseholdSimulator(s, clock, mqtt_url, wiring=wiring.get(_household_id(s)), **options)
        for s in sources
    ]
    results = await asyncio.gather(*(sim.__aenter__() for sim in simulators), return_exceptions=True)
    started = [sim for sim, result in zip(simulators, results, strict=True) if result is sim]
    try:
        for result in results:
            if isinstance(result, BaseException):
                raise result
        yield simulators
    finally:
        await asyncio.gather(*(sim.__aexit__(None, None, None) for sim in started), return_exceptions=True)


def _household_id(source: SimHouseholdConfig | SimHousehold) -> str:
    return source.id if isinstance(source, SimHousehold) else source.spec.id
