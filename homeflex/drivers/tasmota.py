"""Tasmota plugs (e.g. Sonoff POW R2) over MQTT, with the device topic ``<t>`` and Tasmota's full-topic
convention ``%prefix%/%topic%/`` (tasmota/docs MQTT.md, Commands.md):

    cmnd/<t>/POWER  ON|OFF               -> stat/<t>/RESULT {"POWER":"OFF"} and stat/<t>/POWER OFF
    cmnd/<t>/STATE, cmnd/<t>/STATUS 8    -> stat/<t>/RESULT {..."POWER":..}, stat/<t>/STATUS8 {"StatusSNS":..}
    tele/<t>/SENSOR {"ENERGY":{"Total" kWh,"Power" W,"Voltage" V}} every TelePeriod
    tele/<t>/LWT    Online|Offline (retained)

Expiry is emulated: Tasmota's own timer, PulseTime, only turns a relay OFF after an ON, never back on
after an OFF. ``Backlog Power OFF; Delay n; Power ON`` is not used: Delay is at most 3600 x 0.1 s (6
min, shorter than a command's 15 min), and any later Power command cancels the rest of the backlog; a
RuleTimer would take over one of the household's three rule slots. So the driver switches the plug back
on itself at the command's expiry; if the agent stops, the plug stays off until someone switches it.

The start-up query is ``STATE`` and not a bare ``POWER``: a bare Power query restarts or cancels a
running PulseTime (arendst/Tasmota #4453, #9325, #12323).
"""

from __future__ import annotations

from dataclasses import dataclass

from homeflex.core.domain import DeviceKind
from homeflex.drivers import DeviceLink, DriverInfo, Expiry, register
from homeflex.drivers.mqtt_common import (
    EchoedSwitch,
    Timing,
    check_topic,
    number,
    read_json,
    unreadable,
)


@dataclass(frozen=True, kw_only=True)
class TasmotaAddress(Timing):
    """``topic``: the device's Tasmota Topic (``<t>``); ``full_topic``: its FullTopic setting."""

    topic: str
    full_topic: str = "%prefix%/%topic%/"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_topic("topic", self.topic)
        if "%prefix%" not in self.full_topic or "%topic%" not in self.full_topic:
            raise ValueError("full_topic must contain %prefix% and %topic%")
        check_topic("full_topic", self.full_topic.rstrip("/"), levels=True)

    def at(self, prefix: str, leaf: str) -> str:
        """The topic of ``leaf`` under ``prefix`` (cmnd, stat or tele)."""
        base = self.full_topic.replace("%prefix%", prefix).replace("%topic%", self.topic)
        return f"{base.rstrip('/')}/{leaf}"


ON_OFF = {"ON": True, "OFF": False}


class TasmotaDriver(EchoedSwitch):
    def __init__(self, link: DeviceLink, address: TasmotaAddress) -> None:
        super().__init__(link, address)
        self.address = address
        session = link.mqtt
        session.subscribe(address.at("stat", "RESULT"), self._on_result)
        session.subscribe(address.at("stat", "POWER"), self._on_power)
        session.subscribe(address.at("stat", "STATUS8"), self._on_status8)
        session.subscribe(address.at("tele", "SENSOR"), self._on_sensor)
        session.subscribe(address.at("tele", "STATE"), self._on_result)
        session.subscribe(address.at("tele", "LWT"), self._on_lwt)

    async def start(self) -> None:
        """Ask once: Tasmota retains only its LWT."""
        await self.link.mqtt.publish(self.address.at("cmnd", "STATE"), b"")
        await self.link.mqtt.publish(self.address.at("cmnd", "STATUS"), b"8")

    async def switch(self, on: bool) -> None:
        await self.link.mqtt.publish(self.address.at("cmnd", "POWER"), b"ON" if on else b"OFF")

    def _on_result(self, topic: str, payload: bytes) -> None:
        body = read_json(self.link.name, topic, payload)
        if body is not None and body.get("POWER") in ON_OFF:
            self.heard(on=ON_OFF[body["POWER"]])

    def _on_power(self, topic: str, payload: bytes) -> None:
        word = payload.decode(errors="replace").strip().upper()
        if word in ON_OFF:
            self.heard(on=ON_OFF[word])
        else:
            self._unreadable(topic, payload)

    def _on_sensor(self, topic: str, payload: bytes) -> None:
        body = read_json(self.link.name, topic, payload)
        if body is not None:
            self._energy(topic, body.get("ENERGY"), payload)

    def _on_status8(self, topic: str, payload: bytes) -> None:
        body = read_json(self.link.name, topic, payload)
        if body is not None:
            sns = body.get("StatusSNS")
            self._energy(topic, sns.get("ENERGY") if isinstance(sns, dict) else None, payload)

    def _energy(self, topic: str, energy: object, payload: bytes) -> None:
        if not isinstance(energy, dict) or number(energy.get("Power")) is None:
            self._unreadable(topic, payload)
            return
        self.heard(
            power_w=number(energy.get("Power")),
            energy_wh=number(energy.get("Total"), 1000.0),  # kWh
            voltage=number(energy.get("Voltage")),
        )

    def _on_lwt(self, topic: str, payload: bytes) -> None:
        if payload in (b"Online", b"Offline"):
            self.availability(payload == b"Online", f"its LWT says {payload.decode()}")
        else:
            self._unreadable(topic, payload)

    def _unreadable(self, topic: str, payload: bytes) -> None:
        unreadable(self.link.name, topic, payload)


INFO = register(
    DriverInfo(
        protocol="tasmota",
        title="Tasmota (MQTT)",
        kinds=frozenset({DeviceKind.SMART_PLUG}),
        products=("Sonoff POW R2", "Sonoff S31", "Nous A1T", "Athom plugs", "any Tasmota plug"),
        expiry=Expiry.EMULATED,
        fail_safe=(
            "emulated: homeflex switches the plug back on at the command's expiry (PulseTime only turns "
            "a relay off); if the agent stops, the plug stays off until switched"
        ),
        config=TasmotaAddress,
        build=TasmotaDriver,
    )
)
