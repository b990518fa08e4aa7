"""The Home Assistant driver against a real Home Assistant (tests/homeassistant/harness.py): a heat
pump's thermostat, ``climate.heat_pump``, reached through a relay that a test can cut. Its cases carry
the ``homeassistant`` marker: outside the default suite (`pytest -m homeassistant`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from homeflex.core.clock import Clock
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DRIVERS, DeviceLink
from tests.drivers.rigs import Rig, Running, Seen
from tests.homeassistant.harness import ENTITIES, HomeAssistant, shared
from tests.homeassistant.proxy import Relay

THERMOSTAT = ENTITIES["thermostat"]
OWN_C = 20.0  # the thermostat's own target, before homeflex
FAST = {"timeout_s": 2.0, "retry_max_s": 0.5}


class Mirror:
    """Home Assistant's side, as the contract reads it: the thermostat's target, polled over REST."""

    def __init__(self, ha: HomeAssistant) -> None:
        self.ha = ha
        self.target: object = None

    async def follow(self) -> None:
        headers = {"Authorization": f"Bearer {self.ha.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            while True:
                async with http.get(f"{self.ha.url}/api/states/{THERMOSTAT}") as answer:
                    self.target = (await answer.json())["attributes"].get("temperature")
                await asyncio.sleep(0.05)


async def reset(ha: HomeAssistant) -> None:
    """The thermostat back to its own target, OWN_C (a test before may have left it elsewhere)."""
    await asyncio.to_thread(ha.reset)


def link(hh: str, clock: Clock, seen: Seen) -> DeviceLink:
    return DeviceLink(
        household_id=hh,
        device_id="heat_pump",
        kind=DeviceKind.HEAT_PUMP,
        max_power_w=3000,
        clock=clock,
        mqtt=None,
        report=seen.report,
        availability=seen.available,
    )


@asynccontextmanager
async def start(_mqtt_url: str, uid: str, clock: Clock) -> AsyncIterator[Running]:
    ha = await asyncio.to_thread(shared)
    await reset(ha)
    relay = Relay(ha.port)
    await relay.open()
    mirror = Mirror(ha)
    follower = asyncio.get_running_loop().create_task(mirror.follow())
    seen = Seen()
    info = DRIVERS.get("home_assistant")
    address = {"url": f"http://127.0.0.1:{relay.port}", "token": ha.token, "entity_id": THERMOSTAT,
               "power_entity_id": ENTITIES["heat_pump_power"], **FAST}  # fmt: skip
    driver = info.build(link(f"ha{uid}", clock, seen), info.parse(address))

    @asynccontextmanager
    async def device_down() -> AsyncIterator[None]:
        await relay.cut()
        try:
            yield
        finally:
            await relay.open()

    async def garbage() -> None:
        """Someone writes junk into the thermostat's state through the REST API (any client may)."""
        await asyncio.to_thread(ha.set_state, THERMOSTAT, "banana", {"temperature": "hot"})

    await driver.start()
    try:
        yield Running(
            driver=driver,
            household=mirror,  # type: ignore[arg-type]
            device_id="heat_pump",
            seen=seen,
            device_down=device_down,
            garbage=garbage,
        )
    finally:
        await driver.stop()
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await relay.cut()
        await reset(ha)


def _target(mirror: Any) -> object:
    return mirror.target


RIG = Rig(
    protocol="home_assistant",
    command={"setpoint_c": 23.0, "max_power_w": None},
    in_force=lambda m: _target(m) == 23.0,
    own=lambda m: _target(m) == OWN_C,
    refused={"setpoint_c": 45.0, "max_power_w": None},  # over max_temp: Home Assistant says no
    read_back=lambda state: state.get("setpoint_c") == 23.0,
    start=start,
    marks=(pytest.mark.homeassistant,),
)
