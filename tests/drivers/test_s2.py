"""The S2 driver (homeflex as the CEM) against a resource manager built here from s2-python's own message
models (not homeflex's code), connecting over a real WebSocket to the driver's CEM endpoint: an FRBC
battery with three operation modes (charge 0..3000 W, idle, discharge -3000..0 W)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
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
)
from s2python.message import S2Message
from s2python.s2_parser import S2Parser
from websockets.asyncio.client import ClientConnection, connect

from homeflex.core.clock import ManualClock
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DeviceLink, DeviceRefused, DeviceUnreachable
from homeflex.drivers.s2 import INFO, S2Address, S2Driver
from homeflex.drivers.s2_cem import Cem, CemSettings
from homeflex.settings import load_settings
from tests.drivers.rigs import Seen

ACTUATOR = uuid.uuid4()
CHARGE, IDLE, DISCHARGE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
L1 = CommodityQuantity.ELECTRIC_POWER_L1
NOW = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)


def mode(mode_id: uuid.UUID, start: float, end: float, label: str) -> FRBCOperationMode:
    element = FRBCOperationModeElement(
        fill_level_range=NumberRange(start_of_range=0, end_of_range=10),
        fill_rate=NumberRange(start_of_range=start / 1000, end_of_range=end / 1000),
        power_ranges=[PowerRange(start_of_range=start, end_of_range=end, commodity_quantity=L1)],
    )
    return FRBCOperationMode(
        id=mode_id, diagnostic_label=label, elements=[element], abnormal_condition_only=False
    )


def description() -> FRBCSystemDescription:
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
    storage = FRBCStorageDescription(
        fill_level_label="kWh",
        provides_leakage_behaviour=False,
        provides_fill_level_target_profile=False,
        provides_usage_forecast=False,
        fill_level_range=NumberRange(start_of_range=0, end_of_range=10),
    )
    return FRBCSystemDescription(
        message_id=uuid.uuid4(), valid_from=NOW, actuators=[actuator], storage=storage
    )


class ResourceManager:
    """An S2 RM for a 10 kWh battery, speaking s2-python's models on a websockets client. It answers
    every message with a ReceptionStatus and every instruction with an InstructionStatusUpdate:
    ACCEPTED, or REJECTED for a factor-1 charge (its charger is derated)."""

    def __init__(self, url: str, resource_id: uuid.UUID) -> None:
        self.url, self.resource_id = url, resource_id
        self.instructions: list[FRBCInstruction] = []
        self.received: list[S2Message] = []
        self.receptions: list[ReceptionStatus] = []
        self.answer = True
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def send(self, message: S2Message) -> None:
        assert self._ws is not None
        await self._ws.send(message.to_json())

    async def start(self) -> None:
        self._ws = await connect(self.url)
        await self.send(Handshake(message_id=uuid.uuid4(), role=EnergyManagementRole.RM,
                                  supported_protocol_versions=["0.0.2-beta"]))  # fmt: skip
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def until(self, predicate: Callable[[], object]) -> None:
        async with asyncio.timeout(10):
            while not predicate():
                await asyncio.sleep(0.01)

    async def _run(self) -> None:
        assert self._ws is not None
        async for raw in self._ws:
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
                    await self._status(message)

    def _details(self) -> ResourceManagerDetails:
        return ResourceManagerDetails(
            message_id=uuid.uuid4(),
            resource_id=self.resource_id,
            name="test battery",
            roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
            manufacturer="tests",
            instruction_processing_delay=Duration(100),
            available_control_types=[ControlType.FILL_RATE_BASED_CONTROL, ControlType.NOT_CONTROLABLE],
            provides_forecast=False,
            provides_power_measurement_types=[L1],
        )

    async def _describe(self) -> None:
        await self.send(description())
        idle = {"active_operation_mode_id": IDLE, "operation_mode_factor": 0.0}
        status = FRBCActuatorStatus(message_id=uuid.uuid4(), actuator_id=ACTUATOR, **idle)
        await self.send(status)
        await self.send(FRBCStorageStatus(message_id=uuid.uuid4(), present_fill_level=4.0))
        values = [PowerValue(commodity_quantity=L1, value=-120.0)]
        await self.send(PowerMeasurement(message_id=uuid.uuid4(), measurement_timestamp=NOW, values=values))

    async def _status(self, instruction: FRBCInstruction) -> None:
        derated = instruction.operation_mode == CHARGE and instruction.operation_mode_factor > 0.99
        status = InstructionStatus.REJECTED if derated else InstructionStatus.ACCEPTED
        await self.send(InstructionStatusUpdate(message_id=uuid.uuid4(), instruction_id=instruction.id,
                                                status_type=status, timestamp=NOW))  # fmt: skip


@asynccontextmanager
async def driven(
    clock: ManualClock, cem: Cem, resource_id: uuid.UUID | None = None
) -> AsyncIterator[tuple[S2Driver, Seen]]:
    seen = Seen()
    link = DeviceLink(household_id="hhs2", device_id="battery", kind=DeviceKind.BATTERY, max_power_w=3000,
                      clock=clock, mqtt=None, services={"s2": cem}, report=seen.report,
                      availability=seen.available)  # fmt: skip
    driver = S2Driver(link, S2Address(resource_id=str(resource_id or uuid.uuid4())))
    await driver.start()
    try:
        yield driver, seen
    finally:
        await driver.stop()


@pytest.fixture
async def cem() -> AsyncIterator[Cem]:
    async with Cem(CemSettings(port=0, response_timeout_s=1.0)) as server:
        yield server


@asynccontextmanager
async def connected(cem: Cem, clock: ManualClock) -> AsyncIterator[tuple[S2Driver, Seen, ResourceManager]]:
    rid = uuid.uuid4()
    async with driven(clock, cem, rid) as (driver, seen):
        rm = ResourceManager(cem.url, rid)
        await rm.start()
        try:
            await rm.until(lambda: driver.fill is not None and any("power_w" in s for s in seen.states))
            yield driver, seen, rm
        finally:
            await rm.stop()


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def rig(cem: Cem, clock: ManualClock) -> AsyncIterator[tuple[S2Driver, Seen, ResourceManager]]:
    async with connected(cem, clock) as running:
        yield running


async def test_a_command_becomes_the_frbc_instruction_nearest_the_power(rig: Any, clock: ManualClock) -> None:
    driver, seen, rm = rig
    assert seen.availability[0] == (True, "RM connected")
    assert {"power_w": -120.0} in seen.states and {"fill_level": 4.0, "soc": 0.4} in seen.states
    assert await driver.send({"power_w": -2000}, None) == 1
    sent = rm.instructions[-1]
    assert (sent.actuator_id, sent.operation_mode) == (ACTUATOR, DISCHARGE)
    assert sent.operation_mode_factor == pytest.approx(1 / 3)  # S2: factor 0 is the range start
    assert sent.execution_time == NOW and not sent.abnormal_condition
    await driver.send({"power_w": 1500}, None)
    assert (rm.instructions[-1].operation_mode, rm.instructions[-1].operation_mode_factor) == (CHARGE, 0.5)
    assert seen.states[-1] == {"setpoint_w": 1500}
    # every message of the RM was answered OK
    assert rm.receptions and all(r.status is ReceptionStatusValues.OK for r in rm.receptions)


async def test_expiry_is_emulated_back_to_the_rms_own_mode(rig: Any, clock: ManualClock) -> None:
    driver, _seen, rm = rig
    assert INFO.expiry.value == "emulated"
    await driver.send({"power_w": -3000}, NOW + timedelta(minutes=30))
    assert rm.instructions[-1].operation_mode == DISCHARGE
    await clock.advance(30 * 60)
    await rm.until(lambda: len(rm.instructions) == 2)
    back = rm.instructions[-1]
    assert (back.operation_mode, back.operation_mode_factor) == (IDLE, 0.0)  # its ActuatorStatus before


async def test_a_rejected_instruction_is_refused(rig: Any) -> None:
    driver, _seen, _rm = rig
    with pytest.raises(DeviceRefused, match="REJECTED"):
        await driver.send({"power_w": 5000}, None)  # factor 1 of the charge mode: derated, rejected
    with pytest.raises(DeviceRefused, match="power_w"):
        await driver.send({"power_w": "lots"}, None)


async def test_no_rm_or_no_status_is_unreachable(cem: Cem, clock: ManualClock) -> None:
    async with driven(clock, cem) as (driver, _seen):
        with pytest.raises(DeviceUnreachable, match="not connected"):
            await driver.send({"power_w": 1000}, None)
    async with connected(cem, clock) as (driver, seen, rm):
        rm.answer = False
        with pytest.raises(DeviceUnreachable, match="did not answer"):
            await driver.send({"power_w": 1000}, None)
        await rm.stop()
        await rm.until(lambda: seen.availability[-1] == (False, "RM disconnected"))


async def test_an_unknown_resource_is_let_go_and_garbage_is_answered(cem: Cem, clock: ManualClock) -> None:
    stranger = ResourceManager(cem.url, uuid.uuid4())
    await stranger.start()
    await stranger.until(lambda: stranger._task is not None and stranger._task.done())
    assert stranger.receptions[-1].status is ReceptionStatusValues.PERMANENT_ERROR
    async with connected(cem, clock) as (driver, _seen, rm):
        assert rm._ws is not None
        bad = str(uuid.uuid4())
        await rm._ws.send('{"message_type": "FRBC.StorageStatus", "message_id": "' + bad + '"}')
        await rm._ws.send("not json at all")
        await rm.until(lambda: any(str(r.subject_message_id) == bad for r in rm.receptions))
        assert [r.status for r in rm.receptions if str(r.subject_message_id) == bad] == [
            ReceptionStatusValues.INVALID_DATA
        ]
        assert await driver.send({"power_w": 0}, None) == 1  # the session goes on


async def test_the_endpoint_starts_from_settings() -> None:
    assert INFO.service is not None  # what driver_services starts once the driver is registered
    async with INFO.service(load_settings(path=None, env={}, s2_port=0)) as cem:
        assert isinstance(cem, Cem) and cem.port > 0


def test_a_heat_pump_ceiling_picks_the_mode_that_stays_under_it() -> None:
    """Pure: a heat pump's max_power_w is a ceiling; a mode that cannot go under it ranks last."""
    from homeflex.drivers.s2_modes import choose

    system = description()
    system.actuators[0].operation_modes = [mode(CHARGE, 1500, 3000, "compressor"), mode(IDLE, 0, 0, "off")]
    assert choose(system, 2000, 4.0, ceiling=True).mode_id == str(CHARGE)  # type: ignore[union-attr]
    under = choose(system, 1000, 4.0, ceiling=True)
    assert under is not None and (under.mode_id, under.power_w) == (str(IDLE), 0)  # not 1500 W over it
    assert choose(system, 1000, 4.0) is not None and choose(system, 1000, 4.0).mode_id == str(CHARGE)  # type: ignore[union-attr]
