"""One rig shape for the plugs of MQTT products (Shelly, Tasmota, Zigbee2MQTT): the product's driver
against the product's simulator, a SmartPlug behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from homeflex.core.clock import Clock
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DRIVERS, DeviceLink
from homeflex.mqtt import MqttSession
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.smart_plug import SmartPlug
from homeflex.sim.physics.weather import LondonWeather
from tests.drivers.rigs import Rig, Running, Seen

DEVICE = "plug"
FAST = {"ack_timeout_s": 0.3, "attempts": 2}


def switched(household: SimHousehold) -> object:
    return household.device(DEVICE).settings.values.get("on")


def plug_household(hh: str) -> SimHousehold:
    return SimHousehold(
        hh, base_load=BaseLoad(seed=3), weather=LondonWeather(seed=3), devices={DEVICE: SmartPlug(seed=3)}
    )


@asynccontextmanager
async def running_plug(
    protocol: str, mqtt_url: str, hh: str, clock: Clock, address: dict[str, Any], junk: dict[str, bytes]
) -> AsyncIterator[Running]:
    """The driver of ``protocol`` at ``address`` against its simulator in household ``hh``; ``junk``:
    what the garbage lever publishes (topic -> payload)."""
    household = plug_household(hh)
    seen = Seen()
    info = DRIVERS.get(protocol)
    wiring = {DEVICE: {"protocol": protocol, **address}}

    def simulator() -> HouseholdSimulator:
        return HouseholdSimulator(household, clock, mqtt_url, wiring=wiring)

    running = {"sim": simulator()}
    await running["sim"].__aenter__()
    async with MqttSession(mqtt_url, f"ctl-{hh}") as session:
        link = DeviceLink(
            household_id=hh,
            device_id=DEVICE,
            kind=DeviceKind.SMART_PLUG,
            max_power_w=1500,
            clock=clock,
            mqtt=session,
            report=seen.report,
            availability=seen.available,
        )
        driver = info.build(link, info.parse({**address, **FAST}))

        @asynccontextmanager
        async def device_down() -> AsyncIterator[None]:
            await running["sim"].__aexit__(None, None, None)
            try:
                yield
            finally:
                running["sim"] = simulator()
                await running["sim"].__aenter__()

        async def garbage() -> None:
            for topic, payload in junk.items():
                await session.publish(topic, payload)

        await driver.start()
        try:
            yield Running(
                driver=driver,
                household=household,
                device_id=DEVICE,
                seen=seen,
                device_down=device_down,
                garbage=garbage,
            )
        finally:
            await driver.stop()
            await running["sim"].__aexit__(None, None, None)


def plug_rig(
    protocol: str,
    address: Callable[[str], dict[str, Any]],
    junk: Callable[[dict[str, Any]], dict[str, bytes]],
    *,
    refused: dict[str, Any] | None = None,
) -> Rig:
    """``address(uid)``: the device's address, unique per test; ``junk(address)``: garbage to publish."""

    def start(mqtt_url: str, uid: str, clock: Clock) -> Any:
        where = address(uid)
        return running_plug(protocol, mqtt_url, f"drv{uid}", clock, where, junk(where))

    return Rig(
        protocol=protocol,
        command={"on": False},
        in_force=lambda h: switched(h) is False,
        own=lambda h: switched(h) is None,
        refused=refused,
        read_back=lambda state: state.get("on") is False,
        start=start,
    )
