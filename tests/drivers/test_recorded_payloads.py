"""The MQTT drivers against payloads that the products' own documentation (or a capture of the product)
records, not ones this project wrote: each payload is published on the product's topic over the real
broker, as the device would, and the driver must read what it says; the commands the driver publishes
must have exactly the documented shape.

Sources (the payloads below are copied from them):
- [AIOSHELLY-PLUG] home-assistant-libs/aioshelly fixtures/gen2_Shelly Plus Plug S_SNPL-00112EU_
  20231219-134003-1.1.0-g34b5d4f.json ("status", a GetStatus of a real plug)
- [AIOSHELLY-3EM] home-assistant-libs/aioshelly fixtures/gen2_Shelly Pro 3EM_SPEM-003CEBEU_
  20231219-134001-1.1.0-g34b5d4f.json ("status")
- [SHELLY-NOTIF] shelly-api-docs.shelly.cloud gen2/General/Notifications: NotifyStatus = {"src","dst",
  "method":"NotifyStatus","params":{"ts", "<component>": changed keys}}; the switch:0 capture below is a
  Shelly 1PM Gen4's NotifyStatus over MQTT from the EDDIE project's aiida tests (ShellyPlugGen3JsonTest)
- [SHELLY-RPC] shelly-api-docs gen2 Switch (Switch.Set: id, on, toggle_after "flip-back timer in
  seconds"; result {"was_on"}), RPC protocol (error frame {"code","message"}), Mqtt (<prefix>/rpc,
  replies on <src>/rpc, <prefix>/online true|false); the request as sent over MQTT in
  tj-smith47/shelly-go transport/mqtt.go and ioBroker.shelly #1594
- [TASMOTA-POW] tasmota/docs docs/devices/Sonoff-Pow-R2.md (tele/pow1/SENSOR, stat/pow1/STATUS8)
- [TASMOTA-MQTT] tasmota/docs docs/MQTT.md, Commands.md (cmnd/<t>/POWER OFF -> stat/<t>/RESULT
  {"POWER":"OFF"}, tele/<t>/LWT Online|Offline)
- [Z2M-TOPICS] Koenkk/zigbee2mqtt.io docs/guide/usage/mqtt_topics_and_messages.md (/set, /get,
  availability); [Z2M-TS011F] docs/devices/TS011F_plug_1.md (state ON|OFF, power W, energy kWh,
  voltage V, current A, power_outage_memory, linkquality); [Z2M-2.0] Koenkk/zigbee2mqtt #24200
  (availability payload {"state":"online"} since 2.0)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from homeflex.core import topics
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DRIVERS, DeviceLink, DeviceRefused, Driver
from homeflex.mqtt import MqttSession
from tests.drivers.rigs import Seen

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)

# [AIOSHELLY-PLUG] status.switch:0
PLUG_S_SWITCH = {
    "aenergy": {"by_minute": [34.786, 45.552, 45.552], "minute_ts": 1707326925, "total": 7258.589},
    "apower": 2.7,
    "current": 0.121,
    "id": 0,
    "output": True,
    "source": "init",
    "temperature": {"tC": 32.1, "tF": 89.7},
    "voltage": 227.9,
}
# [AIOSHELLY-3EM] status.em:0 and status.emdata:0
PRO_3EM_STATUS = {
    "em:0": {
        "a_act_power": 375.5, "a_aprt_power": 547.4, "a_current": 2.392, "a_freq": 50.0, "a_pf": 0.76,
        "a_voltage": 229.0, "b_act_power": 170.8, "b_aprt_power": 237.2, "b_current": 1.037, "b_freq": 50.0,
        "b_pf": 0.78, "b_voltage": 229.0, "c_act_power": 12.7, "c_aprt_power": 97.8, "c_current": 0.428,
        "c_freq": 50.0, "c_pf": 0.53, "c_voltage": 229.2, "id": 0, "n_current": None,
        "total_act_power": 558.965, "total_aprt_power": 882.413, "total_current": 3.856,
        "user_calibrated_phase": [],
    },
    "emdata:0": {
        "a_total_act_energy": 2034616.71, "a_total_act_ret_energy": 0.0, "b_total_act_energy": 185686.89,
        "b_total_act_ret_energy": 40.7, "c_total_act_energy": 369469.8, "c_total_act_ret_energy": 985.91,
        "id": 0, "total_act": 2589773.39, "total_act_ret": 1026.61,
    },
}  # fmt: skip
# [SHELLY-NOTIF] a switch's NotifyStatus as captured
NOTIFY_SWITCH = {
    "src": "shelly1pmg4-8813bfe14804",
    "dst": "aiida/17a019b1-253b-40de-8800-d577e4e96181/events",
    "method": "NotifyStatus",
    "params": {
        "ts": 1757591520.01,
        "switch:0": {
            "aenergy": {"by_minute": [0, 0, 0], "minute_ts": 1757591520, "total": 1235.456},
            "apower": 35,
            "current": 77,
            "freq": 50.01,
            "id": 0,
            "output": True,
            "ret_aenergy": {
                "by_minute": [312.345, 23.456, 356.789],
                "minute_ts": 1757591520,
                "total": 234.567,
            },
            "voltage": 228.5,
        },
    },
}
# [SHELLY-RPC] the documented request (an OFF for 15 minutes)
SWITCH_SET = {
    "id": 1,
    "src": "ems",
    "method": "Switch.Set",
    "params": {"id": 0, "on": False, "toggle_after": 900},
}
# [TASMOTA-POW]
POW_SENSOR = (
    b'{"Time":"2018-02-15T17:37:10","ENERGY":{"TotalStartTime":"2018-11-14T18:39:40","Total":6.294,'
    b'"Yesterday":5.340,"Today":0.954,"Period":217,"Power":2635,"ApparentPower":2650,"ReactivePower":282,'
    b'"Factor":0.99,"Voltage":227,"Current":11.661}}'
)
POW_STATUS8 = (
    b'{"StatusSNS":{"Time":"2018-11-15T08:54:18","ENERGY":{"TotalStartTime":"2018-11-14T18:39:40",'
    b'"Total":6.404,"Yesterday":5.340,"Today":1.064,"Power":2629,"ApparentPower":2645,"ReactivePower":288,'
    b'"Factor":0.99,"Voltage":226,"Current":11.677}}}'
)
# [Z2M-TS011F] a state with every value the plug exposes (values ours, names and units the docs')
TS011F_STATE = {
    "state": "ON", "power": 1830, "current": 7.96, "voltage": 230, "energy": 12.54,
    "power_outage_memory": "restore", "linkquality": 156,
}  # fmt: skip


async def until(predicate: Callable[[], object], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@dataclass
class StandIn:
    """The device's side of the broker: what the driver published to it, and a way to speak as it."""

    session: MqttSession
    received: list[tuple[str, bytes]] = field(default_factory=list)
    answer: Callable[[str, bytes], list[tuple[str, bytes | dict[str, Any]]]] = lambda _t, _p: []

    async def on_command(self, topic: str, payload: bytes) -> None:
        self.received.append((topic, payload))
        for reply_topic, reply in self.answer(topic, payload):
            await self.session.publish(reply_topic, reply)

    def sent(self, topic: str) -> list[bytes]:
        return [p for t, p in self.received if t == topic]


