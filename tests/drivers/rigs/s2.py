"""The S2 driver (homeflex as the CEM) against a simulated S2 resource manager for a battery
(homeflex.sim.protocols.s2): the CEM endpoint on a free loopback port, the RM connecting to it as a
WebSocket client at its household's path with its token, the battery's physics behind it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from homeflex.core.clock import Clock
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DeviceLink
from homeflex.drivers.s2 import S2Address, S2Driver
from homeflex.drivers.s2_cem import Cem, CemSettings
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.weather import LondonWeather
from homeflex.sim.protocols.s2 import S2ResourceManager
from tests.drivers.rigs import Rig, Running, Seen


def power(household: SimHousehold) -> object:
    return household.device("battery").settings.values.get("power_w")


@asynccontextmanager
async def start(mqtt_url: str, uid: str, clock: Clock) -> AsyncIterator[Running]:
    household = SimHousehold(f"s2{uid}", base_load=BaseLoad(seed=4), weather=LondonWeather(seed=4),
                             devices={"battery": Battery(soc=0.5)})  # fmt: skip
    rid = str(uuid.uuid4())
    seen = Seen()
    async with Cem(CemSettings(port=0, response_timeout_s=2.0)) as cem:
        link = DeviceLink(household_id=household.id, device_id="battery", kind=DeviceKind.BATTERY,
                          max_power_w=5000, clock=clock, mqtt=None, services={"s2": cem},
                          report=seen.report, availability=seen.available)  # fmt: skip
        token = f"rig-token-{uid}-0123456789"
        driver = S2Driver(link, S2Address(resource_id=rid, token=token))
        await driver.start()
        wiring = {"battery": {"protocol": "s2", "url": cem.url, "resource_id": rid, "token": token}}
        simulator = HouseholdSimulator(household, clock, mqtt_url, wiring=wiring)
        await simulator.__aenter__()
        try:
            async with asyncio.timeout(10):  # the RM has connected and described itself
                while driver.description is None:
                    await asyncio.sleep(0.02)

            @asynccontextmanager
            async def device_down() -> AsyncIterator[None]:
                endpoint = simulator.devices["battery"]
                await endpoint.__aexit__(None, None, None)
                try:
                    yield
                finally:
                    await endpoint.__aenter__()

            async def garbage() -> None:
                endpoint = simulator.devices["battery"]
                assert isinstance(endpoint, S2ResourceManager)
                await endpoint.send_raw(
                    '{"message_type": "FRBC.StorageStatus", "present_fill_level": "full"}'
                )

            yield Running(driver=driver, household=household, device_id="battery", seen=seen,
                          device_down=device_down, garbage=garbage)  # fmt: skip
        finally:
            await simulator.__aexit__(None, None, None)
            await driver.stop()


RIG = Rig(
    protocol="s2",
    command={"power_w": -2000},
    in_force=lambda h: power(h) == -2000,
    own=lambda h: power(h) is None,
    refused=None,  # the simulated RM accepts every instruction (REJECTED is tested in test_s2.py)
    read_back=lambda state: state.get("setpoint_w") == -2000,
    start=start,
)
