"""Shelly Gen2+ devices over MQTT RPC (shelly-api-docs.shelly.cloud gen2: Mqtt, RPC protocol,
Notifications, Switch, EM, EMData):

    <prefix>/rpc         {"id","src","method","params"}     -> <src>/rpc {"id","src","dst","result"|"error"}
    <prefix>/events/rpc  {"method":"NotifyStatus","params":{"ts", "switch:0": {changed keys}}}
    <prefix>/online      true|false

Nothing is retained: the driver calls ``Shelly.GetStatus`` at start and overlays every NotifyStatus on
that status (only changed keys are sent). A plug's OFF carries ``toggle_after``, the plug's own
flip-back timer, so the expiry is native: the plug turns itself back on even when homeflex is gone.
The Pro 3EM is the household's meter: its readings are forwarded to telemetry.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeflex.core import topics
from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import iso
from homeflex.drivers import DeviceError, DeviceLink, DeviceRefused, DriverInfo, Expiry, Settings, register
from homeflex.drivers.mqtt_common import (
    Presence,
    Timing,
    check_topic,
    number,
    plug_on,
    read_json,
    unreadable,
    until_answered,
)
from homeflex.mqtt import MqttUnavailable

log = logging.getLogger(__name__)

# A Pro 3EM notifies em:0 on every change (about every second under load); telemetry keeps the
# simulated meter's cadence.
READING_INTERVAL_S = 10.0
_ids = itertools.count(1)  # RPC ids unique in the process: drivers of one household share a reply topic


@dataclass(frozen=True, kw_only=True)
class ShellyAddress(Timing):
    """``topic_prefix``: the device's MQTT topic prefix (default on the device: its id, e.g.
    ``shellyplusplugs-a8032ab12345``); ``src``: where replies go (``<src>/rpc``), default
    ``homeflex/v1/<household>/shelly``: inside the household's own subtree, the only topics its agent
    may use on the platform's broker (homeflex.mqtt.access). There the device's prefix must be set
    under that subtree too, e.g. ``homeflex/v1/<household>/shellyplusplugs-a8032ab12345``."""

    topic_prefix: str
    switch_id: int = 0
    src: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_topic("topic_prefix", self.topic_prefix, levels=True)
        if self.src is not None:
            check_topic("src", self.src, levels=True)
        if isinstance(self.switch_id, bool) or not 0 <= self.switch_id <= 15:
            raise ValueError("switch_id must be a switch number in 0..15")


def overlay(status: dict[str, Any], changes: dict[str, Any]) -> None:
    """NotifyStatus carries changed keys only: lay them over the known status, nested objects too."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(status.get(key), dict):
            overlay(status[key], value)
        else:
            status[key] = value


class ShellyRpc:
    """One Shelly device's RPC channel, status and availability on the agent's MQTT session."""

    def __init__(self, link: DeviceLink, address: ShellyAddress) -> None:
        self.link = link
        self.address = address
        self.src = address.src or f"{topics.PREFIX}/{link.household_id}/shelly"
        self.presence = Presence(link)
        self.status: dict[str, Any] = {}
        self.on_status = lambda: None  # the device's status changed
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        prefix = address.topic_prefix
        link.mqtt.subscribe(f"{self.src}/rpc", self._on_reply)
        link.mqtt.subscribe(f"{prefix}/events/rpc", self._on_event)
        link.mqtt.subscribe(f"{prefix}/online", self._on_online)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> tuple[Any, int]:
        """The result and the attempts it took; DeviceRefused for an RPC error, else DeviceUnreachable."""
        request_id = next(_ids)
        frame: dict[str, Any] = {"id": request_id, "src": self.src, "method": method}
        if params is not None:
            frame["params"] = params
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        topic = f"{self.address.topic_prefix}/rpc"
        try:
            reply, attempts = await until_answered(
                self.link, self.presence, self.address, lambda: self.link.mqtt.publish(topic, frame), answer
            )
        finally:
            self._waiting.pop(request_id, None)
        error = reply.get("error")
        if error is not None:
            detail = error if not isinstance(error, dict) else f"{error.get('code')} {error.get('message')}"
            raise DeviceRefused(f"{self.link.name} refused {method}: {detail}")
        return reply.get("result"), attempts

    async def read_status(self) -> None:
        """The whole status once (nothing is retained); a device that does not answer is said to be
        unavailable and is read from its notifications when it is back."""
        try:
            result, _ = await self.call("Shelly.GetStatus")
        except (DeviceError, MqttUnavailable) as err:
            log.warning("%s: status not read: %s", self.link.name, err)
            return
        if isinstance(result, dict):
            overlay(self.status, result)
            self.on_status()

    def stop(self) -> None:
        for future in self._waiting.values():
            future.cancel()

    def _on_reply(self, topic: str, payload: bytes) -> None:
        frame = read_json(self.link.name, topic, payload)
        if frame is None:
            return
        request_id = frame.get("id")
        future = self._waiting.get(request_id) if isinstance(request_id, int) else None
        if future is not None and not future.done():
            future.set_result(frame)

    def _on_event(self, topic: str, payload: bytes) -> None:
        frame = read_json(self.link.name, topic, payload)
        if frame is None:
            return
        params = frame.get("params")
        if frame.get("method") not in ("NotifyStatus", "NotifyFullStatus") or not isinstance(params, dict):
            if frame.get("method") != "NotifyEvent":
                unreadable(self.link.name, topic, payload)
            return
        overlay(self.status, {k: v for k, v in params.items() if k != "ts"})
        self.on_status()

    def _on_online(self, topic: str, payload: bytes) -> None:
        if payload in (b"true", b"false"):
            self.presence.seen(payload == b"true", f"it says online {payload.decode()}")
        else:
            unreadable(self.link.name, topic, payload)