@dataclass
class Bench:
    driver: Driver
    device: StandIn
    seen: Seen
    clock: ScaledClock


@asynccontextmanager
async def driven(
    mqtt_url: str, uid: str, protocol: str, address: dict[str, Any], commands: list[str],
    answer: Callable[[str, bytes], list[tuple[str, bytes | dict[str, Any]]]],
    *, device_id: str = "plug", start: bool = True,
) -> AsyncIterator[Bench]:  # fmt: skip
    """The driver of ``protocol`` at ``address`` on the real broker, its device played by a stand-in that
    records what arrives on ``commands`` (topic filters) and answers with ``answer``."""
    clock = ScaledClock(START, 1.0)
    seen = Seen()
    async with (
        MqttSession(mqtt_url, f"dev-{uid}") as device_session,
        MqttSession(mqtt_url, f"agent-{uid}") as agent_session,
    ):
        device = StandIn(device_session, answer=answer)
        for command in commands:
            device_session.subscribe(command, device.on_command)
        await asyncio.sleep(0.2)  # the stand-in's subscriptions are in place
        info = DRIVERS.get(protocol)
        link = DeviceLink(
            household_id=f"rec{uid}", device_id=device_id, kind=DeviceKind.SMART_PLUG, max_power_w=3000,
            clock=clock, mqtt=agent_session, report=seen.report, availability=seen.available,
        )  # fmt: skip
        driver = info.build(link, info.parse({**address, "ack_timeout_s": 0.5, "attempts": 2}))
        await asyncio.sleep(0.2)  # the driver's subscriptions are in place
        if start:
            await driver.start()
        try:
            yield Bench(driver=driver, device=device, seen=seen, clock=clock)
        finally:
            await driver.stop()


