"""The household's configuration document (homeflex.household) from its smart energy profile and what
the portal knows of it (stage, category, group), validated by the parser the household agent uses
(``parse_config``); a ``ConfigError``'s dotted path is mapped back to the form field it came from, so a
bad field is shown beside that field (pure: no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeflex.core.domain import Category, Stage
from homeflex.core.strict import ConfigError
from homeflex.household import HouseholdConfig, parse_config
from homeflex.portal.deviceform import METER, choices, kind_of, product_field, protocol_field
from homeflex.portal.energy import EXTRA_PLUGS, ProfileError

# A device kind in the profile -> the device's id in the configuration (the simulators' ids) and the
# profile field giving its power limit in kW.
DEVICES: dict[str, tuple[str, str]] = {
    "ev_charger": ("ev", "ev_charger_kw"),
    "heat_pump": ("heat_pump", "heat_pump_kw"),
    "pv": ("pv", "pv_kwp"),
    "battery": ("battery", "battery_kw"),
    "smart_plug": ("plug", "smart_plug_kw"),
}
# The further plugs log in to the platform's broker as plug1..plug4 (homeflex.mqtt.access).
DEVICES |= {f"smart_plug{n}": (f"plug{n}", f"smart_plug{n}_kw") for n in range(1, EXTRA_PLUGS + 1)}
# Equipment the profile describes: equipment key -> (device kind, profile field).
EQUIPMENT = {
    "ev_capacity_kwh": ("ev_charger", "ev_battery_kwh"),
    "battery_capacity_kwh": ("battery", "battery_kwh"),
}


@dataclass(frozen=True, kw_only=True)
class Household:
    """What the portal keeps of the household besides its profile."""

    household_id: str
    stage: Stage
    category: Category
    vulnerable: bool
    group: str


def config_document(profile: Mapping[str, Any], h: Household) -> tuple[dict[str, Any], dict[str, str]]:
    """The raw document (version left to the storage) and, for each of its paths, the form field."""
    owned = dict(profile.get("devices") or {})
    wiring = dict(profile.get("wiring") or {})
    where = {"preferences": "preferences", "tariff": "tariff", "equipment": "profile"}
    where |= {f"equipment.{key}": field for key, (_, field) in EQUIPMENT.items()}
    devices = []
    for i, (kind, spec) in enumerate(owned.items()):
        device_id, power = DEVICES[kind]
        wire = dict(wiring.get(kind) or {})
        devices.append({"id": device_id, "kind": kind_of(kind), "max_power_w": spec[power] * 1000, **wire})
        path = f"devices[{i}]"
        where |= {path: protocol_field(kind), f"{path}.max_power_w": power}
        where |= _wiring_paths(kind, wire, path)
    meter = dict(wiring.get(METER) or {})
    where |= {"meter": protocol_field(METER)} | _wiring_paths(METER, meter, "meter")
    equipment = {key: spec[field] for key, (kind, field) in EQUIPMENT.items() if (spec := owned.get(kind))}
    raw = {
        "household_id": h.household_id,
        "category": h.category.value,
        "stage": int(h.stage),
        "vulnerable": h.vulnerable,
        "group": h.group,
        "devices": devices,
        **({"meter": meter} if meter else {}),
        "equipment": equipment,
        "preferences": dict(profile.get("preferences") or {}),
        "tariff": dict(profile.get("tariff") or {"type": "flat"}),
    }
    return raw, where


def _wiring_paths(slot: str, wire: Mapping[str, Any], path: str) -> dict[str, str]:
    """The form field of each of a device's (or the meter's) wiring paths in the document."""
    where = {f"{path}.protocol": protocol_field(slot), f"{path}.product": product_field(slot)}
    for c in choices(slot):
        if c.protocol == wire.get("protocol") and c.fields:
            where[f"{path}.address"] = c.fields[0].name
            where |= {f"{path}.address.{f.key}": f.name for f in c.fields}
    return where


def form_field(path: str, where: Mapping[str, str], message: str = "") -> str:
    """The form field a document path came from. A table is checked as a whole (a driver's address in
    its ``__post_init__``, the equipment), so for a table the field its message names first is chosen
    (checks say "<key> must ...", "missing keys ['<key>']"); else the longest known prefix."""
    named = [
        (found.start(), field)
        for sub, field in where.items()
        if sub.startswith(f"{path}.")
        and (found := re.search(rf"\b{re.escape(sub.removeprefix(f'{path}.'))}\b", message))
    ]
    if named:
        return min(named)[1]
    for known in sorted(where, key=len, reverse=True):
        if path == known or path.startswith((f"{known}.", f"{known}[")):
            return where[known]
    return "profile"


def household_config(profile: Mapping[str, Any], h: Household) -> HouseholdConfig:
    """The profile as the household agent will read it; ProfileError names the form field."""
    raw, where = config_document(profile, h)
    try:
        return parse_config(raw)
    except ConfigError as err:
        raise ProfileError({form_field(err.field, where, err.message): str(err.message)}) from err
