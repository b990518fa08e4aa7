"""Home Assistant's MQTT discovery rules, as HA's own schemas enforce them (homeassistant/components/
mqtt: the config topic's shape, the keys each platform requires and knows, device and availability,
and the sensor's device class / unit / state class combinations), written out independently of
homeflex so a test can check what the agent publishes. A config HA would refuse or misread fails."""

from __future__ import annotations

import json
import re
from typing import Any

TOPIC = re.compile(
    r"^(?P<prefix>[^/#+]+)/(?P<component>[a-z_]+)/(?:(?P<node>[A-Za-z0-9_-]+)/)?(?P<object>[A-Za-z0-9_-]+)/config$"
)
COMMON = {
    "name", "unique_id", "object_id", "device", "origin", "qos", "availability_topic", "availability",
    "availability_mode", "payload_available", "payload_not_available", "availability_template",
    "icon", "entity_category", "enabled_by_default", "json_attributes_topic", "json_attributes_template",
    "encoding", "entity_picture",
}  # fmt: skip
KNOWN = {
    "sensor": COMMON | {"state_topic", "value_template", "device_class", "unit_of_measurement", "state_class",
                        "options", "expire_after", "force_update", "suggested_display_precision",
                        "last_reset_value_template"},
    "binary_sensor": COMMON | {"state_topic", "value_template", "device_class", "payload_on", "payload_off",
                               "expire_after", "force_update", "off_delay"},
    "button": COMMON | {"command_topic", "command_template", "payload_press", "device_class", "retain"},
}  # fmt: skip
REQUIRED = {"sensor": {"state_topic"}, "binary_sensor": {"state_topic"}, "button": {"command_topic"}}
# Sensor device classes used here -> the units HA accepts for them (None: no unit allowed).
SENSOR_UNITS: dict[str, set[str] | None] = {
    "power": {"W", "kW", "MW", "GW", "TW", "mW", "BTU/h"},
    "energy": {"Wh", "kWh", "MWh", "GWh", "TWh", "MJ", "GJ", "cal", "kcal", "Mcal", "Gcal"},
    "timestamp": None,
    "enum": None,
}
STATE_CLASSES = {
    "power": {"measurement"},
    "energy": {"total", "total_increasing"},
    "monetary": {"total"},
    "timestamp": set(),
    "enum": set(),
}
ISO_4217 = re.compile(r"^[A-Z]{3}$")
BINARY_CLASSES = {"connectivity", "problem", "running", "power", "plug"}
BUTTON_CLASSES = {"identify", "restart", "update"}
SLUG = re.compile(r"^[a-z0-9_]+$")


def _topic_ok(topic: Any) -> bool:
    return isinstance(topic, str) and bool(topic) and not any(c in topic for c in "+#\0")


def problems(topic: str, payload: bytes) -> list[str]:
    """What HA would refuse or misread in one discovery message; [] if it is valid."""
    m = TOPIC.match(topic)
    if m is None:
        return [f"{topic}: not <prefix>/<component>/[<node_id>/]<object_id>/config"]
    component = m["component"]
    if component not in KNOWN:
        return [f"{topic}: component {component} not checked here"]
    try:
        body = json.loads(payload)
    except ValueError:
        return [f"{topic}: not JSON"]
    if not isinstance(body, dict):
        return [f"{topic}: not a JSON object"]
    out = [f"{topic}: unknown key {k}" for k in sorted(set(body) - KNOWN[component])]
    out += [f"{topic}: missing {k}" for k in sorted(REQUIRED[component] - set(body))]
    out += _common(topic, body)
    if component == "sensor":
        out += _sensor(topic, body)
    elif component == "binary_sensor" and body.get("device_class", "connectivity") not in BINARY_CLASSES:
        out.append(f"{topic}: binary_sensor device_class {body['device_class']}")
    elif component == "button" and "device_class" in body and body["device_class"] not in BUTTON_CLASSES:
        out.append(f"{topic}: button device_class {body['device_class']}")
    return out


def _common(topic: str, body: dict[str, Any]) -> list[str]:
    out = []
    for key in ("state_topic", "command_topic", "availability_topic", "json_attributes_topic"):
        if key in body and not _topic_ok(body[key]):
            out.append(f"{topic}: {key} {body[key]!r} is not a topic one can publish to")
    if "device" in body:
        device = body["device"]
        if not isinstance(device, dict) or not (device.get("identifiers") or device.get("connections")):
            out.append(f"{topic}: a device needs identifiers or connections")
        if "unique_id" not in body:
            out.append(f"{topic}: a device needs the entity's unique_id")
    if "origin" in body and not (isinstance(body["origin"], dict) and body["origin"].get("name")):
        out.append(f"{topic}: origin needs a name")
    if "object_id" in body and not SLUG.match(str(body["object_id"])):
        out.append(f"{topic}: object_id {body['object_id']!r} is not a slug")
    if body.get("qos", 0) not in (0, 1, 2):
        out.append(f"{topic}: qos {body['qos']}")
    if "entity_category" in body and body["entity_category"] not in ("config", "diagnostic"):
        out.append(f"{topic}: entity_category {body['entity_category']}")
    return out


def _sensor(topic: str, body: dict[str, Any]) -> list[str]:
    out = []
    dc, unit, sc = body.get("device_class"), body.get("unit_of_measurement"), body.get("state_class")
    if dc == "monetary":
        if not (isinstance(unit, str) and ISO_4217.match(unit)):
            out.append(f"{topic}: monetary wants an ISO 4217 currency, got {unit!r}")
    elif dc in SENSOR_UNITS:
        allowed = SENSOR_UNITS[dc]
        if allowed is None and unit is not None:
            out.append(f"{topic}: {dc} takes no unit, got {unit!r}")
        if allowed is not None and unit not in allowed:
            out.append(f"{topic}: {dc} wants one of {sorted(allowed)}, got {unit!r}")
    elif dc is not None:
        out.append(f"{topic}: sensor device_class {dc} not checked here")
    if sc is not None and sc not in STATE_CLASSES.get(str(dc), {"measurement", "total", "total_increasing"}):
        out.append(f"{topic}: state_class {sc} not allowed with {dc}")
    if dc == "enum":
        options = body.get("options")
        if not (isinstance(options, list) and options and all(isinstance(o, str) for o in options)):
            out.append(f"{topic}: an enum sensor needs options")
    elif "options" in body:
        out.append(f"{topic}: options only with device_class enum")
    return out
