"""The household control loop: the stage's control mode, on one asyncio task.

Stage 1 (manual) only observes: it keeps the devices' states and the learned profile, and says whether
the household is ready for stage 2. Stages 2 and 3 run tick -> read -> decide (pure) -> send: the plan is
made afresh every half-hour, when an event arrives or leaves, and when the devices stray from it (EV
plugged or unplugged, the house warmer or colder than planned); each tick sends at most one command
per device, and only when its settings change or its last command is about to expire. Commands expire
(``command_ttl_s``), so if the loop, the VEN or the broker stops, devices return to their own behaviour.
After an event the household holds its event settings for a random stagger before recovering, and the
plan ramps import back up, so the community does not rebound in one spike.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from homeflex.control.core import ControlCore
from homeflex.control.devices import Settings
from homeflex.control.flexplan import Assessment
from homeflex.control.forecast import Forecast, ForecastSource, ProfileForecast
from homeflex.control.schedule import Schedule
from homeflex.control.setup import HouseholdSetup, Preferences
from homeflex.core import topics
from homeflex.core.clock import Clock, perf_seconds, sleep_until
from homeflex.core.domain import DeviceKind, FlexEvent, HouseholdSpec, Stage
from homeflex.core.errors import Permanent
from homeflex.core.tasks import stop_tasks
from homeflex.drivers import DRIVERS, DeviceError, DeviceLink, DeviceUnreachable, Driver, State
from homeflex.drivers.homeflex_mqtt import HomeflexAddress
from homeflex.household import DeviceConfig, HouseholdConfig, MeterConfig
from homeflex.mqtt import MqttSession
from homeflex.mqtt.session import Handler
from homeflex.profiles import HouseholdProfile, Readiness, profile_from_json

log = logging.getLogger(__name__)
OUTCOMES_KEPT = 1000  # the latest command outcomes, for the demo and tests; a long run keeps no more
MAX_BACKOFF_S = 3600.0


@dataclass(frozen=True, kw_only=True)
class CommandOutcome:
    event_id: str  # "" outside events
    device_id: str
    phase: str  # "plan" | "curtail" (an event's first dispatch) | "refresh" | "restore"
    ok: bool
    attempts: int
    latency_s: float  # wall seconds from the tick's due time to the device's ack
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class ControlSettings:
    command_ttl_s: float = 900.0  # simulated seconds a command stays in force without a refresh
    refresh_s: float = 300.0  # the loop ticks at least this often
    recovery_stagger_s: float = 300.0  # upper bound of the random hold after an event
    ack_timeout_s: float = 2.0  # wall seconds
    ack_attempts: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.refresh_s < self.command_ttl_s:
            raise ValueError("refresh_s must be positive and shorter than command_ttl_s")


@dataclass
class _Sent:
    settings: Settings
    expires: datetime | None


class HouseholdController:
    """The household's control loop and its device drivers, from the household's configuration (a bare
    ``HouseholdSpec`` means every device speaks homeflex's MQTT dialect, as the simulators do)."""

    def __init__(
        self,
        household: HouseholdConfig | HouseholdSpec,
        clock: Clock,
        mqtt_url: str,
        settings: ControlSettings = ControlSettings(),
        *,
        setup: HouseholdSetup | None = None,
        forecast: ForecastSource | None = None,
        seed: int | None = None,
        services: Mapping[str, Any] | None = None,
    ) -> None:
        config = household if isinstance(household, HouseholdConfig) else _simulated(household, settings)
        self.config = config
        self.household = config.spec
        self.clock = clock
        self.settings = settings
        self.setup = setup or (config.setup if isinstance(household, HouseholdConfig) else HouseholdSetup())
        self._forecast = forecast
        hh = self.household.id
        self.session = MqttSession(mqtt_url, f"ctl-{hh}", will=(topics.status(hh), b"offline"), part="ctl")
        self.session.announce(topics.status(hh), b"online")
        self.services = dict(services or {})
        self.drivers: dict[str, Driver] = {d.id: self._driver(d) for d in config.devices}
        self.states: dict[str, dict[str, Any]] = {}
        self.outcomes: list[CommandOutcome] = []  # the latest OUTCOMES_KEPT at least
        self.on_outcome: Callable[[CommandOutcome], None] | None = None
        self.profile: HouseholdProfile | None = None
        self.readiness: Readiness | None = None
        self.core = ControlCore(
            household=self.household,
            setup=self.setup,
            forecast=_LiveForecast(self),
            recovery_stagger_s=settings.recovery_stagger_s,
            seed=seed,
        )
        self._sent: dict[str, _Sent] = {}
        # Devices whose last command went unacknowledged after every retry: still commanded each tick
        # (so a recovery is noticed), but their flexibility is not offered to events meanwhile.
        self.unavailable: set[str] = set()
        self._retry: dict[str, tuple[datetime, float]] = {}  # unreachable device -> (next try, wait s)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # The household's meter: the simulated meter publishes its own readings; a product that meters
        # (a Shelly Pro 3EM) has a driver that reports state "meter" and forwards its readings.
        self.meter: Driver | None = None
        if config.meter.protocol == "homeflex":
            self.session.subscribe(topics.meter_reading(hh), self._on_meter)
        else:
            self.meter = self._driver(config.meter)
        self.session.subscribe(topics.profile(hh), self._on_profile)

    def _driver(self, device: DeviceConfig | MeterConfig) -> Driver:
        kind: DeviceKind | None
        if isinstance(device, MeterConfig):
            device_id, kind, limit = topics.METER, None, self.household.max_import_w
        else:
            device_id, kind, limit = device.id, device.kind, device.max_power_w
        link = DeviceLink(
            household_id=self.household.id,
            device_id=device_id,
            kind=kind,
            max_power_w=limit,
            clock=self.clock,
            mqtt=self.session,
            services=self.services,
            report=self.on_device_state,
            availability=self.on_availability,
        )
        info = DRIVERS.get(device.protocol)
        return info.build(link, device.address)

    async def __aenter__(self) -> HouseholdController:
        await self.session.__aenter__()
        for driver in self._all_drivers():
            await driver.start()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"control-{self.household.id}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
        for driver in self._all_drivers():
            await driver.stop()
        await self.session.__aexit__(exc_type, exc, tb)

    async def _change_meter(self, meter: MeterConfig) -> None:
        """The household's meter changed: the old meter's driver stops, the new one starts."""
        if self.meter is not None:
            await self.meter.stop()
            self.meter = None
        self.states.pop(topics.METER, None)
        if meter.protocol == "homeflex":
            self.session.subscribe(topics.meter_reading(self.household.id), self._on_meter)
        else:
            self.meter = self._driver(meter)
            await self.meter.start()

    def _all_drivers(self) -> list[Driver]:
        return [*self.drivers.values(), *([self.meter] if self.meter is not None else [])]

    # --- inputs -------------------------------------------------------------------------------

    def on_device_state(self, device_id: str, state: State) -> None:
        """A driver read its device (the whole state, in the control adapters' vocabulary)."""
        before = self.states.get(device_id, {}).get("plugged")
        self.states[device_id] = state
        if state.get("plugged") != before and before is not None:
            self._wake.set()  # a car came or went: re-plan now, not at the next tick

    def on_availability(self, device_id: str, available: bool, why: str) -> None:
        """A driver saw its device go (or come back): said once each way; flexibility is not offered
        from a device that is gone."""
        if available:
            self._retry.pop(device_id, None)  # it says it is back: try it at the next tick
        if available and device_id in self.unavailable:
            self.unavailable.discard(device_id)
            log.info("%s/%s: available again (%s)", self.household.id, device_id, why)
            self._wake.set()
        elif not available and device_id not in self.unavailable:
            self.unavailable.add(device_id)
            log.warning("%s/%s: unavailable (%s)", self.household.id, device_id, why)

    def _on_meter(self, topic: str, payload: bytes) -> None:
        if self.meter is not None:  # subscribed for an earlier configuration's meter
            return
        try:
            state = json.loads(payload)
        except ValueError:
            log.warning("%s: unreadable meter reading on %s", self.household.id, topic)
            return
        if isinstance(state, dict):
            self.states[topics.METER] = state

    def _on_profile(self, topic: str, payload: bytes) -> None:
        try:
            body = json.loads(payload)
            self.profile = profile_from_json(body["profile"])
            self.readiness = Readiness(ready=bool(body["ready"]), reasons=list(body["reasons"]))
        except (ValueError, KeyError, TypeError) as err:
            log.warning("%s: unreadable profile: %s", self.household.id, err)
            return
        verdict = "ready" if self.readiness.ready else "not ready"
        log.info(
            "%s: profile v%d, %s for stage 2: %s",
            self.household.id,
            self.profile.version,
            verdict,
            "; ".join(self.readiness.reasons),
        )

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Another MQTT subscription on the loop's own session (the VEN reads the household's skips)."""
        self.session.subscribe(topic_filter, handler)

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish on the loop's own session (the VEN's Home Assistant bridge: the household's skips)."""
        await self.session.publish(topic, payload, retain=retain)

    def metered_power_w(self) -> float:
        """The latest net household power (W, + import) from the meter; 0 before the first reading."""
        value = self.states.get(topics.METER, {}).get("power_w", 0.0)
        return float(value) if isinstance(value, int | float) else 0.0

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self.states.items()}

    def forecast(self) -> ForecastSource:
        """The wired-in forecast, else the learned profile with the outdoor temperature held at its
        last reading (persistence)."""
        if self._forecast is not None:
            return self._forecast
        outdoor = next((s["outdoor_c"] for s in self.states.values() if "outdoor_c" in s), None)
        level = float(outdoor) if isinstance(outdoor, int | float) else 10.0
        return ProfileForecast(profile=self.profile, outdoor_c=lambda _: level)

    @property
    def preferences(self) -> Preferences:
        return self.setup.preferences

    @property
    def schedule(self) -> Schedule | None:
        return self.core.schedule

    def update_setup(self, setup: HouseholdSetup) -> None:
        """The household changed its tariff or preferences (portal): re-plan now."""
        self.setup = setup
        self.core.change_setup(setup)
        self._wake.set()

    async def apply_config(self, config: HouseholdConfig) -> None:
        """A new version of the household's configuration: drivers for devices added or changed,
        removed ones stopped, and a re-plan now with the new setup, stage and devices."""
        if config.household_id != self.household.id:
            raise ValueError(f"configuration of {config.household_id} sent to {self.household.id}")
        old = {d.id: d for d in self.config.devices}
        new = {d.id: d for d in config.devices}
        for device_id, device in old.items():
            if new.get(device_id) != device:
                await self.drivers.pop(device_id).stop()
                self.states.pop(device_id, None)
                self._sent.pop(device_id, None)
                self.unavailable.discard(device_id)
        for device_id, device in new.items():
            if device_id not in self.drivers:
                self.drivers[device_id] = driver = self._driver(device)
                await driver.start()
        if config.meter != self.config.meter:
            await self._change_meter(config.meter)
        self.config = config
        self.household = config.spec
        self.setup = config.setup
        self.core.change_setup(self.setup, self.household)
        log.info("%s: configuration v%d applied", self.household.id, config.version)
        self._wake.set()

    # --- events (stage 3) ---------------------------------------------------------------------

    def assess(self, event: FlexEvent) -> Assessment | None:
        """What the household could deliver for ``event`` now (pure planning; nothing is sent), counting
        only the devices that answer."""
        if not self.unavailable:
            return self.core.assess(event, self.clock.now(), self.snapshot())
        answering = tuple(d for d in self.household.devices if d.id not in self.unavailable)
        core = ControlCore(
            household=replace(self.household, devices=answering),
            setup=self.setup,
            forecast=_LiveForecast(self),
            events=dict(self.core.events),
        )
        states = {k: v for k, v in self.snapshot().items() if k not in self.unavailable}
        return core.assess(event, self.clock.now(), states)

    def schedule_event(self, event: FlexEvent) -> None:
        """Accept ``event`` (replacing an earlier version of it): re-plan with it now."""
        self.core.accept(event)
        self._wake.set()

    def cancel(self, event_id: str) -> None:
        """Drop an event; the loop re-plans without it and recovers at once."""
        if self.core.cancel(event_id):
            self._wake.set()

    # --- the loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                if self.household.stage >= Stage.AUTOMATIC:
                    await self._tick(self.clock.now())
            except Exception:
                log.exception("%s: control tick failed", self.household.id)
            await self._wait(self.core.next_wake(self.clock.now(), self.settings.refresh_s))

    async def _wait(self, when: datetime) -> None:
        sleeper = asyncio.ensure_future(sleep_until(self.clock, when))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, woken):
                task.cancel()
            self._wake.clear()

    async def _tick(self, now: datetime) -> None:
        due = perf_seconds()
        held = {d: s.settings for d, s in self._sent.items()}
        decision = self.core.decide(now, self.snapshot(), held)
        due -= self.clock.wall_seconds(decision.late_s)  # latency counts a late wake-up
        phase = "refresh" if decision.phase == "hold" else decision.phase
        await self._send(decision.settings, now, decision.event_id, phase, due)

    async def _send(
        self, wanted: dict[str, Settings], now: datetime, event_id: str, phase: str, due: float
    ) -> None:
        horizon = now + timedelta(seconds=self.settings.refresh_s * 1.5)
        jobs = []
        for device_id, settings in wanted.items():
            sent = self._sent.get(device_id)
            own = all(v is None for v in settings.values())  # back to the device's own behaviour
            expiring = sent is not None and sent.expires is not None and sent.expires <= horizon
            # An event's start and its recovery re-confirm every device, changed or not.
            forced = phase in ("curtail", "restore")
            if sent is not None and sent.settings == settings and not expiring and not forced:
                continue
            retry = self._retry.get(device_id)
            if retry is not None and now < retry[0] and not forced:
                continue  # unreachable: tried after a backoff, when it says it is back, or at an event
            expires = None if own else now + timedelta(seconds=self.settings.command_ttl_s)
            jobs.append(self._command(event_id, device_id, settings, expires, phase, due))
        await asyncio.gather(*jobs)

    async def _command(
        self,
        event_id: str,
        device_id: str,
        settings: Settings,
        expires: datetime | None,
        phase: str,
        due: float,
    ) -> None:
        try:
            driver = self.drivers.get(device_id)
            if driver is None:
                raise DeviceUnreachable(f"{self.household.id}/{device_id}: no driver")
            attempts = await driver.send(settings, expires)
            self._sent[device_id] = _Sent(settings=settings, expires=expires)
            self._retry.pop(device_id, None)
            if device_id in self.unavailable:
                self.unavailable.discard(device_id)
                log.info("%s/%s: answers again, available", self.household.id, device_id)
            outcome = CommandOutcome(
                event_id=event_id,
                device_id=device_id,
                phase=phase,
                ok=True,
                attempts=attempts,
                latency_s=perf_seconds() - due,
            )
        except DeviceError as err:
            self._sent.pop(device_id, None)  # unknown: send again
            if isinstance(err, Permanent):  # the device is there and said no: the next plan sends anew
                log.error("%s", err)
            else:
                if device_id not in self.unavailable:  # said once, not on every tick
                    # A device never heard from is still coming up (a charger connects after the
                    # agent starts); one that was there and went is worth an error.
                    seen = device_id in self.states
                    log.log(
                        logging.ERROR if seen else logging.INFO,
                        "%s; marked unavailable%s",
                        err,
                        "" if seen else " until it is heard from",
                    )
                self.unavailable.add(device_id)
                self._back_off(device_id)
            outcome = CommandOutcome(
                event_id=event_id,
                device_id=device_id,
                phase=phase,
                ok=False,
                attempts=self.settings.ack_attempts,
                latency_s=perf_seconds() - due,
                error=str(err),
            )
        self.outcomes.append(outcome)
        if len(self.outcomes) > 2 * OUTCOMES_KEPT:  # trimmed in bulk: a long run keeps no more
            del self.outcomes[:-OUTCOMES_KEPT]
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def _back_off(self, device_id: str) -> None:
        """Next try after twice the last wait (a tick's length first, at most an hour)."""
        last = self._retry.get(device_id)
        wait = min(2 * last[1], MAX_BACKOFF_S) if last else self.settings.refresh_s
        self._retry[device_id] = (self.clock.now() + timedelta(seconds=wait), wait)


def _simulated(household: HouseholdSpec, settings: ControlSettings) -> HouseholdConfig:
    """A household known only by its spec: every device speaks homeflex's dialect (the simulators)."""
    address = HomeflexAddress(ack_timeout_s=settings.ack_timeout_s, attempts=settings.ack_attempts)
    devices = tuple(
        DeviceConfig(id=d.id, kind=d.kind, max_power_w=d.max_power_w, address=address)
        for d in household.devices
    )
    return HouseholdConfig.from_spec(household, devices=devices)


@dataclass(frozen=True)
class _LiveForecast:
    """Asks the controller at each plan, so a profile or reading that arrives later is used."""

    controller: HouseholdController

    def forecast(self, start: datetime, n_steps: int, step_h: float) -> Forecast:
        return self.controller.forecast().forecast(start, n_steps, step_h)
