"""The OCPP driver, through homeflex's central system on a free loopback port, against the simulated
charger that is an OCPP 1.6J charge point (homeflex.sim.protocols.ocpp), with a car always plugged in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from homeflex.core.clock import Clock
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DeviceLink
from homeflex.drivers.ocpp import OcppAddress, OcppDriver
from homeflex.drivers.ocpp_central import CentralSettings, CentralSystem
from homeflex.mqtt import MqttSession
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.ev import EvCharger, Session
from homeflex.sim.physics.weather import LondonWeather
from homeflex.sim.protocols.ocpp import OcppCharger
from tests.drivers.rigs import Rig, Running, Seen

PASSWORD = "correct horse"


def plugged_in(now: datetime) -> Session:
    """A car that is always there."""
    return Session(
        arrival=datetime(2000, 1, 1).astimezone(now.tzinfo),
        departure=now + timedelta(days=1),
        arrival_soc=0.3,
    )


def ev_household(household_id: str) -> SimHousehold:
    return SimHousehold(
        household_id,
        base_load=BaseLoad(seed=5),
        weather=LondonWeather(seed=5),
        devices={"ev": EvCharger(sessions=plugged_in)},
    )


def limit(household: SimHousehold) -> object:
    return household.device("ev").settings.values.get("max_power_w")


async def until(predicate: Callable[[], object], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@dataclass
class Charger:
    """A simulated household whose EV charger dials the central system; ``restart`` is a reboot."""

    household: SimHousehold
    clock: Clock
    mqtt_url: str
    wiring: dict[str, Any]
    simulator: HouseholdSimulator | None = None
    history: list[HouseholdSimulator] = field(default_factory=list)

    @property
    def endpoint(self) -> OcppCharger:
        assert self.simulator is not None
        charger = self.simulator.devices["ev"]
        assert isinstance(charger, OcppCharger)
        return charger

    async def start(self) -> OcppCharger:
        self.simulator = HouseholdSimulator(
            self.household, self.clock, self.mqtt_url, wiring={"ev": self.wiring}
        )
        await self.simulator.__aenter__()
        return self.endpoint

    async def stop(self) -> None:
        if self.simulator is not None:
            await self.simulator.__aexit__(None, None, None)
            self.simulator = None


def base_profile_set(charger: OcppCharger) -> bool:
    return any(p.stack_level == 0 for p in charger.stack.profiles)


@asynccontextmanager
async def central_and_driver(
    mqtt_url: str, uid: str, clock: Clock, settings: CentralSettings | None = None, **address: Any
) -> AsyncIterator[tuple[CentralSystem, OcppDriver, Seen, dict[str, Any]]]:
    """A central system on a free port and a started driver for charger ``cp-<uid>``; the wiring a
    simulated charger needs to dial in."""
    seen = Seen()
    cp_id = f"cp-{uid}"
    async with (
        CentralSystem(settings or CentralSettings(port=0, response_timeout_s=2.0), clock) as central,
        MqttSession(mqtt_url, f"ctl-ocpp{uid}") as session,
    ):
        link = DeviceLink(
            household_id=f"ocpp{uid}",
            device_id="ev",
            kind=DeviceKind.EV_CHARGER,
            max_power_w=7400,
            clock=clock,
            mqtt=session,
            services={"ocpp": central},
            report=seen.report,
            availability=seen.available,
        )
        driver = OcppDriver(link, OcppAddress(charge_point_id=cp_id, password=PASSWORD, **address))
        await driver.start()
        wiring = {"protocol": "ocpp", "url": central.url, "charge_point_id": cp_id, "password": PASSWORD}
        try:
            yield central, driver, seen, wiring
        finally:
            await driver.stop()


@asynccontextmanager
async def start(mqtt_url: str, uid: str, clock: Clock) -> AsyncIterator[Running]:
    async with central_and_driver(mqtt_url, uid, clock) as (_central, driver, seen, wiring):
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, wiring)
        endpoint = await charger.start()
        await until(lambda: base_profile_set(endpoint))  # set up after its boot

        @asynccontextmanager
        async def device_down() -> AsyncIterator[None]:
            await charger.stop()
            try:
                yield
            finally:
                await charger.start()
                await until(lambda: base_profile_set(charger.endpoint))

        async def garbage() -> None:
            await charger.endpoint.send_raw("\xff{not json")
            bad = {
                "connectorId": 1,
                "meterValue": [
                    {
                        "timestamp": "2026-12-02T18:00:00Z",
                        "sampledValue": [{"value": "lots", "measurand": "Power.Active.Import", "unit": "W"}],
                    }
                ],
            }
            await charger.endpoint.send_raw(f'[2, "junk-1", "MeterValues", {json.dumps(bad)}]')

        try:
            yield Running(
                driver=driver,
                household=charger.household,
                device_id="ev",
                seen=seen,
                device_down=device_down,
                garbage=garbage,
            )
        finally:
            await charger.stop()


RIG = Rig(
    protocol="ocpp",
    command={"max_power_w": 3000},
    in_force=lambda h: limit(h) == 3000,
    own=lambda h: limit(h) is None,
    refused={"max_power_w": "lots"},
    read_back=lambda state: state.get("limit_w") == 3000,
    start=start,
)
