"""The Home Assistant driver against a hostile or broken peer on Home Assistant's WebSocket API (an
aiohttp server speaking the API's JSON): JSON nested deeper than Python's recursion limit, states whose
attributes are not objects, entity ids and units that are not strings, numbers that overflow once in W,
an answer whose id is `true`. Each is logged and skipped: the connection is not dropped (no reconnect,
no traceback) and nothing but a finite number reaches the household agent."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from homeflex.core.clock import ScaledClock
from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DRIVERS, DeviceLink
from homeflex.drivers.home_assistant import HomeAssistantDriver
from tests.drivers.rigs import Seen
from tests.drivers.test_home_assistant import ws_peer

INFO = DRIVERS.get("home_assistant")
START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)
BATTERY, POWER = "number.battery_power", "sensor.battery_meter"
DEEP = 100_000


def state(entity: str, value: object, attributes: object) -> dict[str, Any]:
    return {"entity_id": entity, "state": value, "attributes": attributes}


def event(new_state: object, entity: str = BATTERY) -> str:
    return json.dumps(
        {"id": 1, "type": "event", "event": {"data": {"entity_id": entity, "new_state": new_state}}}
    )


JUNK: tuple[str, ...] = (
    "[" * DEEP + "]" * DEEP,
    '{"a":' * DEEP + "1" + "}" * DEEP,
    event(state(BATTERY, "1000", ["not", "an", "object"])),
    event(state(BATTERY, "1000", "W")),
    event(state(POWER, "5", ["kW"]), POWER),
    event(state(POWER, "5", {"unit_of_measurement": ["kW"]}), POWER),
    event(state(POWER, "1.7e308", {"unit_of_measurement": "kW"}), POWER),  # inf once in W
    json.dumps({"id": True, "type": "result", "success": True, "result": None}),
)
LAST = event(state(POWER, "0.25", {"unit_of_measurement": "kW"}), POWER)


async def peer_session(ws: web.WebSocketResponse, connections: list[int]) -> None:
    connections.append(1)
    await ws.send_str(json.dumps({"type": "auth_required"}))
    await ws.receive()
    await ws.send_str(json.dumps({"type": "auth_ok"}))
    async for message in ws:
        if message.type is not WSMsgType.TEXT:
            break
        body = json.loads(message.data)
        result: object = None
        if body["type"] == "get_states":
            result = [
                {"entity_id": ["a", "list"], "state": "x"},  # not an entity id: skipped
                state(BATTERY, "500", {"unit_of_measurement": "W"}),
                state(POWER, "100", {"unit_of_measurement": "W"}),
            ]
        await ws.send_str(json.dumps({"id": body["id"], "type": "result", "success": True, "result": result}))
        if body["type"] == "get_states":
            for junk in (*JUNK, LAST):
                await ws.send_str(junk)


@pytest.fixture
async def peer() -> AsyncIterator[tuple[str, list[int]]]:
    connections: list[int] = []
    async with ws_peer(lambda ws: peer_session(ws, connections), max_msg_size=8 << 20) as url:
        yield url, connections


async def test_hostile_states_are_skipped_and_the_connection_stays(
    peer: tuple[str, list[int]], caplog: pytest.LogCaptureFixture
) -> None:
    url, connections = peer
    caplog.set_level(logging.WARNING)
    seen = Seen()
    link = DeviceLink(household_id="hh1", device_id="battery", kind=DeviceKind.BATTERY, max_power_w=3000,
                      clock=ScaledClock(START), mqtt=None, report=seen.report,
                      availability=seen.available)  # fmt: skip
    address = INFO.parse({"url": url, "token": "abc.def", "entity_id": BATTERY, "power_entity_id": POWER,
                          "timeout_s": 2.0, "retry_max_s": 0.2})  # fmt: skip
    driver = HomeAssistantDriver(link, address)
    await driver.start()
    try:
        async with asyncio.timeout(10):
            while not any(s.get("power_w") == 250.0 for s in seen.states):
                await asyncio.sleep(0.02)
        assert connections == [1]  # never dropped and reconnected
        assert seen.availability == [(True, "Home Assistant answers")]
        assert not [r for r in caplog.records if r.exc_info], "a traceback"
        numbers = [v for s in seen.states for v in s.values() if isinstance(v, float)]
        assert all(math.isfinite(v) for v in numbers), seen.states
        assert seen.states[-1]["power_w"] == 250.0
        assert await driver.send({"power_w": 1000}, None) == 1
    finally:
        await driver.stop()
