"""The homeflex dialect's driver against the homeflex device simulator (a battery)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from homeflex.core import topics
from homeflex.core.clock import Clock
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DeviceLink
from homeflex.drivers.homeflex_mqtt import HomeflexAddress, HomeflexDriver
from homeflex.mqtt import MqttSession
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.weather import LondonWeather
from tests.drivers.rigs import Rig, Running, Seen


def _power(household: SimHousehold) -> object:
    return household.device("battery").settings.values.get("power_w")


@asynccontextmanager
async def start(mqtt_url: str, uid: str, clock: Clock) -> AsyncIterator[Running]:
    hh = f"drv{uid}"
    household = SimHousehold(
        hh, base_load=BaseLoad(seed=3), weather=LondonWeather(seed=3), devices={"battery": Battery(soc=0.5)}
    )
    seen = Seen()
    simulator = HouseholdSimulator(household, clock, mqtt_url)
    await simulator.__aenter__()
    running = {"sim": simulator}
    async with MqttSession(mqtt_url, f"ctl-{hh}") as session:
        link = DeviceLink(
            household_id=hh,
            device_id="battery",
            kind=DeviceKind.BATTERY,
            max_power_w=5000,
            clock=clock,
            mqtt=session,
            report=seen.report,
            availability=seen.available,
        )
        driver = HomeflexDriver(link, HomeflexAddress(ack_timeout_s=0.3, attempts=2))

        @asynccontextmanager
        async def device_down() -> AsyncIterator[None]:
            await running["sim"].__aexit__(None, None, None)
            try:
                yield
            finally:
                running["sim"] = HouseholdSimulator(household, clock, mqtt_url)
                await running["sim"].__aenter__()

        async def garbage() -> None:
            await session.publish(topics.state(hh, "battery"), b"\xff{not json", retain=False)
            await session.publish(topics.ack(hh, "battery"), b'{"id": ', retain=False)

        await driver.start()
        try:
            yield Running(
                driver=driver,
                household=household,
                device_id="battery",
                seen=seen,
                device_down=device_down,
                garbage=garbage,
            )
        finally:
            await driver.stop()
            await running["sim"].__aexit__(None, None, None)


RIG = Rig(
    protocol="homeflex",
    command={"power_w": -2000},
    in_force=lambda h: _power(h) == -2000,
    own=lambda h: _power(h) is None,
    refused={"power_w": "lots"},
    read_back=lambda state: (state.get("settings") or {}).get("power_w") == -2000,
    start=start,
)
