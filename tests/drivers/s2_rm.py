"""S2 resource managers written in the tests from s2-python's own message models (not homeflex's code),
connecting over a real WebSocket to the CEM endpoint at ``<url>/<household>`` with a bearer token: an FRBC
battery (charge 0..3000 W, idle, discharge -3000..0 W) and an FRBC heat pump (OFF 0 W, ON 900..3000 W,
minimum on and off times as S2 timers on its transitions)."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

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
    SelectControlType,
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
from websockets.asyncio.client import ClientConnection, connect

from homeflex.core.clock import ManualClock
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DeviceLink
from homeflex.drivers.s2 import S2Address, S2Driver
from homeflex.drivers.s2_cem import Cem
from tests.drivers.rigs import Seen

NOW = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
L1 = CommodityQuantity.ELECTRIC_POWER_L1
ACTUATOR = uuid.uuid4()
CHARGE, IDLE, DISCHARGE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
OFF, ON = uuid.uuid4(), uuid.uuid4()
MIN_ON, MIN_OFF = uuid.uuid4(), uuid.uuid4()
TEN_MINUTES = timedelta(minutes=10)


def token(name: str) -> str:
    return f"{name}-token-0123456789abcdef"


def mode(mode_id: uuid.UUID, start: float, end: float, label: str) -> FRBCOperationMode:
    element = FRBCOperationModeElement(
        fill_level_range=NumberRange(start_of_range=0, end_of_range=40),
        fill_rate=NumberRange(start_of_range=start / 1000, end_of_range=end / 1000),
        power_ranges=[PowerRange(start_of_range=start, end_of_range=end, commodity_quantity=L1)],
    )
    return FRBCOperationMode(
        id=mode_id, diagnostic_label=label, elements=[element], abnormal_condition_only=False
    )


def storage(low: float, high: float, label: str) -> FRBCStorageDescription:
    return FRBCStorageDescription(
        fill_level_label=label,
        provides_leakage_behaviour=False,
        provides_fill_level_target_profile=False,
        provides_usage_forecast=False,
        fill_level_range=NumberRange(start_of_range=low, end_of_range=high),
    )


def battery() -> FRBCSystemDescription:
    actuator = FRBCActuatorDescription(
        id=ACTUATOR,
        supported_commodities=[Commodity.ELECTRICITY],
        operation_modes=[
            mode(CHARGE, 0, 3000, "charge"),
            mode(IDLE, 0, 0, "idle"),
            mode(DISCHARGE, -3000, 0, "discharge"),
        ],
        transitions=[],
        timers=[],
    )
    return FRBCSystemDescription(
        message_id=uuid.uuid4(), valid_from=NOW, actuators=[actuator], storage=storage(0, 10, "kWh")
    )


def heat_pump() -> FRBCSystemDescription:
    """OFF <-> ON; ON -> OFF waits for MIN_ON and starts MIN_OFF, OFF -> ON the other way round."""

    def step(source: uuid.UUID, target: uuid.UUID, blocking: uuid.UUID, start: uuid.UUID) -> Transition:
        return Transition(id=uuid.uuid4(), from_=source, to=target, start_timers=[start],
                          blocking_timers=[blocking], abnormal_condition_only=False)  # fmt: skip

    ms = int(TEN_MINUTES.total_seconds() * 1000)
    actuator = FRBCActuatorDescription(
        id=ACTUATOR,
        supported_commodities=[Commodity.ELECTRICITY],
        operation_modes=[mode(OFF, 0, 0, "off"), mode(ON, 900, 3000, "on")],
        transitions=[step(ON, OFF, MIN_ON, MIN_OFF), step(OFF, ON, MIN_OFF, MIN_ON)],
        timers=[
            Timer(id=MIN_ON, diagnostic_label="min on", duration=Duration(ms)),
            Timer(id=MIN_OFF, diagnostic_label="min off", duration=Duration(ms)),
        ],
    )
    return FRBCSystemDescription(
        message_id=uuid.uuid4(), valid_from=NOW, actuators=[actuator], storage=storage(5, 35, "°C")
    )


class ResourceManager:
    """An S2 RM on a websockets client. It answers every message with a ReceptionStatus and every
    instruction with an InstructionStatusUpdate: REJECTED for a factor-1 battery charge (its charger is
    derated) and for a transition that does not exist or that a running timer blocks (``violations``),
    else ACCEPTED; then its ActuatorStatus. Timers run on ``clock``."""

    def __init__(self, url: str, resource_id: uuid.UUID, secret: str, *, clock: ManualClock,
                 system: FRBCSystemDescription | None = None, active: uuid.UUID = IDLE, factor: float = 0.0,
                 control_types: tuple[ControlType, ...] = (ControlType.FILL_RATE_BASED_CONTROL,),
                 tls: ssl.SSLContext | None = None) -> None:  # fmt: skip
        self.url, self.resource_id, self.secret, self.clock, self.tls = url, resource_id, secret, clock, tls
        self.system = system or battery()
        self.active, self.factor = active, factor
        self.control_types = control_types
        self.timers: dict[uuid.UUID, datetime] = {}  # running: timer id -> end
        self.instructions: list[FRBCInstruction] = []
        self.violations: list[FRBCInstruction] = []
        self.received: list[S2Message] = []
        self.receptions: list[ReceptionStatus] = []
        self.sent: list[S2Message] = []
        self.answer = True
        self.ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def send(self, message: S2Message) -> None:
        assert self.ws is not None
        self.sent.append(message)
        await self.ws.send(message.to_json())

    async def start(self) -> None:
        headers = {"Authorization": f"Bearer {self.secret}"}
        self.ws = await connect(self.url, additional_headers=headers, ssl=self.tls)
        await self.send(Handshake(message_id=uuid.uuid4(), role=EnergyManagementRole.RM,
                                  supported_protocol_versions=["0.0.2-beta"]))  # fmt: skip
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def until(self, predicate: Callable[[], object]) -> None:
        async with asyncio.timeout(10):
            while not predicate():
                await asyncio.sleep(0.01)

    async def _run(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            message = S2Parser.parse_as_any_message(str(raw))
            if isinstance(message, ReceptionStatus):
                self.receptions.append(message)
                continue
            self.received.append(message)
            await self.send(ReceptionStatus(subject_message_id=message.message_id,  # type: ignore[attr-defined]
                                            status=ReceptionStatusValues.OK))  # fmt: skip
            if isinstance(message, HandshakeResponse):
                await self.send(self._details())
            elif isinstance(message, SelectControlType):
                assert message.control_type is ControlType.FILL_RATE_BASED_CONTROL
                await self._describe()
            elif isinstance(message, FRBCInstruction):
                self.instructions.append(message)
                if self.answer:
                    await self._carry_out(message)

    def _details(self) -> ResourceManagerDetails:
        return ResourceManagerDetails(
            message_id=uuid.uuid4(),
            resource_id=self.resource_id,
            name="test device",
            roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
            manufacturer="tests",
            instruction_processing_delay=Duration(100),
            available_control_types=[*self.control_types, ControlType.NOT_CONTROLABLE],
            provides_forecast=False,
            provides_power_measurement_types=[L1],
        )

    async def _describe(self) -> None:
        await self.send(self.system)
        await self.actuator_status()
        await self.send(FRBCStorageStatus(message_id=uuid.uuid4(), present_fill_level=4.0))
        values = [PowerValue(commodity_quantity=L1, value=-120.0)]
        await self.send(PowerMeasurement(message_id=uuid.uuid4(), measurement_timestamp=NOW, values=values))

    async def actuator_status(self) -> None:
        await self.send(FRBCActuatorStatus(message_id=uuid.uuid4(), actuator_id=ACTUATOR,
                                           active_operation_mode_id=self.active,
                                           operation_mode_factor=self.factor))  # fmt: skip

    async def timer_started(self, timer_id: uuid.UUID, ends: datetime) -> None:
        self.timers[timer_id] = ends
        await self.send(FRBCTimerStatus(message_id=uuid.uuid4(), timer_id=timer_id, actuator_id=ACTUATOR,
                                        finished_at=ends))  # fmt: skip

    def _allowed(self, instruction: FRBCInstruction) -> bool:
        """Its own check of the transition and its timers (what a real device enforces)."""
        actuator = self.system.actuators[0]
        if instruction.operation_mode == self.active or not actuator.transitions:
            return True
        now = self.clock.now()
        for t in actuator.transitions:
            if (t.from_, t.to) == (self.active, instruction.operation_mode):
                if any(self.timers.get(b, now) > now for b in t.blocking_timers):
                    return False
                for s in t.start_timers:
                    duration = next(x.duration.root for x in actuator.timers if x.id == s)
                    self.timers[s] = now + timedelta(milliseconds=duration)
                return True
        return False

    async def _carry_out(self, instruction: FRBCInstruction) -> None:
        derated = instruction.operation_mode == CHARGE and instruction.operation_mode_factor > 0.99
        ok = not derated and self._allowed(instruction)
        if not ok and not derated:
            self.violations.append(instruction)
        await self.send(InstructionStatusUpdate(message_id=uuid.uuid4(), instruction_id=instruction.id,
                                                status_type=InstructionStatus.ACCEPTED if ok
                                                else InstructionStatus.REJECTED, timestamp=NOW))  # fmt: skip
        if ok:
            self.active, self.factor = instruction.operation_mode, instruction.operation_mode_factor
            await self.actuator_status()


@asynccontextmanager
async def driven(
    clock: ManualClock,
    cem: Cem,
    resource_id: uuid.UUID | None = None,
    *,
    household: str = "hhs2",
    kind: DeviceKind = DeviceKind.BATTERY,
) -> AsyncIterator[tuple[S2Driver, Seen]]:
    seen = Seen()
    device = "battery" if kind is DeviceKind.BATTERY else "heat_pump"
    link = DeviceLink(household_id=household, device_id=device, kind=kind, max_power_w=3000,
                      clock=clock, mqtt=None, services={"s2": cem}, report=seen.report,
                      availability=seen.available)  # fmt: skip
    rid = str(resource_id or uuid.uuid4())
    driver = S2Driver(link, S2Address(resource_id=rid, token=token(household)))
    await driver.start()
    try:
        yield driver, seen
    finally:
        await driver.stop()


@asynccontextmanager
async def connected(
    cem: Cem,
    clock: ManualClock,
    *,
    household: str = "hhs2",
    kind: DeviceKind = DeviceKind.BATTERY,
    **rm_options: object,
) -> AsyncIterator[tuple[S2Driver, Seen, ResourceManager]]:
    rid = uuid.uuid4()
    async with driven(clock, cem, rid, household=household, kind=kind) as (driver, seen):
        rm = ResourceManager(cem.url_for(household), rid, token(household), clock=clock, **rm_options)  # type: ignore[arg-type]
        await rm.start()
        try:
            await rm.until(lambda: driver.fill is not None and any("power_w" in s for s in seen.states))
            yield driver, seen, rm
        finally:
            await rm.stop()
