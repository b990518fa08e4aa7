"""S2 (EN 50491-12-2) heat pumps and batteries, with homeflex's household agent as the CEM
(protocols.md §8; the endpoint is homeflex.drivers.s2_cem). The device's resource manager (RM) connects
to the agent's endpoint and is known by its ``resource_id``; the CEM selects FRBC (fill-rate based
control). Settings become an ``FRBC.Instruction`` executing now:

    battery   {"power_w": W}      the operation mode and factor whose power is nearest W (+ charge)
    heat_pump {"max_power_w": W}  the mode and factor nearest W that stays under it (else the lowest)

``None`` is "back to the device's own behaviour": the mode and factor the RM reported
(``FRBC.ActuatorStatus``) before homeflex first instructed it; when it reported none, the mode nearest
0 W for a battery (idle) and the mode nearest full power for a heat pump (unconstrained). S2 instructions
have no expiry, so the expiry is EMULATED: the driver sends that "own behaviour" instruction at expiry;
if the agent stops, the last instruction stays.

Readings: ``PowerMeasurement`` -> ``power_w`` (the phases summed, + consumption); ``FRBC.StorageStatus``
-> ``fill_level`` and, for a battery, ``soc`` (the fill level as 0..1 of the storage's range).
``InstructionStatusUpdate`` REJECTED (or ABORTED, REVOKED) -> DeviceRefused; no RM connected or no status
in time -> DeviceUnreachable.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from s2python.common import PowerMeasurement
from s2python.frbc import FRBCActuatorStatus, FRBCInstruction, FRBCStorageStatus, FRBCSystemDescription
from s2python.message import S2Message

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
from homeflex.drivers.s2_modes import Choice, choose, fill_fraction, total_power
from homeflex.drivers.watts import watts_setting

KEYS = {DeviceKind.BATTERY: "power_w", DeviceKind.HEAT_PUMP: "max_power_w"}


@dataclass(frozen=True, kw_only=True)
class S2Address:
    """``resource_id``: the UUID the RM gives in its ResourceManagerDetails."""

    resource_id: str

    def __post_init__(self) -> None:
        try:
            canonical = str(uuid.UUID(str(self.resource_id)))
        except ValueError:
            raise ValueError(f"resource_id must be a UUID, got {self.resource_id!r}") from None
        object.__setattr__(self, "resource_id", canonical)


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
        self.key = KEYS[link.kind]
        self.description: FRBCSystemDescription | None = None
        self.fill: float | None = None
        self.own: Choice | None = None  # the RM's own behaviour, before homeflex instructed it
        self.instructed = False
        self._expiry = EmulatedExpiry(link, lambda: self.send({self.key: None}, None))

    async def start(self) -> None:
        self.cem.register(self.address.resource_id, self)

    async def stop(self) -> None:
        self._expiry.cancel()
        await self.cem.unregister(self.address.resource_id)

    # -- the endpoint's listener -------------------------------------------------------------------
    def connected(self, up: bool) -> None:
        self.link.availability(self.link.device_id, up, "RM connected" if up else "RM disconnected")

    def received(self, message: S2Message) -> None:
        if isinstance(message, FRBCSystemDescription):
            self.description = message
        elif isinstance(message, FRBCStorageStatus):
            self.fill = message.present_fill_level
            state: dict[str, float] = {"fill_level": self.fill}
            soc = fill_fraction(self.description, self.fill)
            if soc is not None and self.link.kind is DeviceKind.BATTERY:
                state["soc"] = soc
            self.link.report(self.link.device_id, state)
        elif isinstance(message, PowerMeasurement):
            watts = total_power([(v.commodity_quantity.value, v.value) for v in message.values])
            self.link.report(self.link.device_id, {"power_w": watts})
        elif isinstance(message, FRBCActuatorStatus) and not self.instructed:
            self.own = Choice(
                actuator_id=str(message.actuator_id),
                mode_id=str(message.active_operation_mode_id),
                factor=message.operation_mode_factor,
                power_w=math.nan,
            )

    # -- commands ----------------------------------------------------------------------------------
    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        watts = self._setting(settings)
        if self.description is None:
            if not self.cem.is_connected(self.address.resource_id):
                raise DeviceUnreachable(
                    f"{self.link.name}: S2 resource {self.address.resource_id} not connected"
                )
            raise DeviceUnreachable(f"{self.link.name}: no FRBC.SystemDescription from the RM yet")
        choice = self._choice(self.description, watts)
        instruction = FRBCInstruction(
            message_id=uuid.uuid4(),
            id=uuid.uuid4(),
            actuator_id=uuid.UUID(choice.actuator_id),
            operation_mode=uuid.UUID(choice.mode_id),
            operation_mode_factor=choice.factor,
            execution_time=self.link.clock.now(),
            abnormal_condition=False,
        )
        self._expiry.cancel()
        await self.cem.instruct(self.address.resource_id, instruction)
        self.instructed = True
        self.link.report(
            self.link.device_id, {"setpoint_w": None if watts is None else round(choice.power_w, 3)}
        )
        self._expiry.at(expires_at if watts is not None else None)
        return 1

    def _setting(self, settings: Settings) -> float | None:
        return watts_setting(self.link, self.key, settings, "S2")

    def _choice(self, description: FRBCSystemDescription, watts: float | None) -> Choice:
        if watts is None and self.own is not None:
            return self.own
        if watts is None:  # own behaviour not seen: idle for a battery, unconstrained for a heat pump
            watts = 0.0 if self.link.kind is DeviceKind.BATTERY else math.inf
        ceiling = self.link.kind is DeviceKind.HEAT_PUMP
        choice = choose(description, watts if math.isfinite(watts) else 1e12, self.fill, ceiling=ceiling)
        if choice is None:
            raise DeviceRefused(f"{self.link.name}: the RM's system description has no normal operation mode")
        return choice


INFO = register(
    DriverInfo(
        protocol="s2",
        title="S2 (EN 50491-12-2), FRBC",
        kinds=frozenset(KEYS),
        products=("any S2 resource manager offering FRBC (heat pumps, home batteries)",),
        expiry=Expiry.EMULATED,
        fail_safe=(
            "emulated: S2 instructions have no expiry; at the command's expiry the driver instructs the mode "
            "the RM reported before homeflex instructed it. If the agent stops, the last instruction stays"
        ),
        config=S2Address,
        build=S2Driver,
        service=cem_endpoint,
    )
)
