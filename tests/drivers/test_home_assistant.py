"""The Home Assistant driver without Home Assistant (in the default suite): its address checks, the
heat pump's setpoint-and-cap mapping to a thermostat target, the EV charger's W to A, and a hostile
peer on the WebSocket (junk frames, junk states) that is logged and survived. The driver against the
real Home Assistant: tests/homeassistant/test_driver.py and the contract (`pytest -m homeassistant`)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from homeflex.core.clock import ScaledClock
from homeflex.core.domain import DeviceKind
from homeflex.core.strict import ConfigError
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DRIVERS, DeviceLink, DeviceRefused
from homeflex.drivers.home_assistant import HomeAssistantDriver, Number, thermostat_target
from homeflex.household import parse_config
from tests.drivers.rigs import Seen

INFO = DRIVERS.get("home_assistant")
GOOD = {"url": "http://homeassistant.local:8123", "token": "abc.def", "entity_id": "climate.heat_pump"}
START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)


def link(kind: DeviceKind, seen: Seen | None = None, max_power_w: float = 3000) -> DeviceLink:
    seen = seen or Seen()
    return DeviceLink(
        household_id="hh1",
        device_id="dev",
        kind=kind,
        max_power_w=max_power_w,
        clock=ScaledClock(START),
        mqtt=None,
        report=seen.report,
        availability=seen.available,
    )


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"url": "homeassistant.local:8123"}, "url must be"),
        ({"url": "ftp://ha"}, "url must be"),
        ({"token": "two words"}, "token must be one word"),
        ({"token": ""}, "token must be one word"),
        ({"token_env": "HA_TOKEN"}, "give one of token and token_env"),
        ({"token": None}, "give one of token and token_env"),
        ({"entity_id": "heat_pump"}, "entity_id must be an entity id"),
        ({"entity_id": "climate.Heat Pump"}, "entity_id must be an entity id"),
        ({"power_entity_id": "sensor"}, "power_entity_id must be"),
        ({"phases": 2}, "phases must be 1 or 3"),
        ({"volts": 0}, "volts must be a positive number"),
        ({"timeout_s": "5"}, "timeout_s must be a positive number"),
        ({"ip": "10.0.0.2"}, "unknown keys ['ip']"),
    ],
)
def test_a_bad_address_is_refused_with_its_field(change: dict[str, Any], said: str) -> None:
    with pytest.raises(ConfigError) as err:
        INFO.parse({**GOOD, **change}, "devices[0].address")
    assert said in str(err.value) and str(err.value).startswith("devices[0].address")


async def test_a_token_from_an_unset_environment_variable_is_said_and_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HOMEFLEX_TEST_HA_TOKEN", raising=False)
    seen = Seen()
    address = INFO.parse({**GOOD, "token": None, "token_env": "HOMEFLEX_TEST_HA_TOKEN"})
    driver = HomeAssistantDriver(link(DeviceKind.HEAT_PUMP, seen), address)
    await driver.start()
    try:
        [(up, why)] = seen.availability
        assert not up and "HOMEFLEX_TEST_HA_TOKEN (token_env) is not set" in why
        with pytest.raises(DeviceRefused, match="HOMEFLEX_TEST_HA_TOKEN"):
            await driver.send({"setpoint_c": 21.0, "max_power_w": None}, None)
    finally:
        await driver.stop()
    monkeypatch.setenv("HOMEFLEX_TEST_HA_TOKEN", "abc")
    assert address.secret() == "abc"


def test_the_token_is_never_in_the_address_repr() -> None:
    assert "abc.def" not in repr(INFO.parse(GOOD))  # a log line or an error message that shows it


def test_the_websocket_url_keeps_the_scheme_and_a_path_prefix() -> None:
    assert INFO.parse(GOOD).ws_url == "ws://homeassistant.local:8123/api/websocket"
    behind = INFO.parse({**GOOD, "url": "https://example.org/ha/"})
    assert behind.ws_url == "wss://example.org/ha/api/websocket"


def test_an_entity_of_the_wrong_domain_for_the_kind_is_refused_at_build() -> None:
    with pytest.raises(ValueError, match="a heat_pump is driven through a climate or water_heater entity"):
        INFO.build(link(DeviceKind.HEAT_PUMP), INFO.parse({**GOOD, "entity_id": "switch.heat_pump"}))
    with pytest.raises(ValueError, match="a smart_plug is driven through a switch entity"):
        INFO.build(link(DeviceKind.SMART_PLUG), INFO.parse(GOOD))


def test_the_household_configuration_says_an_entity_that_cannot_drive_the_device() -> None:
    """At the address's field, when the configuration is read, not when the agent builds the driver."""
    pump = {"id": "hp", "kind": "heat_pump", "max_power_w": 3000, "protocol": "home_assistant"}
    config = parse_config({"household_id": "hh001", "devices": [{**pump, "address": GOOD}]})
    assert config.devices[0].address.entity_id == "climate.heat_pump"
    wrong = {**pump, "address": {**GOOD, "entity_id": "sensor.heat_pump_power"}}
    with pytest.raises(ConfigError) as err:
        parse_config({"household_id": "hh001", "devices": [wrong]})
    assert err.value.field == "devices[0].address"
    assert "a heat_pump is driven through a climate or water_heater entity" in err.value.message


