"""A simulated Tasmota plug (a Sonoff POW R2) as the firmware speaks MQTT (tasmota/docs MQTT.md,
Commands.md, devices/Sonoff-Pow-R2.md), with the full topic ``%prefix%/%topic%/``:

    cmnd/<t>/POWER ON|OFF|TOGGLE|""  -> stat/<t>/RESULT {"POWER":"ON"} and stat/<t>/POWER ON
    cmnd/<t>/STATE                   -> stat/<t>/RESULT {"Time",...,"POWER":"ON"}
    cmnd/<t>/STATUS 8                -> stat/<t>/STATUS8 {"StatusSNS":{"Time","ENERGY":{...}}}
    cmnd/<t>/PULSETIME n             -> stat/<t>/RESULT {"PulseTime1":{"Set":n,"Remaining":..}}
    tele/<t>/STATE and tele/<t>/SENSOR every TelePeriod (the simulator's state interval)
    tele/<t>/LWT Online|Offline (retained, will)

PulseTime (1..111: n/10 s, 112..64900: n-100 s) turns the relay OFF after every ON, as on the device.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from homeflex.core.clock import Clock
from homeflex.sim.household import SimHousehold
from homeflex.sim.protocols import ENDPOINTS
from homeflex.sim.protocols.mqtt_plug import VOLTAGE, SimPlug, required_option

log = logging.getLogger(__name__)
LOCAL = ZoneInfo("Europe/London")  # Tasmota's Time is the device's local time without an offset


def pulse_seconds(value: int) -> float | None:
    """PulseTime's units (Commands.md): 0 off, 1..111 tenths of a second, 112..64900 value-100 s."""
    if value <= 0:
        return None
    return value / 10 if value <= 111 else float(value - 100)


def tasmota_time(when: datetime) -> str:
    return when.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M:%S")


class TasmotaPlugSim(SimPlug):
    def __init__(
        self,
        household: SimHousehold,
        device_id: str,
        clock: Clock,
        mqtt_url: str,
        options: Mapping[str, Any],
        *,
        step_s: float = 10.0,
    ) -> None:
        topic = required_option(options, "topic", "Tasmota device")
        full = str(options.get("full_topic", "%prefix%/%topic%/")).replace("%topic%", topic).rstrip("/")
        self.topics = {p: full.replace("%prefix%", p) for p in ("cmnd", "stat", "tele")}
        super().__init__(
            household,
            device_id,
            clock,
            mqtt_url,
            client_id=f"DVES_{topic}",
            presence=(f"{self.topics['tele']}/LWT", b"Online", b"Offline"),
            step_s=step_s,
        )
        self.pulse_time = int(options.get("pulse_time", 0))
        self.started = clock.now()
        self.session.subscribe(f"{self.topics['cmnd']}/+", self._on_command)

    def at(self, prefix: str, leaf: str) -> str:
        return f"{self.topics[prefix]}/{leaf}"

    async def _on_command(self, topic: str, payload: bytes) -> None:
        command, value = topic.rsplit("/", 1)[1].upper(), payload.decode(errors="replace").strip()
        if command in ("POWER", "POWER1"):
            await self._power(value.upper())
        elif command == "STATE":
            await self.send(self.at("stat", "RESULT"), self.state())
        elif command == "STATUS" and value == "8":
            await self.send(self.at("stat", "STATUS8"), {"StatusSNS": self.sensor()})
        elif command == "PULSETIME" and value.isdigit():
            self.pulse_time = int(value)
            await self.send(
                self.at("stat", "RESULT"), {"PulseTime1": {"Set": self.pulse_time, "Remaining": 0}}
            )
        else:
            await self.send(self.at("stat", "RESULT"), {"Command": "Unknown"})

    async def _power(self, value: str) -> None:
        wanted = {"ON": True, "1": True, "TRUE": True, "OFF": False, "0": False, "FALSE": False}.get(value)
        if value in ("TOGGLE", "2"):
            wanted = not self.on
        if wanted is not None:
            self.switch(wanted)
            pulse = pulse_seconds(self.pulse_time) if wanted else None
            self.timer(pulse, self._pulse_ends)  # any Power command restarts or cancels the pulse
        elif value:
            await self.send(self.at("stat", "RESULT"), {"Command": "Error"})
            return
        await self._say_power()

    async def _pulse_ends(self) -> None:
        self.switch(False)
        await self._say_power()

    async def _say_power(self) -> None:
        word = "ON" if self.on else "OFF"
        await self.send(self.at("stat", "RESULT"), {"POWER": word})
        await self.send(self.at("stat", "POWER"), word)

    def state(self) -> dict[str, Any]:
        now = self.clock.now()
        uptime = int((now - self.started).total_seconds())
        return {"Time": tasmota_time(now), "UptimeSec": uptime, "POWER": "ON" if self.on else "OFF"}

    def sensor(self) -> dict[str, Any]:
        self.household.advance_to(self.clock.now(), self.step_s)
        self.meter()
        power = self.power_w
        return {
            "Time": tasmota_time(self.clock.now()),
            "ENERGY": {
                "TotalStartTime": tasmota_time(self.started),
                "Total": round(self.energy_wh / 1000, 3),
                "Power": round(power),
                "ApparentPower": round(power),
                "ReactivePower": 0,
                "Factor": 1.0 if power else 0.0,
                "Voltage": round(VOLTAGE),
                "Current": round(power / VOLTAGE, 3),
            },
        }

    async def publish_state(self) -> None:
        await self.send(self.at("tele", "STATE"), self.state())
        await self.send(self.at("tele", "SENSOR"), self.sensor())


ENDPOINTS.register("tasmota")(TasmotaPlugSim)
