"""A simulated S2 resource manager (EN 50491-12-2) for a battery or a heat pump: a WebSocket client of
the CEM at ``options["url"] + "/" + <household id>`` with ``options["token"]`` as its bearer token, known
by ``options["resource_id"]``, speaking s2-python's message models (FRBC).

Battery: three operation modes, CHARGE (0..p_max W), DISCHARGE (-p_max..0 W) and AUTO (the battery's own
behaviour, -p_max..p_max W, listed last). Its ActuatorStatus says AUTO. CHARGE or DISCHARGE sets the
battery to the mode's power at the instruction's factor; AUTO gives it back to its own behaviour.

Heat pump: OFF (0 W) and ON (its own thermostat, the compressor capped between its minimum and its full
electrical power by the factor; factor 1: no cap, its own behaviour, which its ActuatorStatus says at
start). Its storage is the house's heat, the fill level the indoor temperature (°C). Anti-short-cycling,
as S2 timers: ON -> OFF is blocked by MIN_ON (started by OFF -> ON), OFF -> ON by MIN_OFF (started by
ON -> OFF); a transition starts its timer and the RM says so in FRBC.TimerStatus. An instruction that a
running timer forbids is answered REJECTED and changes nothing (``rejected`` keeps it, for tests).

Every message is answered with a ReceptionStatus, every instruction with an InstructionStatusUpdate, and
every change of mode with an FRBC.ActuatorStatus. When the connection to the CEM drops the RM goes back
to its own behaviour at once (S2 leaves this to the RM; this is the cautious choice) and reconnects with
backoff.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from s2python.common import (
    Commodity,
    CommodityQuantity,
    ControlType,
    Duration,
    EnergyManagementRole,
    Handshake,
    HandshakeResponse,
    InstructionStatus,
    InstructionStatusUpdate,
    NumberRange,
    PowerMeasurement,
    PowerRange,
    PowerValue,
    ReceptionStatus,
    ReceptionStatusValues,
    ResourceManagerDetails,
    Role,
    RoleType,
    Timer,
    Transition,
)
from s2python.frbc import (
    FRBCActuatorDescription,
    FRBCActuatorStatus,
    FRBCInstruction,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCStorageDescription,
    FRBCStorageStatus,
    FRBCSystemDescription,
    FRBCTimerStatus,
)
from s2python.message import S2Message
from s2python.s2_parser import S2Parser
from s2python.s2_validation_error import S2ValidationError
from s2python.version import S2_VERSION
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from homeflex.core.clock import Clock
from homeflex.core.tasks import stop_tasks
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.heat_pump import HeatPump
from homeflex.sim.protocols import ENDPOINTS

log = logging.getLogger(__name__)

L1 = CommodityQuantity.ELECTRIC_POWER_L1
RETRY_MAX_S = 2.0  # wall seconds between attempts to reach the CEM, at most
MIN_ON = timedelta(minutes=10)  # a heat pump's anti-short-cycling times, device time
MIN_OFF = timedelta(minutes=10)
INDOOR_RANGE_C = (5.0, 35.0)  # the heat pump's "fill level": the indoor temperature


def _mode(label: str, low: float, high: float, fill: tuple[float, float]) -> FRBCOperationMode:
    element = FRBCOperationModeElement(
        fill_level_range=NumberRange(start_of_range=fill[0], end_of_range=fill[1]),
        fill_rate=NumberRange(start_of_range=low / 1000, end_of_range=high / 1000),
        power_ranges=[PowerRange(start_of_range=low, end_of_range=high, commodity_quantity=L1)],
    )
    return FRBCOperationMode(
        id=uuid.uuid4(), diagnostic_label=label, elements=[element], abnormal_condition_only=False
    )


@dataclass(frozen=True, kw_only=True)
class Profile:
    """What the RM describes: its modes (the first own-behaviour one last), transitions, timers."""

    role: RoleType
    modes: dict[str, FRBCOperationMode]
    own: tuple[str, float]  # its own behaviour: mode name, factor
    fill: tuple[float, float]  # the storage's fill level range
    fill_label: str
    transitions: list[Transition]
    timers: list[Timer]


def battery_profile(physics: Battery) -> Profile:
    p_max, capacity = physics.params.p_max_w, physics.params.capacity_wh / 1000
    fill = (0.0, capacity)
    modes = {
        "charge": _mode("charge", 0, p_max, fill),
        "discharge": _mode("discharge", -p_max, 0, fill),
        "auto": _mode("auto", -p_max, p_max, fill),
    }
    return Profile(role=RoleType.ENERGY_STORAGE, modes=modes, own=("auto", 0.5), fill=fill, fill_label="kWh",
                   transitions=[], timers=[])  # fmt: skip


def heat_pump_profile(physics: HeatPump) -> Profile:
    p_max = physics.params.p_el_max_w
    p_min = physics.params.q_min_fraction * p_max
    modes = {"off": _mode("off", 0, 0, INDOOR_RANGE_C), "on": _mode("on", p_min, p_max, INDOOR_RANGE_C)}
    min_on = Timer(id=uuid.uuid4(), diagnostic_label="min_on", duration=Duration(_ms(MIN_ON)))
    min_off = Timer(id=uuid.uuid4(), diagnostic_label="min_off", duration=Duration(_ms(MIN_OFF)))

    def step(source: str, target: str, blocking: Timer, start: Timer) -> Transition:
        return Transition(id=uuid.uuid4(), from_=modes[source].id, to=modes[target].id,
                          start_timers=[start.id], blocking_timers=[blocking.id], transition_costs=None,
                          transition_duration=None, abnormal_condition_only=False)  # fmt: skip

    return Profile(
        role=RoleType.ENERGY_CONSUMER,
        modes=modes,
        own=("on", 1.0),
        fill=INDOOR_RANGE_C,
        fill_label="°C",
        transitions=[step("on", "off", min_on, min_off), step("off", "on", min_off, min_on)],
        timers=[min_on, min_off],
    )


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


class S2ResourceManager:
    def __init__(
        self,
        household: SimHousehold,
        device_id: str,
        clock: Clock,
        mqtt_url: str,
        options: Mapping[str, Any],
        *,
        step_s: float = 10.0,
    ) -> None:
        physics = household.device(device_id)
        if isinstance(physics, Battery):
            self.profile = battery_profile(physics)
        elif isinstance(physics, HeatPump):
            self.profile = heat_pump_profile(physics)
        else:
            raise ValueError(
                f"a simulated S2 resource manager is a battery or a heat pump, not {device_id!r}"
            )
        self.household, self.device_id, self.clock, self.physics = household, device_id, clock, physics
        self.url = f"{options['url']}/{household.id}"
        self.token = str(options["token"])
        self.resource_id = uuid.UUID(str(options["resource_id"]))
        self.actuator = uuid.uuid4()
        self.modes = self.profile.modes
        self.active, self.factor = self.profile.own
        self.running: dict[uuid.UUID, datetime] = {}  # timer id -> when it finishes
        self.instructions: list[FRBCInstruction] = []
        self.rejected: list[FRBCInstruction] = []
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> S2ResourceManager:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"s2-rm-{self.device_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def publish_state(self) -> None:
        """StorageStatus and PowerMeasurement on the simulator's state cadence, when connected."""
        if self._ws is None:
            return
        state = self.household.device_state(self.device_id)
        if isinstance(self.physics, Battery):
            fill = float(state.get("soc", 0.0)) * self.profile.fill[1]  # type: ignore[arg-type]
        else:
            fill = min(max(float(state["indoor_c"]), self.profile.fill[0]), self.profile.fill[1])  # type: ignore[arg-type]
        power = float(state["power_w"])  # type: ignore[arg-type]
        with suppress(ConnectionClosed):
            await self.send(FRBCStorageStatus(message_id=uuid.uuid4(), present_fill_level=fill))
            values = [PowerValue(commodity_quantity=L1, value=power)]
            now = self.clock.now()
            await self.send(
                PowerMeasurement(message_id=uuid.uuid4(), measurement_timestamp=now, values=values)
            )

    async def send(self, message: S2Message) -> None:
        if self._ws is not None:
            await self._ws.send(message.to_json())

    async def send_raw(self, text: str) -> None:
        """Junk, for tests: what a broken RM might send."""
        if self._ws is not None:
            await self._ws.send(text)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                headers = {"Authorization": f"Bearer {self.token}"}
                async with connect(self.url, open_timeout=5, additional_headers=headers) as ws:
                    self._ws, delay = ws, 0.1
                    await self.send(Handshake(message_id=uuid.uuid4(), role=EnergyManagementRole.RM,
                                              supported_protocol_versions=[S2_VERSION]))  # fmt: skip
                    async for raw in ws:
                        await self._receive(str(raw))
            except (OSError, ConnectionClosed, TimeoutError, InvalidStatus) as err:
                log.debug("%s/%s: S2 CEM unreachable: %s", self.household.id, self.device_id, err)
            finally:
                if self._ws is not None:
                    self._ws = None
                    self._own_behaviour()  # the CEM is gone: the device's own behaviour, at once
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _receive(self, raw: str) -> None:
        try:
            message = S2Parser.parse_as_any_message(raw)
        except (S2ValidationError, ValueError) as err:
            log.warning(
                "%s/%s: unreadable S2 message from the CEM: %s", self.household.id, self.device_id, err
            )
            return
        if isinstance(message, ReceptionStatus):
            return
        subject: uuid.UUID = message.message_id  # every message but ReceptionStatus has one
        ok = ReceptionStatusValues.OK
        await self.send(ReceptionStatus(subject_message_id=subject, status=ok, diagnostic_label=None))
        if isinstance(message, HandshakeResponse):
            await self.send(self._details())
        elif getattr(message, "message_type", None) == "SelectControlType":
            await self._describe()
        elif isinstance(message, FRBCInstruction):
            accepted = self._apply(message)
            status = InstructionStatus.ACCEPTED if accepted else InstructionStatus.REJECTED
            now = self.clock.now()
            await self.send(InstructionStatusUpdate(message_id=uuid.uuid4(), instruction_id=message.id,
                                                    status_type=status, timestamp=now))  # fmt: skip
            if accepted:
                await self._status()

    def _details(self) -> ResourceManagerDetails:
        return ResourceManagerDetails(
            message_id=uuid.uuid4(),
            resource_id=self.resource_id,
            name=f"{self.household.id} {self.device_id}",
            roles=[Role(role=self.profile.role, commodity=Commodity.ELECTRICITY)],
            manufacturer="homeflex simulator",
            model=None,
            serial_number=None,
            firmware_version=None,
            currency=None,
            instruction_processing_delay=Duration(0),
            available_control_types=[ControlType.FILL_RATE_BASED_CONTROL],
            provides_forecast=False,
            provides_power_measurement_types=[L1],
        )

    async def _describe(self) -> None:
        actuator = FRBCActuatorDescription(
            id=self.actuator,
            diagnostic_label=None,
            supported_commodities=[Commodity.ELECTRICITY],
            operation_modes=list(self.modes.values()),
            transitions=self.profile.transitions,
            timers=self.profile.timers,
        )
        low, high = self.profile.fill
        storage = FRBCStorageDescription(
            diagnostic_label=None,
            fill_level_label=self.profile.fill_label,
            provides_leakage_behaviour=False,
            provides_fill_level_target_profile=False,
            provides_usage_forecast=False,
            fill_level_range=NumberRange(start_of_range=low, end_of_range=high),
        )
        await self.send(FRBCSystemDescription(message_id=uuid.uuid4(), valid_from=self.clock.now(),
                                              actuators=[actuator], storage=storage))  # fmt: skip
        await self._status()
        for timer_id, finished in self.running.items():
            await self.send(FRBCTimerStatus(message_id=uuid.uuid4(), timer_id=timer_id,
                                            actuator_id=self.actuator, finished_at=finished))  # fmt: skip
        await self.publish_state()

    async def _status(self) -> None:
        await self.send(FRBCActuatorStatus(message_id=uuid.uuid4(), actuator_id=self.actuator,
                                           active_operation_mode_id=self.modes[self.active].id,
                                           operation_mode_factor=self.factor, previous_operation_mode_id=None,
                                           transition_timestamp=None))  # fmt: skip

    def _apply(self, instruction: FRBCInstruction) -> bool:
        """Carry out an instruction, False when the RM rejects it (an unknown mode or actuator, or a
        transition that does not exist or that a running timer blocks)."""
        self.instructions.append(instruction)
        now = self.clock.now()
        name = next((n for n, m in self.modes.items() if m.id == instruction.operation_mode), None)
        if name is None or instruction.actuator_id != self.actuator:
            self.rejected.append(instruction)
            return False
        if name != self.active and self.profile.transitions:
            source, target = self.modes[self.active].id, self.modes[name].id
            step = next((t for t in self.profile.transitions if (t.from_, t.to) == (source, target)), None)
            if step is None or any(self.running.get(t, now) > now for t in step.blocking_timers):
                self.rejected.append(instruction)
                return False
            durations = {t.id: timedelta(milliseconds=t.duration.root) for t in self.profile.timers}
            for timer in step.start_timers:
                self.running[timer] = now + durations[timer]
        self.active, self.factor = name, instruction.operation_mode_factor
        self._drive(now)
        return True

    def _drive(self, now: datetime) -> None:
        """The physics in the active mode at its factor."""
        if (self.active, self.factor) == self.profile.own or self.active == "auto":
            self.household.reset(self.device_id, now)
            return
        power = self.modes[self.active].elements[0].power_ranges[0]
        watts = power.start_of_range + self.factor * (power.end_of_range - power.start_of_range)
        key = "power_w" if isinstance(self.physics, Battery) else "max_power_w"
        self.household.apply(self.device_id, {key: round(watts)}, now)

    def _own_behaviour(self) -> None:
        self.active, self.factor = self.profile.own
        self._drive(self.clock.now())


ENDPOINTS.register("s2")(S2ResourceManager)
