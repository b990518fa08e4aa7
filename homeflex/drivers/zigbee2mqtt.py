"""Zigbee plugs through a Zigbee2MQTT bridge (Koenkk/zigbee2mqtt.io docs/guide/usage/
mqtt_topics_and_messages.md; metering plugs such as TS011F_plug_1 expose ``state``, ``power`` W,
``energy`` kWh, ``voltage``):

    zigbee2mqtt/<name>/set {"state":"OFF"}     -> the device's state JSON on zigbee2mqtt/<name>
    zigbee2mqtt/<name>/get {"state":""}        -> the same, at start
    zigbee2mqtt/<name>/availability {"state":"online|offline"} (retained; before Z2M 2.0 plain online)

Expiry is emulated: ``on_time`` works only with ``{"state":"ON"}`` and only on some firmware, so an OFF
has no timer of its own; the driver switches the plug back on at the command's expiry. If the agent
stops, the plug stays off until someone switches it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from homeflex.core.domain import DeviceKind
from homeflex.drivers import DeviceLink, DriverInfo, Expiry, register
from homeflex.drivers.mqtt_common import EchoedSwitch, Timing, check_topic, number, read_json, unreadable


@dataclass(frozen=True, kw_only=True)
class Zigbee2MqttAddress(Timing):
    """``friendly_name``: the device's name in Zigbee2MQTT (may hold ``/``); ``base_topic``: the
    bridge's base topic."""

    friendly_name: str
    base_topic: str = "zigbee2mqtt"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_topic("friendly_name", self.friendly_name, levels=True)
        check_topic("base_topic", self.base_topic, levels=True)

    @property
    def device(self) -> str:
        return f"{self.base_topic}/{self.friendly_name}"


STATES = {"ON": True, "OFF": False}
AVAILABILITY = {"online": True, "offline": False}


class Zigbee2MqttDriver(EchoedSwitch):
    def __init__(self, link: DeviceLink, address: Zigbee2MqttAddress) -> None:
        super().__init__(link, address)
        self.address = address
        link.mqtt.subscribe(address.device, self._on_state)
        link.mqtt.subscribe(f"{address.device}/availability", self._on_availability)

    async def start(self) -> None:
        await self.link.mqtt.publish(f"{self.address.device}/get", {"state": ""})

    async def switch(self, on: bool) -> None:
        await self.link.mqtt.publish(f"{self.address.device}/set", {"state": "ON" if on else "OFF"})

    def _on_state(self, topic: str, payload: bytes) -> None:
        body = read_json(self.link.name, topic, payload)
        if body is None:
            return
        state = body.get("state")
        if state not in STATES and number(body.get("power")) is None:
            return  # e.g. only linkquality: nothing the control loop reads
        self.heard(
            on=STATES.get(state) if isinstance(state, str) else None,
            power_w=number(body.get("power")),
            energy_wh=number(body.get("energy"), 1000.0),  # kWh
            voltage=number(body.get("voltage")),
        )

    def _on_availability(self, topic: str, payload: bytes) -> None:
        word: object = payload.decode(errors="replace")  # legacy (before 2.0): plain online/offline
        if payload.startswith(b"{"):
            try:
                word = json.loads(payload).get("state")
            except (ValueError, AttributeError):
                word = None
        if isinstance(word, str) and word in AVAILABILITY:
            self.availability(AVAILABILITY[word], f"Zigbee2MQTT says {word}")
        else:
            unreadable(self.link.name, topic, payload)


INFO = register(
    DriverInfo(
        protocol="zigbee2mqtt",
        title="Zigbee2MQTT",
        kinds=frozenset({DeviceKind.SMART_PLUG}),
        products=("Tuya TS011F metering plugs", "IKEA TRETAKT", "Aqara Smart Plug", "any Zigbee2MQTT plug"),
        expiry=Expiry.EMULATED,
        fail_safe=(
            "emulated: homeflex switches the plug back on at the command's expiry (on_time only times an "
            "ON); if the agent stops, the plug stays off until switched"
        ),
        config=Zigbee2MqttAddress,
        build=Zigbee2MqttDriver,
    )
)
