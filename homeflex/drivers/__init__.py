"""Device drivers: the control loop decides a setpoint per device (``homeflex.control.devices``); a driver
speaks it to the device in the device's own protocol, reads its power, energy and state back, and says
when the device is unavailable. One driver per file, found through ``DRIVERS`` by protocol name.

Settings are the control adapters' vocabulary: ``max_power_w`` (EV charger, heat pump), ``setpoint_c``
(heat pump), ``power_w`` (battery, + charge), ``export_limit_w`` (PV), ``on`` (plug); a ``None`` value
means "back to the device's own behaviour". States come back in the same vocabulary: ``power_w`` (+
consumption), ``energy_wh``, ``plugged``, ``soc``, ``on``, ``indoor_c``...

A command carries an expiry. Where the protocol can, the driver hands it to the device (``NATIVE``: the
device reverts by itself even when homeflex is gone); else the driver reverts it itself (``EMULATED``:
if the agent dies the last command stays) and the registry says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from homeflex.core.clock import Clock
from homeflex.core.domain import DeviceKind
from homeflex.core.errors import Permanent, Transient
from homeflex.core.registry import Registry
from homeflex.core.strict import from_mapping

Settings = dict[str, Any]
State = dict[str, Any]


class DeviceError(RuntimeError):
    """A command did not take effect."""

    transient = True


class DeviceRefused(DeviceError, Permanent):
    """The device answered and said no (a bad value, a fault): retrying the same command will not help."""

    transient = False


class DeviceUnreachable(DeviceError, Transient):
    """No answer (offline, timeout): retry later with backoff."""


class Expiry(StrEnum):
    NATIVE = "native"  # the device reverts by itself when the command's timer runs out
    EMULATED = "emulated"  # the driver reverts the device; if the agent stops, the last command stays


@dataclass(frozen=True, kw_only=True)
class DeviceLink:
    """What a driver is given by the household agent: which device, the clock, the agent's shared
    connections and where to say what it reads."""

    household_id: str
    device_id: str
    kind: DeviceKind | None  # None: the household's meter, which is no controllable device
    max_power_w: float
    clock: Clock
    mqtt: Any  # homeflex.mqtt.MqttSession: the agent's own session, shared by the MQTT drivers
    services: Mapping[str, Any] = field(default_factory=dict)  # shared servers by protocol, e.g. "ocpp"
    report: Callable[[str, State], None] = lambda _device, _state: None  # device id, state (overlaid)
    availability: Callable[[str, bool, str], None] = lambda _device, _up, _why: None

    @property
    def name(self) -> str:
        return f"{self.household_id}/{self.device_id}"


class Driver(Protocol):
    async def start(self) -> None:
        """Connect, subscribe, read the device's status once (nothing of a device is retained)."""
        ...

    async def stop(self) -> None: ...

    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        """Apply ``settings`` until ``expires_at`` (None: until changed); the attempts it took.
        Raises DeviceRefused or DeviceUnreachable."""
        ...


@dataclass(frozen=True, kw_only=True)
class DriverInfo:
    """A registered driver: what it can drive, how its commands expire, and its address config."""

    protocol: str
    title: str  # e.g. "OCPP 1.6J"
    kinds: frozenset[DeviceKind]
    products: tuple[str, ...]  # products known to speak it (README, portal)
    expiry: Expiry
    fail_safe: str  # what the device does when homeflex stops commanding it
    config: type[Any]  # a frozen dataclass: the device's address in this protocol
    build: Callable[[DeviceLink, Any], Driver]
    meter: bool = False  # can be the household's meter (its readings go to telemetry)
    # A server the protocol's devices connect to (an OCPP central system), shared by every driver of
    # the protocol in one process: built from the platform's settings, put in DeviceLink.services
    # under the protocol's name.
    service: Callable[[Any], AbstractAsyncContextManager[Any]] | None = None
    # The address's check against the device's kind (ValueError saying why), for an address that only
    # fits some kinds (a Home Assistant entity's domain): the household's configuration says it at its
    # field instead of the agent failing when it builds the driver.
    fits: Callable[[DeviceKind, Any], None] | None = None

    def parse(self, raw: Mapping[str, Any], where: str = "address") -> Any:
        return from_mapping(self.config, raw, where)


DRIVERS: Registry[DriverInfo] = Registry(
    "device protocol",
    builtin=(
        "homeflex.drivers.home_assistant",
        "homeflex.drivers.homeflex_mqtt",
        "homeflex.drivers.ocpp",
        "homeflex.drivers.s2",
        "homeflex.drivers.shelly",
        "homeflex.drivers.sunspec",
        "homeflex.drivers.tasmota",
        "homeflex.drivers.zigbee2mqtt",
    ),
)


def register(info: DriverInfo) -> DriverInfo:
    return DRIVERS.register(info.protocol)(info)


class DriverServices:
    """The shared servers that the drivers of a household's protocols need, kept in step with its
    configuration: a new version that adds an OCPP charger starts the central system (``need``), one
    that drops the last OCPP device stops it (``keep_only``), without the agent restarting. ``running``
    maps each started protocol to its server (DeviceLink.services)."""

    def __init__(self, settings: Any, protocols: Iterable[str] = ()) -> None:
        self.settings = settings  # homeflex.settings: the servers' ports, certificates...
        self.running: dict[str, Any] = {}
        self._first = tuple(protocols)
        self._stops: dict[str, AsyncExitStack] = {}

    async def need(self, protocols: Iterable[str]) -> list[str]:
        """Start the servers of ``protocols`` not running yet; the protocols started."""
        started = []
        for name in sorted(set(protocols) - set(self.running)):
            info = DRIVERS.get(name)
            if info.service is None:
                continue
            stack = AsyncExitStack()
            self.running[name] = await stack.enter_async_context(info.service(self.settings))
            self._stops[name] = stack
            started.append(name)
        return started

    async def keep_only(self, protocols: Iterable[str]) -> list[str]:
        """Stop the servers no protocol in ``protocols`` needs any more; the protocols stopped."""
        stopped = sorted(set(self.running) - set(protocols))
        for name in stopped:
            del self.running[name]
            await self._stops.pop(name).aclose()
        return stopped

    async def __aenter__(self) -> DriverServices:
        try:
            await self.need(self._first)
        except BaseException:
            await self.keep_only(())
            raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.keep_only(())


@asynccontextmanager
async def driver_services(protocols: Iterable[str], settings: Any) -> AsyncIterator[dict[str, Any]]:
    """Start the shared servers that the drivers of ``protocols`` need (``settings``: homeflex.settings)."""
    async with DriverServices(settings, protocols) as services:
        yield services.running


def protocols_for(kind: DeviceKind) -> list[DriverInfo]:
    """The drivers that can drive a device of ``kind`` (for the portal's forms and checks)."""
    return [info for _, info in DRIVERS if kind in info.kinds]
