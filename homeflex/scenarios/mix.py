"""Which real product each simulated device stands for, so a simulated community mixes the protocols
people's devices speak: chargers that are OCPP charge points, batteries behind SunSpec Modbus inverters,
heat pumps whose S2 resource manager connects to the household agent, plugs that are Shelly, Tasmota or
Zigbee2MQTT plugs, and homeflex's own simulators. One table per
device; a household's place in the community picks its row, so a run has the same products every time.

A ``Wire`` is both sides of one device: the address the household's configuration gives its driver, and
the options its simulator is started with (the same address, plus where a server it connects to is).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from homeflex.mqtt.broker import free_port

S2_NAMESPACE = uuid.UUID("6f1c2d1e-5b0a-4a8e-9d3c-2f1e0b7a5c41")  # a household's S2 resource ids

# device id -> the products it stands for in turn: (protocol, product, address of household hh)
Product = tuple[str, str, Callable[[str], dict[str, Any]]]
MIX: dict[str, tuple[Product, ...]] = {
    "ev": (
        (
            "ocpp",
            "OCPP 1.6J charge point",
            lambda hh: {"charge_point_id": f"{hh}-ev", "password": f"{hh}-key"},
        ),
        ("homeflex", "homeflex simulated charger", lambda hh: {}),
    ),
    "battery": (
        (
            "sunspec",
            "SunSpec hybrid inverter and battery",
            lambda hh: {"host": "127.0.0.1", "port": free_port()},
        ),
        ("homeflex", "homeflex simulated battery", lambda hh: {}),
    ),
    "heat_pump": (  # the odd households: the demo's event then reaches S2 heat pumps in opted-in homes
        ("homeflex", "homeflex simulated heat pump", lambda hh: {}),
        (
            "s2",
            "heat pump with an S2 resource manager (FRBC)",
            lambda hh: {
                "resource_id": str(uuid.uuid5(S2_NAMESPACE, f"{hh}-heat-pump")),
                "token": secrets.token_urlsafe(24),
                "fill_level_is": "indoor_c",
            },
        ),
    ),
    "plug": (
        ("shelly", "Shelly Plus Plug S", lambda hh: {"topic_prefix": f"shellyplusplugs-{hh}"}),
        ("tasmota", "Sonoff POW R2 (Tasmota)", lambda hh: {"topic": f"tasmota_{hh}"}),
        ("zigbee2mqtt", "Tuya TS011F plug (Zigbee2MQTT)", lambda hh: {"friendly_name": f"{hh}-plug"}),
        ("homeflex", "homeflex simulated plug", lambda hh: {}),
    ),
}


@dataclass(frozen=True, kw_only=True)
class Wire:
    protocol: str
    product: str
    address: dict[str, Any] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        """As ``scenarios.setup.household_config_for`` takes it."""
        return {"protocol": self.protocol, "address": dict(self.address), "product": self.product}

    def sim_options(self, servers: Mapping[str, str]) -> dict[str, Any]:
        """As ``HouseholdSimulator(wiring=...)`` takes it; ``servers``: protocol -> URL of its server."""
        extra = {"url": servers[self.protocol]} if self.protocol in servers else {}
        return {"protocol": self.protocol, **self.address, **extra}


def wires_for(
    index: int, household_id: str, device_ids: list[str], available: Callable[[str], bool]
) -> dict[str, Wire]:
    """The products of household number ``index``'s devices, among the protocols ``available``."""
    out = {}
    for device_id in device_ids:
        choices = [p for p in MIX.get(device_id, ()) if available(p[0])]
        if choices:
            protocol, product, address = choices[index % len(choices)]
            out[device_id] = Wire(protocol=protocol, product=product, address=address(household_id))
    return out