@pytest.mark.parametrize(
    ("setpoint", "cap", "indoor", "step", "target"),
    [
        (22.0, None, 19.5, 0.5, 22.0),  # no cap: the setpoint
        (22.0, 3000, 19.5, 0.5, 22.0),  # a cap at the rating: the setpoint
        (22.0, 1500, 19.5, 0.5, 20.5),  # half the rating: half way from indoor (20.75), down to the step
        (22.0, 0, 19.5, 0.5, 19.5),  # no power: hold the indoor temperature
        (19.0, 0, 20.3, 0.5, 19.0),  # warmer than the setpoint (the floor with a 0 cap): the setpoint
        (22.0, 1500, None, 0.5, 22.0),  # indoor unknown: the setpoint
        (21.37, None, 19.5, 0.0, 21.37),  # no step: as asked
        (21.37, None, 19.5, 0.1, 21.3),
    ],
)
def test_a_heat_pump_setpoint_and_cap_become_a_thermostat_target(
    setpoint: float, cap: float | None, indoor: float | None, step: float, target: float
) -> None:
    assert thermostat_target(setpoint, cap, 3000, indoor, step) == target


def test_an_ev_charger_power_becomes_a_current_on_its_steps() -> None:
    address = INFO.parse({**GOOD, "entity_id": "number.wallbox_current", "phases": 3})
    number = Number(link(DeviceKind.EV_CHARGER), address)
    state = {"state": "16", "attributes": {"min": 6, "max": 32, "step": 1, "unit_of_measurement": "A"}}
    assert number.wanted({"max_power_w": 11040}, state, None) == 16  # 11040 / 230 / 3
    assert number.wanted({"max_power_w": 11000}, state, None) == 15  # a cap rounds down
    assert number.report(16.0, state) == {"max_power_w": 11040.0}
    with pytest.raises(DeviceRefused, match="under the charger's minimum"):
        number.wanted({"max_power_w": 3000}, state, None)  # 4.3 A
    with pytest.raises(DeviceRefused, match="needs W, kW or A"):
        number.wanted({"max_power_w": 3000}, {"state": "1", "attributes": {"unit_of_measurement": "%"}}, None)


