"""A simulated S2 resource manager (EN 50491-12-2) for a battery: a WebSocket client of the CEM at
``options["url"]``, known by ``options["resource_id"]``, speaking s2-python's message models (FRBC).

Its system description has three operation modes: CHARGE (0..p_max W), DISCHARGE (-p_max..0 W) and AUTO
(the battery's own behaviour, -p_max..p_max W, listed last). Its ActuatorStatus says AUTO. An instruction
for CHARGE or DISCHARGE sets the battery to the mode's power at the instruction's factor; AUTO gives it back
to its own behaviour (``household.reset``). Every message is answered with a ReceptionStatus, every
instruction with an InstructionStatusUpdate ACCEPTED. It reconnects (with backoff) when the CEM goes away.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from contextlib import suppress
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
from s2python.s2_validation_error import S2ValidationError
from s2python.version import S2_VERSION
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from homeflex.core.clock import Clock
from homeflex.core.tasks import stop_tasks
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.battery import Battery
from homeflex.sim.protocols import ENDPOINTS

log = logging.getLogger(__name__)

L1 = CommodityQuantity.ELECTRIC_POWER_L1
RETRY_MAX_S = 2.0  # wall seconds between attempts to reach the CEM, at most


def _mode(label: str, low: float, high: float, capacity_kwh: float) -> FRBCOperationMode:
    element = FRBCOperationModeElement(
        fill_level_range=NumberRange(start_of_range=0, end_of_range=capacity_kwh),
        fill_rate=NumberRange(start_of_range=low / 1000, end_of_range=high / 1000),
        power_ranges=[PowerRange(start_of_range=low, end_of_range=high, commodity_quantity=L1)],
    )
    return FRBCOperationMode(
        id=uuid.uuid4(), diagnostic_label=label, elements=[element], abnormal_condition_only=False
    )


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
        if not isinstance(physics, Battery):
            raise ValueError(f"a simulated S2 resource manager is a battery, not {device_id!r}")
        self.household, self.device_id, self.clock, self.physics = household, device_id, clock, physics
        self.url = str(options["url"])
        self.resource_id = uuid.UUID(str(options["resource_id"]))
        p_max, self.capacity_kwh = physics.params.p_max_w, physics.params.capacity_wh / 1000
        self.actuator = uuid.uuid4()
        self.modes = {
            "charge": _mode("charge", 0, p_max, self.capacity_kwh),
            "discharge": _mode("discharge", -p_max, 0, self.capacity_kwh),
            "auto": _mode("auto", -p_max, p_max, self.capacity_kwh),
        }
        self.instructions: list[FRBCInstruction] = []
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
        fill = float(state.get("soc", 0.0)) * self.capacity_kwh  # type: ignore[arg-type]
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
                async with connect(self.url, open_timeout=5) as ws:
                    self._ws, delay = ws, 0.1
                    await self.send(Handshake(message_id=uuid.uuid4(), role=EnergyManagementRole.RM,
                                              supported_protocol_versions=[S2_VERSION]))  # fmt: skip
                    async for raw in ws:
                        await self._receive(str(raw))
            except (OSError, ConnectionClosed, TimeoutError) as err:
                log.debug("%s/%s: S2 CEM unreachable: %s", self.household.id, self.device_id, err)
            finally:
                self._ws = None
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
            self._apply(message)
            await self.send(InstructionStatusUpdate(message_id=uuid.uuid4(), instruction_id=message.id,
                                                    status_type=InstructionStatus.ACCEPTED,
                                                    timestamp=self.clock.now()))  # fmt: skip

    def _details(self) -> ResourceManagerDetails:
        return ResourceManagerDetails(
            message_id=uuid.uuid4(),
            resource_id=self.resource_id,
            name=f"{self.household.id} {self.device_id}",
            roles=[Role(role=RoleType.ENERGY_STORAGE, commodity=Commodity.ELECTRICITY)],
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
            transitions=[],
            timers=[],
        )
        storage = FRBCStorageDescription(
            diagnostic_label=None,
            fill_level_label="kWh",
            provides_leakage_behaviour=False,
            provides_fill_level_target_profile=False,
            provides_usage_forecast=False,
            fill_level_range=NumberRange(start_of_range=0, end_of_range=self.capacity_kwh),
        )
        await self.send(FRBCSystemDescription(message_id=uuid.uuid4(), valid_from=self.clock.now(),
                                              actuators=[actuator], storage=storage))  # fmt: skip
        await self.send(FRBCActuatorStatus(message_id=uuid.uuid4(), actuator_id=self.actuator,
                                           active_operation_mode_id=self.modes["auto"].id,
                                           operation_mode_factor=0.5, previous_operation_mode_id=None,
                                           transition_timestamp=None))  # fmt: skip
        await self.publish_state()

    def _apply(self, instruction: FRBCInstruction) -> None:
        self.instructions.append(instruction)
        now = self.clock.now()
        mode = next((m for m in self.modes.values() if m.id == instruction.operation_mode), None)
        if mode is None or mode is self.modes["auto"]:
            self.household.reset(self.device_id, now)
            return
        power = mode.elements[0].power_ranges[0]
        watts = power.start_of_range + instruction.operation_mode_factor * (
            power.end_of_range - power.start_of_range
        )
        self.household.apply(self.device_id, {"power_w": round(watts)}, now)


ENDPOINTS.register("s2")(S2ResourceManager)
