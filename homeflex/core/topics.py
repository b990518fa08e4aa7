"""MQTT topic names: one place, so devices, control and telemetry agree.

homeflex/v1/<household>/<device>/cmd      controller -> device  {"id", "set": {...}, "expires_at"}  QoS 1
homeflex/v1/<household>/<device>/ack      device -> controller  {"id", "ok", "error"?}             QoS 1
homeflex/v1/<household>/<device>/state    device -> all, retained {"ts", "power_w", ...}          QoS 1
homeflex/v1/<household>/meter/reading     meter -> telemetry    {"ts", "import_wh", "export_wh", "power_w"}
homeflex/v1/<household>/meter/history     meter -> telemetry    [reading, ...] (backlog, oldest first)
homeflex/v1/<household>/status           controller online/offline (last will), retained
homeflex/v1/<household>/profile          telemetry -> control, retained {"version", "ready", "reasons",
                                         "profile"}
homeflex/v1/<household>/skips            portal -> VEN, retained {"skips": [{"event_id", "reason", "at"}]}:
                                         the events the household sits out (not yet ended)
homeflex/v1/<household>/payments         settlement -> agent, retained {"month", "total_gbp"}: paid this
                                         UK month (for the household's Home Assistant)
homeflex/v1/<household>/ha/...           the agent's Home Assistant entities: availability, state, skip
                                         (homeflex.ven.ha_discovery)
"""

from __future__ import annotations

PREFIX = "homeflex/v1"
METER = "meter"

READINGS_FILTER = f"{PREFIX}/+/{METER}/reading"
HISTORY_FILTER = f"{PREFIX}/+/{METER}/history"


def device_topic(household_id: str, device_id: str, leaf: str) -> str:
    return f"{PREFIX}/{household_id}/{device_id}/{leaf}"


def cmd(household_id: str, device_id: str) -> str:
    return device_topic(household_id, device_id, "cmd")


def ack(household_id: str, device_id: str) -> str:
    return device_topic(household_id, device_id, "ack")


def state(household_id: str, device_id: str) -> str:
    return device_topic(household_id, device_id, "state")


def meter_reading(household_id: str) -> str:
    return device_topic(household_id, METER, "reading")


def meter_history(household_id: str) -> str:
    return device_topic(household_id, METER, "history")


def status(household_id: str) -> str:
    return f"{PREFIX}/{household_id}/status"


def profile(household_id: str) -> str:
    return f"{PREFIX}/{household_id}/profile"


def skips(household_id: str) -> str:
    return f"{PREFIX}/{household_id}/skips"


def payments(household_id: str) -> str:
    return f"{PREFIX}/{household_id}/payments"


HA_PREFIX = "homeassistant"  # Home Assistant's default discovery prefix
HA_BIRTH = f"{HA_PREFIX}/status"  # HA's birth ("online") and last will ("offline")


def ha_node_id(household_id: str) -> str:
    """The node id of the household's discovery topics (and its HA device's identifier)."""
    return f"homeflex_{household_id}"


def ha_config_filter(household_id: str, prefix: str = HA_PREFIX) -> str:
    """Every Home Assistant discovery config of the household, and no other's."""
    return f"{prefix}/+/{ha_node_id(household_id)}/+/config"


def household_of(topic: str) -> str:
    """The household id in a homeflex topic; ValueError for a topic outside the tree."""
    parts = topic.split("/")
    if len(parts) < 3 or f"{parts[0]}/{parts[1]}" != PREFIX or not parts[2]:
        raise ValueError(f"not a homeflex topic: {topic!r}")
    return parts[2]


def device_of(topic: str) -> str:
    parts = topic.split("/")
    if len(parts) < 5:
        raise ValueError(f"not a device topic: {topic!r}")
    return parts[3]


def is_topic_level(name: str) -> bool:
    """One MQTT topic level that is safe to publish to: no separators, wildcards or NUL."""
    return bool(name) and len(name) <= 64 and not any(c in name for c in "/+#\0")


def config(household_id: str) -> str:
    """The household's configuration document (homeflex.household), retained: portal -> agent."""
    return f"{PREFIX}/{household_id}/config"