def test_a_battery_or_pv_power_goes_to_a_number_in_w_or_kw() -> None:
    battery = Number(link(DeviceKind.BATTERY), INFO.parse({**GOOD, "entity_id": "number.battery_power"}))
    in_kw = {"state": "0", "attributes": {"min": -5, "max": 5, "step": 0.1, "unit_of_measurement": "kW"}}
    assert battery.wanted({"power_w": -2040}, in_kw, None) == -2.0  # a power to the nearest step
    assert battery.report(-2.0, in_kw) == {"power_w": -2000.0}
    pv = Number(link(DeviceKind.PV), INFO.parse({**GOOD, "entity_id": "number.export_limit"}))
    in_w = {"state": "0", "attributes": {"min": 0, "max": 5000, "step": 10, "unit_of_measurement": "W"}}
    assert pv.wanted({"export_limit_w": 1234}, in_w, None) == 1230
    assert pv.wanted({"export_limit_w": None}, in_w, 5000.0) == 5000.0  # None: the value from before
    with pytest.raises(DeviceRefused, match="needs W or kW"):
        pv.wanted({"export_limit_w": 1000}, {"state": "1", "attributes": {"unit_of_measurement": "A"}}, None)


# -- a hostile peer ----------------------------------------------------------------------------------------
Script = Callable[[web.WebSocketResponse], Any]


async def hostile(ws: web.WebSocketResponse) -> None:
    """Says auth_ok, answers with junk around the right answers, then sends junk events."""
    await ws.send_str(json.dumps({"type": "auth_required"}))
    await ws.receive()
    await ws.send_str(json.dumps({"type": "auth_ok"}))
    async for message in ws:
        if message.type is not WSMsgType.TEXT:
            break
        body = json.loads(message.data)
        await ws.send_str("\xff{not json")
        await ws.send_bytes(b"\x00\x01")
        await ws.send_str("[1, 2]")
        if body["type"] == "get_states":
            state = {"entity_id": "climate.heat_pump", "state": "heat", "attributes": {"temperature": 20}}
            await ws.send_str(
                json.dumps({"id": body["id"], "type": "result", "success": True, "result": [state]})
            )
            for junk in (
                {"type": "event", "event": "nonsense"},
                {"type": "event", "event": {"data": {"entity_id": "climate.heat_pump", "new_state": 7}}},
                {"type": "event", "event": {"data": {"entity_id": "climate.heat_pump",
                                                     "new_state": {"state": "heat", "attributes": []}}}},
                {"type": "what", "id": "x"},
                {"type": "result", "id": 999, "success": True},
            ):  # fmt: skip
                await ws.send_str(json.dumps(junk))
            good = {**state, "attributes": {"temperature": 21.5, "current_temperature": 19.0}}
            event = {"data": {"entity_id": "climate.heat_pump", "new_state": good}}
            await ws.send_str(json.dumps({"id": 1, "type": "event", "event": event}))
        else:
            await ws.send_str(
                json.dumps({"id": body["id"], "type": "result", "success": True, "result": None})
            )


@asynccontextmanager
async def ws_peer(script: Script, max_msg_size: int = 4 << 20) -> AsyncIterator[str]:
    """A WebSocket peer on loopback at /api/websocket running `script` per connection; its URL."""

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=max_msg_size)
        await ws.prepare(request)
        await script(ws)
        return ws

    app = web.Application()
    app.router.add_get("/api/websocket", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def peer() -> AsyncIterator[str]:
    async with ws_peer(hostile) as url:
        yield url


async def test_junk_from_the_peer_is_logged_and_survived(peer: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    seen = Seen()
    address = INFO.parse({**GOOD, "url": peer, "timeout_s": 2.0, "retry_max_s": 0.5})
    driver = HomeAssistantDriver(link(DeviceKind.HEAT_PUMP, seen), address)
    await driver.start()
    try:
        async with asyncio.timeout(10):
            while not any(s.get("setpoint_c") == 21.5 for s in seen.states):
                await asyncio.sleep(0.05)
        assert seen.states[-1] == {"setpoint_c": 21.5, "indoor_c": 19.0}
        said = [r.getMessage() for r in caplog.records]
        for junk in ("unreadable message", "unreadable frame", "unreadable event", "unreadable state"):
            assert any(junk in line for line in said), (junk, said)
        assert seen.availability == [(True, "Home Assistant answers")]  # junk is no loss
        assert await driver.send({"setpoint_c": 22.0, "max_power_w": None}, None) == 1
    finally:
        await driver.stop()