class ShellyPlug:
    """A Shelly plug or relay's switch: off with a flip-back timer, on as its own behaviour."""

    def __init__(self, link: DeviceLink, address: ShellyAddress) -> None:
        self.link = link
        self.rpc = ShellyRpc(link, address)
        self.component = f"switch:{address.switch_id}"
        self.switch_id = address.switch_id
        self.rpc.on_status = self._report

    async def start(self) -> None:
        await self.rpc.read_status()

    async def stop(self) -> None:
        """Nothing to undo: an OFF's toggle_after runs on the plug."""
        self.rpc.stop()

    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        on = plug_on(self.link.name, settings)
        params: dict[str, Any] = {"id": self.switch_id, "on": on}
        if not on and expires_at is not None:
            seconds = (expires_at - self.link.clock.now()).total_seconds()
            params["toggle_after"] = max(1, math.ceil(seconds))
        _, attempts = await self.rpc.call("Switch.Set", params)
        return attempts

    def _report(self) -> None:
        switch = self.rpc.status.get(self.component)
        if not isinstance(switch, dict):
            return
        energy = switch.get("aenergy")
        state = {
            "on": switch.get("output") if isinstance(switch.get("output"), bool) else None,
            "power_w": number(switch.get("apower")),
            "energy_wh": number(energy.get("total")) if isinstance(energy, dict) else None,
            "voltage": number(switch.get("voltage")),
        }
        self.link.report(self.link.device_id, {k: v for k, v in state.items() if v is not None})


class ShellyPro3Em:
    """A Shelly Pro 3EM as the household's meter: its status is the meter's state for the VEN at every
    change, and a reading for telemetry (``meter/reading``, homeflex's reading format) at most every
    READING_INTERVAL_S of clock time."""

    def __init__(self, link: DeviceLink, address: ShellyAddress) -> None:
        self.link = link
        self.rpc = ShellyRpc(link, address)
        self.rpc.on_status = self._reading
        self._last: datetime | None = None  # when a reading was last forwarded
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.rpc.read_status()

    async def stop(self) -> None:
        self.rpc.stop()

    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        raise DeviceRefused(f"{self.link.name}: a meter takes no commands")

    def reading(self) -> dict[str, Any] | None:
        """The meter's reading (W, Wh counters since the meter was installed), or None until known."""
        em, emdata = self.rpc.status.get("em:0"), self.rpc.status.get("emdata:0")
        if not isinstance(em, dict) or not isinstance(emdata, dict):
            return None
        power = number(em.get("total_act_power"))
        imported, exported = number(emdata.get("total_act")), number(emdata.get("total_act_ret"))
        if power is None or imported is None or exported is None:
            return None
        return {
            "ts": iso(self.link.clock.now()),
            "import_wh": round(imported, 3),
            "export_wh": round(exported, 3),
            "power_w": round(power, 1),
        }

    def _reading(self) -> None:
        reading = self.reading()
        if reading is None:
            return
        self.link.report(self.link.device_id, {"power_w": reading["power_w"]})
        now = self.link.clock.now()
        if self._last is not None and (now - self._last).total_seconds() < READING_INTERVAL_S:
            return
        self._last = now
        task = asyncio.get_running_loop().create_task(self._forward(reading))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forward(self, reading: dict[str, Any]) -> None:
        try:
            await self.link.mqtt.publish(topics.meter_reading(self.link.household_id), reading, timeout=2.0)
        except MqttUnavailable as err:
            log.warning("%s: meter reading not forwarded: %s", self.link.name, err)


SHELLY_PRODUCTS = ("Shelly Plus Plug S", "Shelly Plug S Gen3", "Shelly Plus 1PM", "Shelly Pro 1PM")

INFO = register(
    DriverInfo(
        protocol="shelly",
        title="Shelly Gen2+ (MQTT RPC)",
        kinds=frozenset({DeviceKind.SMART_PLUG}),
        products=SHELLY_PRODUCTS,
        expiry=Expiry.NATIVE,
        fail_safe="native: an OFF carries toggle_after, so the plug switches itself back on at expiry",
        config=ShellyAddress,
        build=ShellyPlug,
    )
)

METER_INFO = register(
    DriverInfo(
        protocol="shelly_pro3em",
        title="Shelly Pro 3EM (MQTT RPC)",
        kinds=frozenset(),
        products=("Shelly Pro 3EM",),
        expiry=Expiry.NATIVE,
        fail_safe="a meter: it takes no commands",
        config=ShellyAddress,
        build=ShellyPro3Em,
        meter=True,
    )
)
