"""The SunSpec driver against a simulated SunSpec battery on Modbus TCP (homeflex.sim.protocols.sunspec):
a pymodbus server on a free loopback port, the battery's physics behind it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from homeflex.core.clock import Clock
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DeviceLink
from homeflex.drivers.sunspec import SunSpecAddress, SunSpecDriver
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.pv import PvInverter
from homeflex.sim.physics.weather import LondonWeather
from homeflex.sim.protocols.sunspec import SunSpecDevice
from tests.drivers.rigs import Rig, Running, Seen

FAST = {"timeout_s": 0.5, "poll_s": 0.2, "retry_max_s": 0.5}


def power(household: SimHousehold, device: str = "battery") -> object:
    return household.device(device).settings.values.get("power_w")


def sunspec_household(hh: str) -> SimHousehold:
    """A battery, and PV under a steady 800 W/m² (so that a limit shows at any hour)."""
    return SimHousehold(
        hh,
        base_load=BaseLoad(seed=3),
        weather=LondonWeather(seed=3),
        devices={"battery": Battery(soc=0.5), "pv": PvInverter(lambda _now: 800.0)},
    )


async def until(predicate: Callable[[], object], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


class Device:
    """A simulated household whose battery and PV speak SunSpec, each on its own port; ``restart`` keeps
    the ports, as a device keeps its address."""

    def __init__(
        self, household: SimHousehold, clock: Clock, mqtt_url: str, wiring: dict[str, dict[str, Any]]
    ) -> None:
        self.household, self.clock, self.mqtt_url = household, clock, mqtt_url
        self.wiring = {d: {"protocol": "sunspec", "port": 0, **w} for d, w in wiring.items()}
        self.simulator: HouseholdSimulator | None = None

    def endpoint(self, device: str) -> SunSpecDevice:
        assert self.simulator is not None
        found = self.simulator.devices[device]
        assert isinstance(found, SunSpecDevice)
        return found

    async def start(self) -> None:
        self.simulator = HouseholdSimulator(self.household, self.clock, self.mqtt_url, wiring=self.wiring)
        await self.simulator.__aenter__()
        for device in self.wiring:
            self.wiring[device]["port"] = self.endpoint(device).port

    async def stop(self) -> None:
        if self.simulator is not None:
            await self.simulator.__aexit__(None, None, None)
            self.simulator = None


@asynccontextmanager
async def sunspec_device(
    mqtt_url: str, uid: str, clock: Clock, wiring: dict[str, dict[str, Any]] | None = None
) -> AsyncIterator[Device]:
    """The household's meter still speaks MQTT (the simulator's own); its battery and PV speak SunSpec."""
    device = Device(sunspec_household(f"ss{uid}"), clock, mqtt_url, wiring or {"battery": {}, "pv": {}})
    await device.start()
    try:
        yield device
    finally:
        await device.stop()


@asynccontextmanager
async def sunspec_driver(
    device: Device, clock: Clock, device_id: str = "battery", **address: Any
) -> AsyncIterator[tuple[SunSpecDriver, Seen]]:
    seen = Seen()
    kind = DeviceKind.BATTERY if device_id == "battery" else DeviceKind.PV
    link = DeviceLink(
        household_id=device.household.id,
        device_id=device_id,
        kind=kind,
        max_power_w=5000 if kind is DeviceKind.BATTERY else 3680,
        clock=clock,
        mqtt=None,
        report=seen.report,
        availability=seen.available,
    )
    settings = {"host": "127.0.0.1", "port": device.wiring[device_id]["port"], **FAST, **address}
    driver = SunSpecDriver(link, SunSpecAddress(**settings))
    await driver.start()
    try:
        yield driver, seen
    finally:
        await driver.stop()


@asynccontextmanager
async def start(mqtt_url: str, uid: str, clock: Clock) -> AsyncIterator[Running]:
    async with (
        sunspec_device(mqtt_url, uid, clock) as device,
        sunspec_driver(device, clock) as (driver, seen),
    ):

        @asynccontextmanager
        async def device_down() -> AsyncIterator[None]:
            await device.stop()
            try:
                yield
            finally:
                await device.start()

        async def garbage() -> None:
            """The device reports a scale factor no device has, for two polls, then recovers."""
            endpoint = device.endpoint("battery")
            index, _ = endpoint.point(103, "W_SF")
            good = endpoint.image[index]
            endpoint.image[index] = 0x7FFF
            reads = endpoint.reads
            await until(lambda: endpoint.reads >= reads + 2)
            endpoint.image[index] = good

        yield Running(
            driver=driver,
            household=device.household,
            device_id="battery",
            seen=seen,
            device_down=device_down,
            garbage=garbage,
        )


RIG = Rig(
    protocol="sunspec",
    command={"power_w": -2000},
    in_force=lambda h: power(h) == -2000,
    own=lambda h: power(h) is None,
    refused={"power_w": 8000},  # 160 % of WChaMax: the device answers ILLEGAL_VALUE
    read_back=lambda state: state.get("setpoint_w") == -2000,
    start=start,
)
