"""On the platform's broker, where a household's credentials reach only ``homeflex/v1/<household>/``
(homeflex.mqtt.access), the products' topics are set under that subtree (a Shelly's topic prefix, a
Tasmota FullTopic, Zigbee2MQTT's base topic) and the Shelly driver's replies come there by default:
the household agent commands each plug, and the Pro 3EM's readings reach telemetry."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from homeflex.control.loop import HouseholdController
from homeflex.core import topics
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DRIVERS
from homeflex.household import DeviceConfig, HouseholdConfig, MeterConfig
from homeflex.mqtt import MqttSession
from homeflex.mqtt.access import TELEMETRY
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.smart_plug import SmartPlug
from homeflex.sim.physics.weather import LondonWeather
from tests.mqtt.test_access import Broker, broker  # noqa: F401 (the fixture: mosquitto with the ACL)

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)
HH = "hh001"
TREE = f"{topics.PREFIX}/{HH}"
ADDRESSES = {  # device ids are login parts of the household's account (homeflex.mqtt.access)
    "plug1": ("shelly", {"topic_prefix": f"{TREE}/shellyplusplugs-a8032ab12345"}),
    "plug2": ("tasmota", {"topic": "pow1", "full_topic": f"{TREE}/%prefix%/%topic%/"}),
    "plug3": ("zigbee2mqtt", {"friendly_name": "kitchen", "base_topic": f"{TREE}/zigbee2mqtt"}),
    "meter": ("shelly_pro3em", {"topic_prefix": f"{TREE}/shellypro3em-a8032ab12345"}),
}


def config() -> HouseholdConfig:
    def device(name: str) -> DeviceConfig:
        protocol, address = ADDRESSES[name]
        info = DRIVERS.get(protocol)
        return DeviceConfig(
            id=name,
            kind=DeviceKind.SMART_PLUG,
            max_power_w=2000,
            protocol=protocol,
            address=info.parse(address),
        )

    meter = DRIVERS.get("shelly_pro3em").parse(ADDRESSES["meter"][1])
    return HouseholdConfig(
        household_id=HH,
        devices=tuple(device(n) for n in ("plug1", "plug2", "plug3")),
        meter=MeterConfig(protocol="shelly_pro3em", address=meter),
    )


async def test_product_topics_under_the_household_subtree(broker: Broker) -> None:  # noqa: F811
    clock = ScaledClock(START, 60.0)
    plugs = {n: SmartPlug(seed=i) for i, n in enumerate(("plug1", "plug2", "plug3"))}
    household = SimHousehold(HH, base_load=BaseLoad(seed=1), weather=LondonWeather(seed=1), devices=plugs)
    wiring = {name: {"protocol": protocol, **address} for name, (protocol, address) in ADDRESSES.items()}
    url = broker.as_user(HH)
    readings: list[bytes] = []
    async with MqttSession(broker.as_user(TELEMETRY), "telemetry") as telemetry:
        telemetry.subscribe(topics.READINGS_FILTER, lambda _t, p: readings.append(p))
        await asyncio.sleep(0.2)
        async with (
            HouseholdSimulator(household, clock, url, wiring=wiring, meter_interval_s=30),
            HouseholdController(config(), clock, url) as agent,
        ):
            for name, driver in agent.drivers.items():
                assert await driver.send({"on": False}, clock.now() + timedelta(minutes=15)) >= 1, name
            async with asyncio.timeout(10):
                while len(readings) < 2:
                    await asyncio.sleep(0.05)
    assert all(household.device(n).settings.values["on"] is False for n in plugs)
    assert "power_w" in agent.states[topics.METER]
