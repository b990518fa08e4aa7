"""S2 (EN 50491-12-2) heat pumps and batteries, with homeflex's household agent as the CEM
(protocols.md §8; the endpoint is homeflex.drivers.s2_cem). The device's resource manager (RM) connects
to the agent's endpoint at ``/s2/<household id>`` with the device's token and is known by its
``resource_id``; the CEM selects FRBC (fill-rate based control), the only S2 control type homeflex
drives (an RM offering only PEBC, PPBC, OMBC or DDBC is refused at connection, said in the log).
Settings become an ``FRBC.Instruction`` executing now:

    battery   {"power_w": W}      the operation mode and factor whose power is nearest W (+ charge)
    heat_pump {"max_power_w": W}  the mode and factor nearest W that stays under it (else the lowest);
              "setpoint_c" may come along and is not sent: FRBC has no thermostat setpoint, the
              device's own thermostat keeps its own

``None`` is "back to the device's own behaviour": the mode and factor the RM reported
(``FRBC.ActuatorStatus``) before homeflex first instructed it; when it reported none, the mode nearest
0 W for a battery (idle) and the mode nearest full power for a heat pump (unconstrained).

Timers (homeflex.drivers.s2_modes): a mode that a running timer (``FRBC.TimerStatus``, or one the
driver's own last transition started) or a missing transition forbids is never instructed; the best
reachable mode is, and the wanted one is instructed when the timer ends (if the command still holds).

Fail-safe. S2 instructions have no expiry, so the expiry is EMULATED: at the command's expiry the driver
instructs the "own behaviour" above. If the agent stops, the last instruction stays. When the RM's
connection drops, what the device does is up to the device (S2 leaves it to the RM; homeflex's
simulated RMs go back to their own behaviour); when it comes back while a command holds, the driver
instructs that command again once the RM has described itself.

Readings: ``PowerMeasurement`` -> ``power_w`` (the phases summed, + consumption); ``FRBC.StorageStatus``
-> ``fill_level`` and, for a battery, ``soc`` (the fill level as 0..1 of the storage's range).
``InstructionStatusUpdate`` REJECTED (or ABORTED, REVOKED) -> DeviceRefused; no RM connected or no status
in time -> DeviceUnreachable.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from s2python.common import PowerMeasurement
from s2python.frbc import (
    FRBCActuatorDescription,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCStorageStatus,
    FRBCSystemDescription,
    FRBCTimerStatus,
)
from s2python.message import S2Message

from homeflex.core.clock import sleep_until
from homeflex.core.domain import DeviceKind
from homeflex.drivers import (
    DeviceLink,
    DeviceRefused,
    DeviceUnreachable,
    DriverInfo,
    Expiry,
    Settings,
    register,
)
from homeflex.drivers.mqtt_common import EmulatedExpiry
from homeflex.drivers.s2_cem import Cem, cem_endpoint
from homeflex.drivers.s2_modes import (
    ActuatorState,
    Allowed,
    Choice,
    blocked_until,
    choose,
    fill_fraction,
    started_timers,
    total_power,
)
from homeflex.drivers.watts import watts_setting

log = logging.getLogger(__name__)

KEYS = {DeviceKind.BATTERY: "power_w", DeviceKind.HEAT_PUMP: "max_power_w"}
PASSED = {DeviceKind.HEAT_PUMP: "setpoint_c"}
FILL_LEVEL_STATES = ("indoor_c",)  # settings FRBC cannot say: checked, not sent
# A device has a few actuators, each with a few timers: statuses naming more are not kept (an RM naming a
# new one in every message would grow the driver without bound)
MAX_ACTUATORS, MAX_TIMERS = 64, 64


@dataclass(frozen=True, kw_only=True)
class S2Address:
    """``resource_id``: the UUID the RM gives in its ResourceManagerDetails; the token the RM connects
    with (given to the device with the endpoint's URL), or the environment variable that holds it."""

    resource_id: str
    token: str | None = None
    token_env: str | None = None
    # What the RM's fill level measures, reported under that name too: "indoor_c" for a heat pump whose
    # storage is the house's temperature (S2 leaves the fill level's meaning to the RM's label)
    fill_level_is: str | None = None

    def __post_init__(self) -> None:
        try:
            canonical = str(uuid.UUID(str(self.resource_id)))
        except ValueError:
            raise ValueError(f"resource_id must be a UUID, got {self.resource_id!r}") from None
        object.__setattr__(self, "resource_id", canonical)
        if (self.token is None) == (self.token_env is None):
            raise ValueError("give one of token and token_env")
        if self.fill_level_is not in (None, *FILL_LEVEL_STATES):
            raise ValueError(
                f"fill_level_is must be one of {', '.join(FILL_LEVEL_STATES)}, got {self.fill_level_is!r}"
            )
        if self.token is not None and len(self.token) < 16:
            raise ValueError("the token must be at least 16 characters (it is all that binds the RM)")

    def secret(self) -> str:
        if self.token is not None:
            return self.token
        value = os.environ.get(str(self.token_env))
        if not value:
            raise ValueError(
                f"S2 resource {self.resource_id}: environment variable {self.token_env} is not set"
            )
        return value


class S2Driver:
    def __init__(self, link: DeviceLink, address: S2Address) -> None:
        if link.kind not in KEYS:
            raise ValueError(f"{link.name}: S2 drives a battery or a heat pump, not {link.kind}")
        cem = link.services.get("s2")
        if not isinstance(cem, Cem):
            raise DeviceUnreachable(
                f"{link.name}: the S2 CEM endpoint is not running (start it with driver_services)"
            )
        self.link, self.address, self.cem = link, address, cem
        self.token = address.secret()
        self.key = KEYS[link.kind]
        self.description: FRBCSystemDescription | None = None
        self.fill: float | None = None
        self.state: dict[str, Any] = {}  # what it reported, each message overlaid
        self.own: Choice | None = None  # the RM's own behaviour, before homeflex instructed it
        self.instructed = False
        self.actuators: dict[str, ActuatorState] = {}  # actuator id -> active mode, timers
        self.holding: tuple[float, datetime | None] | None = None  # the command in force (W, expiry)
        self._resume = False  # the RM came back while a command holds: instruct it again
        self._expiry = EmulatedExpiry(link, lambda: self.send({self.key: None}, None))
        self._later: asyncio.Task[None] | None = None  # the wanted mode, once its timer ends
        self._tasks: set[asyncio.Task[None]] = set()
        self._full = False  # statuses of one actuator or timer too many came (said once)

    @property
    def rid(self) -> str:
        return self.address.resource_id

    async def start(self) -> None:
        self.cem.register(self.link.household_id, self.rid, self.token, self)

    async def stop(self) -> None:
        self._expiry.cancel()
        self._cancel_later()
        for task in self._tasks:
            task.cancel()
        await self.cem.unregister(self.link.household_id, self.rid)

    # -- the endpoint's listener -------------------------------------------------------------------
    def connected(self, up: bool) -> None:
        """Up: available once it has described itself (its FRBC.SystemDescription), not before."""
        if up:
            self._resume = self.holding is not None
            self.description = None
        else:  # its active mode is what it does now on its own: learned again from its ActuatorStatus
            self.link.availability(self.link.device_id, False, "RM disconnected")
            self.actuators = {a: ActuatorState(timers=s.timers) for a, s in self.actuators.items()}

    def received(self, message: S2Message) -> None:
        if isinstance(message, FRBCSystemDescription):
            if self.description is None:
                self.link.availability(self.link.device_id, True, "RM connected")
            self.description = message
        elif isinstance(message, FRBCStorageStatus):
            self.fill = message.present_fill_level
            state: dict[str, float] = {"fill_level": self.fill}
            soc = fill_fraction(self.description, self.fill)
            if soc is not None and self.link.kind is DeviceKind.BATTERY:
                state["soc"] = soc
            if self.address.fill_level_is is not None:
                state[self.address.fill_level_is] = self.fill
            self._report(state)
        elif isinstance(message, PowerMeasurement):
            watts = total_power([(v.commodity_quantity.value, v.value) for v in message.values])
            self._report({"power_w": watts})
        elif isinstance(message, FRBCActuatorStatus | FRBCTimerStatus) and not self._room(message):
            if not self._full:  # said once: such an RM sends them by the thousand
                log.warning("%s: S2 statuses of more actuators or timers than a device has, ignored",
                            self.link.name)  # fmt: skip
            self._full = True
        elif isinstance(message, FRBCActuatorStatus):
            self._actuator_status(message)
        elif isinstance(message, FRBCTimerStatus):
            aid = str(message.actuator_id)
            old = self.actuators.get(aid, ActuatorState())
            timers = {**(old.timers or {}), str(message.timer_id): message.finished_at}
            self.actuators[aid] = ActuatorState(active=old.active, timers=timers)

    def _room(self, message: FRBCActuatorStatus | FRBCTimerStatus) -> bool:
        """The status is of an actuator (and timer) already known, or there is room for a new one."""
        known = self.actuators.get(str(message.actuator_id))
        if known is None:
            return len(self.actuators) < MAX_ACTUATORS
        timers = known.timers or {}
        return (
            not isinstance(message, FRBCTimerStatus)
            or str(message.timer_id) in timers
            or len(timers) < MAX_TIMERS
        )

    def _report(self, update: dict[str, Any]) -> None:
        """S2 says each part of the state in its own message: the agent is told the whole of it."""
        self.state.update(update)
        self.link.report(self.link.device_id, dict(self.state))

    def _actuator_status(self, message: FRBCActuatorStatus) -> None:
        aid, mode = str(message.actuator_id), str(message.active_operation_mode_id)
        old = self.actuators.get(aid, ActuatorState())
        self.actuators[aid] = ActuatorState(active=mode, timers=old.timers)
        if not self.instructed:
            self.own = Choice(actuator_id=aid, mode_id=mode, factor=message.operation_mode_factor,
                              power_w=math.nan)  # fmt: skip
        if self._resume and self.holding is not None:
            self._resume = False
            watts, expires_at = self.holding
            self._spawn(self._instruct(watts, expires_at), "resume")

    # -- commands ----------------------------------------------------------------------------------
    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        await self._instruct(self._setting(settings), expires_at)
        return 1

    async def _instruct(self, watts: float | None, expires_at: datetime | None) -> None:
        if self.description is None:
            if not self.cem.is_connected(self.link.household_id, self.rid):
                raise DeviceUnreachable(f"{self.link.name}: S2 resource {self.rid} not connected")
            raise DeviceUnreachable(f"{self.link.name}: no FRBC.SystemDescription from the RM yet")
        now = self.link.clock.now()
        description = self.description
        wanted = self._choice(description, watts, None)
        choice = self._choice(description, watts, lambda a, m: self._blocked(a, m, now) is None)
        instruction = FRBCInstruction(
            message_id=uuid.uuid4(),
            id=uuid.uuid4(),
            actuator_id=uuid.UUID(choice.actuator_id),
            operation_mode=uuid.UUID(choice.mode_id),
            operation_mode_factor=choice.factor,
            execution_time=now,
            abnormal_condition=False,
        )
        self._expiry.cancel()
        self._cancel_later()
        self.instructed = True  # first: the RM's ActuatorStatus after it is no longer its own behaviour
        before = self.actuators.get(choice.actuator_id, ActuatorState())
        await self.cem.instruct(self.link.household_id, self.rid, instruction)
        self._took(description, choice, before, now)
        self.holding = None if watts is None else (watts, expires_at)
        self._report({"setpoint_w": None if watts is None else round(choice.power_w, 3)})
        self._expiry.at(expires_at if watts is not None else None)
        if wanted.mode_id != choice.mode_id:
            self._wait_for(wanted, watts, expires_at)

    def _took(
        self, description: FRBCSystemDescription, choice: Choice, before: ActuatorState, at: datetime
    ) -> None:
        """The actuator is in the chosen mode now; the timers its transition (from its mode ``before``
        the instruction: its ActuatorStatus may have come in since) starts run."""
        actuator = _actuator(description, choice.actuator_id)
        now = self.actuators.get(choice.actuator_id, ActuatorState())
        started = started_timers(actuator, before, choice.mode_id, at) if actuator else {}
        timers = {
            **(now.timers or {}),
            **{k: v for k, v in started.items() if (before.timers or {}).get(k) != v},
        }
        self.actuators[choice.actuator_id] = ActuatorState(active=choice.mode_id, timers=timers)

    def _blocked(self, actuator_id: str, mode_id: str, now: datetime) -> datetime | None:
        actuator = _actuator(self.description, actuator_id)
        if actuator is None:
            return None
        return blocked_until(actuator, self.actuators.get(actuator_id, ActuatorState()), mode_id, now)

    def _wait_for(self, wanted: Choice, watts: float | None, expires_at: datetime | None) -> None:
        """A timer kept the device from the wanted mode: instruct it when the timer ends."""
        now = self.link.clock.now()
        when = self._blocked(wanted.actuator_id, wanted.mode_id, now) or now  # it may have ended meanwhile
        if when.year == datetime.max.year or (expires_at is not None and when >= expires_at):
            return
        log.info("%s: S2 timer holds the device out of the wanted mode until %s", self.link.name, when)

        async def later() -> None:
            await sleep_until(self.link.clock, when)
            try:
                await self._instruct(watts, expires_at)
            except (DeviceRefused, DeviceUnreachable) as err:  # the next command tries again
                log.warning("%s: could not instruct the wanted mode after the timer: %s", self.link.name, err)

        self._later = asyncio.get_running_loop().create_task(later(), name=f"s2-timer-{self.link.name}")

    def _cancel_later(self) -> None:
        if self._later is not None and self._later is not asyncio.current_task():
            self._later.cancel()
        self._later = None

    def _spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        async def run() -> None:
            try:
                await work
            except (DeviceRefused, DeviceUnreachable) as err:
                log.warning("%s: S2 %s failed: %s", self.link.name, what, err)

        task = asyncio.get_running_loop().create_task(run(), name=f"s2-{what}-{self.link.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _setting(self, settings: Settings) -> float | None:
        passed = PASSED.get(self.link.kind)  # type: ignore[arg-type]
        if passed is not None and passed in settings:
            value = settings[passed]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise DeviceRefused(f"{self.link.name}: {passed} must be a number or null, got {value!r}")
            settings = {k: v for k, v in settings.items() if k != passed}
            settings.setdefault(self.key, None)
        return watts_setting(self.link, self.key, settings, "S2")

    def _choice(
        self, description: FRBCSystemDescription, watts: float | None, allowed: Allowed | None
    ) -> Choice:
        own = self.own
        if watts is None and own is not None and (allowed is None or allowed(own.actuator_id, own.mode_id)):
            return own
        if watts is None:  # own behaviour not seen: idle for a battery, unconstrained for a heat pump
            watts = 0.0 if self.link.kind is DeviceKind.BATTERY else math.inf
        ceiling = self.link.kind is DeviceKind.HEAT_PUMP
        target = watts if math.isfinite(watts) else 1e12
        choice = choose(description, target, self.fill, ceiling=ceiling, allowed=allowed)
        if choice is None:
            raise DeviceRefused(f"{self.link.name}: the RM's system description has no normal operation "
                                "mode reachable now")  # fmt: skip
        return choice


def _actuator(description: FRBCSystemDescription | None, actuator_id: str) -> FRBCActuatorDescription | None:
    if description is None:
        return None
    return next((a for a in description.actuators if str(a.id) == actuator_id), None)


INFO = register(
    DriverInfo(
        protocol="s2",
        title="S2 (EN 50491-12-2), FRBC",
        kinds=frozenset(KEYS),
        products=("any S2 resource manager offering FRBC (heat pumps, home batteries)",),
        expiry=Expiry.EMULATED,
        fail_safe=(
            "emulated: S2 instructions have no expiry; at the command's expiry the driver instructs the mode "
            "the RM reported before homeflex instructed it (when its timers allow; else when they end). If "
            "the agent stops, the last instruction stays; on a lost connection the device decides (S2 "
            "leaves it to the RM), and a command still holding is instructed again when it reconnects"
        ),
        config=S2Address,
        build=S2Driver,
        service=cem_endpoint,
    )
)
