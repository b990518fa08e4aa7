"""A simulated Zigbee metering plug (a Tuya TS011F_plug_1) behind Zigbee2MQTT, as the bridge speaks
MQTT for it (Koenkk/zigbee2mqtt.io docs/guide/usage/mqtt_topics_and_messages.md, devices/
TS011F_plug_1.md, guide/configuration/device-availability.md):

    zigbee2mqtt/<name>/set {"state":"ON|OFF|TOGGLE", "on_time"?}  -> state JSON on zigbee2mqtt/<name>
    zigbee2mqtt/<name>/get {"state":""}                            -> the same
    zigbee2mqtt/<name> {"state","power" W,"energy" kWh,"voltage","current","linkquality",...} on change
        and on the simulator's state interval
    zigbee2mqtt/<name>/availability {"state":"online|offline"} (retained)

``on_time`` with ON switches the plug off after that many seconds (firmware-dependent on real plugs).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from homeflex.core.clock import Clock
from homeflex.sim.household import SimHousehold
from homeflex.sim.protocols import ENDPOINTS
from homeflex.sim.protocols.mqtt_plug import VOLTAGE, SimPlug, required_option

log = logging.getLogger(__name__)


class Zigbee2MqttPlugSim(SimPlug):
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
        name = required_option(options, "friendly_name", "Zigbee2MQTT plug")
        self.topic = f"{options.get('base_topic', 'zigbee2mqtt')}/{name}"
        super().__init__(
            household,
            device_id,
            clock,
            mqtt_url,
            client_id=f"z2m-{household.id}-{device_id}",
            presence=(f"{self.topic}/availability", b'{"state":"online"}', b'{"state":"offline"}'),
            step_s=step_s,
        )
        self.session.subscribe(f"{self.topic}/set", self._on_set)
        self.session.subscribe(f"{self.topic}/get", self._on_get)

    async def _on_set(self, topic: str, payload: bytes) -> None:
        try:
            body = json.loads(payload)
            state = str(body["state"]).upper()
            if state not in ("ON", "OFF", "TOGGLE"):
                raise ValueError(f"state {state!r}")
        except (ValueError, KeyError, TypeError) as err:  # the bridge logs it and does nothing
            log.warning("z2m %s: publish to '%s' failed: %s", self.topic, topic, err)
            return
        on = not self.on if state == "TOGGLE" else state == "ON"
        self.switch(on)
        on_time = body.get("on_time")
        timed = on and isinstance(on_time, int | float) and not isinstance(on_time, bool) and on_time > 0
        self.timer(float(on_time) if timed else None, self._on_time_ends)
        await self.publish_state()

    async def _on_time_ends(self) -> None:
        self.switch(False)
        await self.publish_state()

    async def _on_get(self, topic: str, payload: bytes) -> None:
        await self.publish_state()

    def state(self) -> dict[str, Any]:
        self.household.advance_to(self.clock.now(), self.step_s)
        self.meter()
        power = self.power_w
        return {
            "state": "ON" if self.on else "OFF",
            "power": round(power),
            "energy": round(self.energy_wh / 1000, 2),
            "voltage": round(VOLTAGE),
            "current": round(power / VOLTAGE, 2),
            "power_outage_memory": "restore",
            "indicator_mode": "off/on",
            "child_lock": "UNLOCK",
            "linkquality": 120,
        }

    async def publish_state(self) -> None:
        await self.send(self.topic, self.state())


ENDPOINTS.register("zigbee2mqtt")(Zigbee2MqttPlugSim)
