"""The simulated products on the real broker, driven by hand as their documentation says (no homeflex
driver in the way): a Shelly plug's toggle_after flips it back, a Shelly RPC with a bad argument is an
error frame, Tasmota's PulseTime turns the relay off after an ON, a Zigbee2MQTT plug's on_time does the
same, and a Pro 3EM answers EM.GetStatus with the household's whole power."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from homeflex.core.clock import ScaledClock
from homeflex.core.timeutil import LONDON
from homeflex.mqtt import MqttSession
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from tests.drivers.rigs.plugs import plug_household, switched

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)


async def until(predicate: Callable[[], object], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@asynccontextmanager
async def product(
    mqtt_url: str, uid: str, wiring: dict[str, Any], listen: list[str]
) -> AsyncIterator[tuple[SimHousehold, MqttSession, list[tuple[str, Any]]]]:
    """The household's plug (and meter) wired as ``wiring`` says, on a clock at 60x; a client session
    that records what arrives on ``listen``."""
    clock = ScaledClock(START, 60.0)
    household = plug_household(f"prod{uid}")
    heard: list[tuple[str, Any]] = []

    def record(topic: str, payload: bytes) -> None:
        try:
            heard.append((topic, json.loads(payload)))
        except ValueError:
            heard.append((topic, payload.decode()))

    async with MqttSession(mqtt_url, f"client-{uid}") as client:
        for topic in listen:
            client.subscribe(topic, record)
        await asyncio.sleep(0.2)
        async with HouseholdSimulator(household, clock, mqtt_url, wiring=wiring, state_interval_s=3600):
            yield household, client, heard


def switch_changes(heard: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [
        p["params"]["switch:0"]
        for t, p in heard
        if t.endswith("/events/rpc") and "output" in p["params"].get("switch:0", {})
    ]


def reply(heard: list[tuple[str, Any]], request_id: int) -> dict[str, Any]:
    """The reply frame to ``request_id`` ({} until it comes)."""
    return next((p for _, p in heard if isinstance(p, dict) and p.get("id") == request_id), {})


async def test_shelly_toggle_after_flips_the_plug_back(mqtt_url: str, uid: str) -> None:
    prefix, me = f"shellyplusplugs-{uid}", f"me-{uid}"
    wiring = {"plug": {"protocol": "shelly", "topic_prefix": prefix}}
    async with product(mqtt_url, uid, wiring, [f"{me}/rpc", f"{prefix}/events/rpc"]) as (hh, client, heard):
        params = {"id": 0, "on": False, "toggle_after": 60}
        await client.publish(f"{prefix}/rpc", {"id": 7, "src": me, "method": "Switch.Set", "params": params})
        await until(lambda: reply(heard, 7))
        assert reply(heard, 7) == {"id": 7, "src": prefix, "dst": me, "result": {"was_on": True}}
        assert switched(hh) is False
        await until(lambda: switched(hh) is None)  # a simulated minute later: on again, by itself
        await until(lambda: any(c["output"] and c["source"] == "timer" for c in switch_changes(heard)))
        assert switch_changes(heard)[0]["output"] is False
        bad = {"id": 8, "src": me, "method": "Switch.Set", "params": {"id": 0, "on": "yes"}}
        await client.publish(f"{prefix}/rpc", bad)
        await until(lambda: reply(heard, 8))
    assert reply(heard, 8)["error"]["code"] == -103
    assert switched(hh) is None


async def test_shelly_pro3em_meters_the_household(mqtt_url: str, uid: str) -> None:
    prefix, me = f"shellypro3em-{uid}", f"me-{uid}"
    wiring = {"meter": {"protocol": "shelly_pro3em", "topic_prefix": prefix}}
    async with product(mqtt_url, uid, wiring, [f"{me}/rpc"]) as (hh, client, heard):
        await client.publish(
            f"{prefix}/rpc", {"id": 1, "src": me, "method": "EM.GetStatus", "params": {"id": 0}}
        )
        await until(lambda: reply(heard, 1))
        await client.publish(
            f"{prefix}/rpc", {"id": 2, "src": me, "method": "EM.GetStatus", "params": {"id": 3}}
        )
        await until(lambda: reply(heard, 2))
    em = reply(heard, 1)["result"]
    assert em["total_act_power"] == em["a_act_power"] and em["id"] == 0
    assert abs(em["total_act_power"] - hh.power_w) < 2000  # the household's net power at that moment
    assert reply(heard, 2)["error"]["code"] == -105


async def test_tasmota_pulsetime_turns_the_relay_off_after_on(mqtt_url: str, uid: str) -> None:
    t = f"pow-{uid}"
    wiring = {"plug": {"protocol": "tasmota", "topic": t}}
    async with product(mqtt_url, uid, wiring, [f"stat/{t}/POWER", f"tele/{t}/LWT"]) as (hh, client, heard):
        await until(lambda: (f"tele/{t}/LWT", "Online") in heard)
        await client.publish(f"cmnd/{t}/PULSETIME", b"130")  # 130 - 100 = 30 s
        await client.publish(f"cmnd/{t}/POWER", b"ON")
        await until(lambda: (f"stat/{t}/POWER", "ON") in heard)
        await until(lambda: (f"stat/{t}/POWER", "OFF") in heard)  # half a simulated minute later
    assert switched(hh) is False
    assert heard[-1] == (f"tele/{t}/LWT", "Offline")  # said on a clean exit, as the will would


async def test_zigbee2mqtt_on_time_turns_the_plug_off(mqtt_url: str, uid: str) -> None:
    base = f"zigbee2mqtt/plug-{uid}"
    wiring = {"plug": {"protocol": "zigbee2mqtt", "friendly_name": f"plug-{uid}"}}
    async with product(mqtt_url, uid, wiring, [base, f"{base}/availability"]) as (hh, client, heard):
        await until(lambda: (f"{base}/availability", {"state": "online"}) in heard)
        await client.publish(f"{base}/set", {"state": "ON", "on_time": 30})
        await until(lambda: any(t == base and p["state"] == "OFF" for t, p in heard))
        await client.publish(f"{base}/set", b"not json")  # logged by the bridge, nothing changes
        await client.publish(f"{base}/get", {"state": ""})
        states = [p for t, p in heard if t == base]
        await until(lambda: len([p for t, p in heard if t == base]) > len(states))
    assert switched(hh) is False
    assert {"state", "power", "energy", "voltage", "current", "linkquality"} <= set(states[-1])