def shelly_answer(status: dict[str, Any], result: dict[str, Any] | None = None) -> Any:
    """A Shelly's replies: GetStatus with the recorded status, Switch.Set with ``result`` (or an error
    frame when ``result`` holds "error")."""

    def answer(_topic: str, payload: bytes) -> list[tuple[str, bytes | dict[str, Any]]]:
        frame = json.loads(payload)
        reply: dict[str, Any] = {
            "id": frame["id"],
            "src": "shellyplusplugs-aabbccddeeff",
            "dst": frame["src"],
        }
        if frame["method"] == "Shelly.GetStatus":
            reply["result"] = status
        elif result is not None and "error" in result:
            reply["error"] = result["error"]
        else:
            reply["result"] = result or {"was_on": True}
        return [(f"{frame['src']}/rpc", reply)]

    return answer


def same_shape(a: Any, b: Any) -> bool:
    """Same keys in the same order, same JSON types, all the way down."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same_shape(a[k], b[k]) for k in a)
    return type(a) is type(b) or {type(a), type(b)} <= {int, float}


async def test_shelly_plug_reads_a_recorded_status_and_notification(mqtt_url: str, uid: str) -> None:
    prefix, src = f"shellyplusplugs-{uid}", f"homeflex-rec{uid}"
    answer = shelly_answer({"switch:0": PLUG_S_SWITCH})
    address = {"topic_prefix": prefix, "src": src}
    async with driven(mqtt_url, uid, "shelly", address, [f"{prefix}/rpc"], answer) as bench:
        first = {"on": True, "power_w": 2.7, "energy_wh": 7258.589, "voltage": 227.9}
        assert bench.seen.states[-1] == first  # Shelly.GetStatus at start: nothing is retained
        await bench.device.session.publish(f"{prefix}/events/rpc", NOTIFY_SWITCH)
        await until(lambda: bench.seen.states[-1]["energy_wh"] == 1235.456)
        assert bench.seen.states[-1] == {"on": True, "power_w": 35.0, "energy_wh": 1235.456, "voltage": 228.5}
        changed = {**NOTIFY_SWITCH, "params": {"ts": 1757591580.0, "switch:0": {"id": 0, "output": False}}}
        await bench.device.session.publish(f"{prefix}/events/rpc", changed)  # changed keys only
        await until(lambda: bench.seen.states[-1]["on"] is False)
        assert bench.seen.states[-1]["energy_wh"] == 1235.456  # overlaid on what was known
        for payload, up in ((b"false", False), (b"true", True)):
            await bench.device.session.publish(f"{prefix}/online", payload)
            await until(lambda up=up: bench.seen.availability and bench.seen.availability[-1][0] is up)


async def test_shelly_plug_sends_the_documented_switch_set(mqtt_url: str, uid: str) -> None:
    prefix, src = f"shellyplusplugs-{uid}", f"homeflex-rec{uid}"
    answer = shelly_answer({"switch:0": PLUG_S_SWITCH})
    address = {"topic_prefix": prefix, "src": src}
    async with driven(mqtt_url, uid, "shelly", address, [f"{prefix}/rpc"], answer) as bench:
        assert await bench.driver.send({"on": False}, bench.clock.now() + timedelta(seconds=900)) == 1
        await bench.driver.send({"on": None}, None)
    frames = [json.loads(p) for p in bench.device.sent(f"{prefix}/rpc")]
    get_status, off, on = frames
    assert get_status == {"id": get_status["id"], "src": src, "method": "Shelly.GetStatus"}
    assert same_shape(off, SWITCH_SET)
    assert off["src"] == src and off["method"] == "Switch.Set"
    assert off["params"]["id"] == 0 and off["params"]["on"] is False
    assert 899 <= off["params"]["toggle_after"] <= 900  # the command's expiry, on the plug's own timer
    assert on["params"] == {"id": 0, "on": True}  # back to its own behaviour: no timer
    assert len({f["id"] for f in frames}) == 3


async def test_shelly_rpc_error_is_a_refusal(mqtt_url: str, uid: str) -> None:
    prefix = f"shellyplusplugs-{uid}"
    error = {"error": {"code": -103, "message": "Invalid argument 'toggle_after'!"}}  # [SHELLY-RPC]
    answer = shelly_answer({"switch:0": PLUG_S_SWITCH}, error)
    async with driven(mqtt_url, uid, "shelly", {"topic_prefix": prefix}, [f"{prefix}/rpc"], answer) as bench:
        with pytest.raises(DeviceRefused, match="-103 Invalid argument"):
            await bench.driver.send({"on": False}, bench.clock.now() + timedelta(minutes=15))
    assert len(bench.device.sent(f"{prefix}/rpc")) == 2  # GetStatus, then one Switch.Set: not retried


async def test_shelly_pro3em_forwards_a_recorded_status_as_a_reading(mqtt_url: str, uid: str) -> None:
    prefix, hh = f"shellypro3em-{uid}", f"rec{uid}"
    answer = shelly_answer(PRO_3EM_STATUS)
    readings: list[dict[str, Any]] = []
    async with MqttSession(mqtt_url, f"tele-{uid}") as telemetry:
        telemetry.subscribe(topics.meter_reading(hh), lambda _t, p: readings.append(json.loads(p)))
        await asyncio.sleep(0.2)
        address = {"topic_prefix": prefix}
        async with driven(
            mqtt_url, uid, "shelly_pro3em", address, [f"{prefix}/rpc"], answer, device_id=topics.METER
        ) as bench:
            await until(lambda: readings)
            assert bench.seen.states[-1] == {"power_w": 559.0}  # em:0 total_act_power, for the VEN
    reading = readings[0]
    assert (reading["import_wh"], reading["export_wh"], reading["power_w"]) == (2589773.39, 1026.61, 559.0)
    assert set(reading) == {"ts", "import_wh", "export_wh", "power_w"}


async def test_tasmota_reads_the_pow_r2_telemetry(mqtt_url: str, uid: str) -> None:
    t = f"pow1-{uid}"
    async with driven(mqtt_url, uid, "tasmota", {"topic": t}, [f"cmnd/{t}/+"], lambda _t, _p: []) as bench:
        await bench.device.session.publish(f"tele/{t}/LWT", b"Online", retain=True)
        await until(lambda: bench.seen.availability == [(True, "its LWT says Online")])
        await bench.device.session.publish(f"tele/{t}/SENSOR", POW_SENSOR)
        await until(lambda: bench.seen.states)
        assert bench.seen.states[-1] == {"power_w": 2635.0, "energy_wh": 6294.0, "voltage": 227.0}
        await bench.device.session.publish(f"stat/{t}/STATUS8", POW_STATUS8)
        await until(lambda: bench.seen.states[-1]["power_w"] == 2629.0)
        assert bench.seen.states[-1] == {"power_w": 2629.0, "energy_wh": 6404.0, "voltage": 226.0}
        await bench.device.session.publish(f"tele/{t}/LWT", b"Offline", retain=True)
        await until(lambda: bench.seen.availability[-1][0] is False)
        await bench.device.session.publish(f"tele/{t}/LWT", b"", retain=True)  # clear the retained LWT
    # Asked once at start: the state (not a bare POWER, which would restart a PulseTime) and STATUS 8.
    assert bench.device.received[:2] == [(f"cmnd/{t}/STATE", b""), (f"cmnd/{t}/STATUS", b"8")]


async def test_tasmota_sends_the_documented_power_command(mqtt_url: str, uid: str) -> None:
    t = f"pow1-{uid}"

    def answer(topic: str, payload: bytes) -> list[tuple[str, bytes | dict[str, Any]]]:
        if topic == f"cmnd/{t}/POWER":  # [TASMOTA-MQTT]
            return [(f"stat/{t}/RESULT", b'{"POWER":"%s"}' % payload), (f"stat/{t}/POWER", payload)]
        return []

    async with driven(mqtt_url, uid, "tasmota", {"topic": t}, [f"cmnd/{t}/+"], answer) as bench:
        assert await bench.driver.send({"on": False}, bench.clock.now() + timedelta(minutes=15)) == 1
        assert bench.seen.states[-1]["on"] is False
        await bench.driver.send({"on": None}, None)
    assert bench.device.sent(f"cmnd/{t}/POWER") == [b"OFF", b"ON"]


async def test_zigbee2mqtt_reads_the_ts011f_state_and_availability(mqtt_url: str, uid: str) -> None:
    name = f"living/plug-{uid}"
    base = f"zigbee2mqtt/{name}"
    async with driven(
        mqtt_url, uid, "zigbee2mqtt", {"friendly_name": name}, [f"{base}/+"], lambda *_: []
    ) as bench:
        await bench.device.session.publish(base, TS011F_STATE)
        await until(lambda: bench.seen.states)
        assert bench.seen.states[-1] == {
            "on": True,
            "power_w": 1830.0,
            "energy_wh": 12540.0,
            "voltage": 230.0,
        }
        for payload, up in (
            (b'{"state":"offline"}', False),  # [Z2M-2.0]
            (b'{"state":"online"}', True),
            (b"offline", False),  # before 2.0 [Z2M-TOPICS]
        ):
            await bench.device.session.publish(f"{base}/availability", payload)
            await until(lambda up=up: bench.seen.availability and bench.seen.availability[-1][0] is up)
    assert bench.device.sent(f"{base}/get") == [b'{"state":""}']  # [Z2M-TOPICS]: read the state at start


async def test_zigbee2mqtt_sends_the_documented_set(mqtt_url: str, uid: str) -> None:
    name = f"plug-{uid}"
    base = f"zigbee2mqtt/{name}"

    def answer(topic: str, payload: bytes) -> list[tuple[str, bytes | dict[str, Any]]]:
        if topic == f"{base}/set":
            return [(base, {**TS011F_STATE, "state": json.loads(payload)["state"], "power": 0})]
        return []

    async with driven(mqtt_url, uid, "zigbee2mqtt", {"friendly_name": name}, [f"{base}/+"], answer) as bench:
        assert await bench.driver.send({"on": False}, bench.clock.now() + timedelta(minutes=15)) == 1
        assert bench.seen.states[-1]["on"] is False
    assert [json.loads(p) for p in bench.device.sent(f"{base}/set")] == [{"state": "OFF"}]
    assert same_shape(json.loads(bench.device.sent(f"{base}/set")[0]), {"state": "OFF"})
