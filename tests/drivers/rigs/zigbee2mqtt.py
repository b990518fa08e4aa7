"""The Zigbee2MQTT driver against a simulated TS011F metering plug behind Zigbee2MQTT."""

from __future__ import annotations

from tests.drivers.rigs.plugs import plug_rig

RIG = plug_rig(
    "zigbee2mqtt",
    lambda uid: {"friendly_name": f"kitchen/plug-{uid}"},
    lambda a: {
        f"zigbee2mqtt/{a['friendly_name']}": b"\xff{not json",
        f"zigbee2mqtt/{a['friendly_name']}/availability": b'{"state": 3}',
    },
    refused={"on": "maybe"},
)
