"""The smart energy profile a householder fills in, the compatibility check of the technology they
already own, and plan eligibility (pure). Preferences and tariff are validated by the control loop's
own setup (homeflex.control.setup), so the portal cannot store what the loop would refuse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeflex.control.devices import registered_kinds
from homeflex.control.setup import HouseholdSetup
from homeflex.core.domain import DeviceKind
from homeflex.drivers import DRIVERS
from homeflex.portal.deviceform import METER, kind_of, read_wiring

HOME_TYPES = ("detached", "semi-detached", "terraced", "flat", "bungalow")
TARIFFS = {
    "flat": "Flat rate",
    "two_rate": "Two-rate (e.g. Economy 7)",
    "three_rate": "Three-rate (peak)",
    "dynamic": "Dynamic (day-ahead prices)",
}

# Device fields: (form name, label, unit, lower, upper). Units are in the names.
DEVICE_FIELDS: dict[str, tuple[tuple[str, str, str, float, float], ...]] = {
    "ev_charger": (
        ("ev_charger_kw", "EV charger power", "kW", 1.4, 22.0),
        ("ev_battery_kwh", "EV battery capacity", "kWh", 10.0, 200.0),
    ),
    "heat_pump": (("heat_pump_kw", "Heat pump electrical power", "kW", 0.5, 10.0),),
    "pv": (("pv_kwp", "Solar panels peak power", "kWp", 0.5, 20.0),),
    "battery": (
        ("battery_kwh", "Home battery capacity", "kWh", 1.0, 40.0),
        ("battery_kw", "Home battery power", "kW", 0.5, 15.0),
    ),
    "smart_plug": (
        ("smart_appliances", "Smart appliances (washing machine, dishwasher...)", "count", 1, 10),
        ("smart_plug_kw", "Power of the appliance on the smart plug", "kW", 0.1, 3.7),
    ),
}
DEVICE_NAMES = {
    "ev_charger": "EV and charger",
    "heat_pump": "Heat pump",
    "pv": "Solar PV",
    "battery": "Home battery",
    "smart_plug": "Smart appliances",
}
# A household's further smart plugs, each a slot of its own (deviceform.py): as many as the platform's
# broker lets a household's devices log in as (homeflex.mqtt.access.HOUSEHOLD_PARTS: plug1..plug4).
EXTRA_PLUGS = 4
DEVICE_FIELDS.update(
    {
        f"smart_plug{n}": ((f"smart_plug{n}_kw", f"Appliance on smart plug {n + 1}", "kW", 0.1, 3.7),)
        for n in range(1, EXTRA_PLUGS + 1)
    }
)
# Each slot of the form by its title: the device kinds' names and the further plugs'.
SLOT_NAMES = DEVICE_NAMES | {f"smart_plug{n}": f"Smart plug {n + 1}" for n in range(1, EXTRA_PLUGS + 1)}


class ProfileError(ValueError):
    """The form has mistakes; `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _number(
    form: Mapping[str, str], name: str, label: str, lo: float, hi: float, errors: dict[str, str]
) -> float | None:
    text = (form.get(name) or "").strip()
    try:
        value = float(text)
    except ValueError:
        errors[name] = f"{label}: enter a number"
        return None
    if not lo <= value <= hi:
        errors[name] = f"{label} must be between {lo:g} and {hi:g}"
        return None
    return value


def _hour(text: str) -> float:
    hh, _, mm = text.strip().partition(":")
    hour, minute = int(hh), int(mm or "0")
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(text)
    return hour + minute / 60


def _meter_wiring(form: Mapping[str, str], errors: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The meter's wiring when a metering product measures the supply; else none (the simulated
    meter publishes its own readings)."""
    meter = read_wiring(form, METER, errors)
    if meter.get("protocol", "homeflex") != "homeflex" or meter.get("address") or meter.get("product"):
        return {METER: meter}
    return {}


def parse_profile(form: Mapping[str, str]) -> dict[str, Any]:
    """A submitted profile form -> the stored profile; ProfileError lists every mistake at once. The
    household's configuration document is made from it (profileconfig.py)."""
    errors: dict[str, str] = {}
    home_type = form.get("home_type", "")
    if home_type not in HOME_TYPES:
        errors["home_type"] = f"choose one of {', '.join(HOME_TYPES)}"
    area = _number(form, "floor_area_m2", "Floor area", 15, 1000, errors)
    occupants = _number(form, "occupants", "Occupants", 1, 20, errors)
    devices: dict[str, dict[str, float]] = {}
    wiring: dict[str, dict[str, Any]] = {}  # how each device is reached (deviceform.py)
    for kind, fields in DEVICE_FIELDS.items():
        if form.get(f"has_{kind}") not in ("on", "1", "true", "yes"):
            continue
        spec = {}
        for name, label, _unit, lo, hi in fields:
            value = _number(form, name, label, lo, hi, errors)
            if value is not None:
                spec[name] = value
        devices[kind] = spec
        wiring[kind] = read_wiring(form, kind, errors)
    wiring |= _meter_wiring(form, errors)
    tariff = form.get("tariff", "")
    if tariff not in TARIFFS:
        errors["tariff"] = f"choose one of {', '.join(TARIFFS)}"
    prefs: dict[str, float] = {}
    try:
        prefs["ev_ready_by_h"] = _hour(form.get("ev_ready_by", "07:30"))
    except ValueError:
        errors["ev_ready_by"] = "EV ready-by must be a time such as 07:30"
    for name, label, lo, hi in (
        ("comfort_min_c", "Lowest comfortable temperature", 10, 25),
        ("comfort_max_c", "Highest comfortable temperature", 12, 28),
        ("battery_reserve_pct", "Battery reserve", 0, 90),
        ("ev_target_pct", "EV charge target", 20, 100),
    ):
        value = _number(form, name, label, lo, hi, errors)
        if value is not None:
            prefs[name] = value
    preferences: dict[str, float] = {}
    if not errors:
        preferences = {
            "ev_ready_by_h": prefs["ev_ready_by_h"],
            "ev_target_soc": prefs["ev_target_pct"] / 100,
            "comfort_min_c": prefs["comfort_min_c"],
            "comfort_max_c": prefs["comfort_max_c"],
            "battery_reserve_soc": prefs["battery_reserve_pct"] / 100,
        }
        try:  # the control loop's own rules (e.g. the comfort band at least 1 °C wide)
            HouseholdSetup.from_config({"preferences": preferences, "tariff": {"type": tariff}})
        except ValueError as err:
            errors["preferences"] = str(err)
    if errors:
        raise ProfileError(errors)
    return {
        "home": {"type": home_type, "floor_area_m2": area, "occupants": occupants},
        "devices": devices,
        "wiring": wiring,
        "tariff": {"type": tariff},
        "preferences": preferences,
    }


# -- compatibility of technology the customer already owns ---------------------------------------
# The protocols are the driver registry's (homeflex.drivers); these answers are for devices that speak
# none of them.
NO_DRIVER = {
    "cloud": "manufacturer's cloud app only",
    "other": "another way (e.g. Modbus)",
    "none": "no connectivity",
}
LEGACY = {"homeflex_mqtt": "homeflex", "modbus": "other"}  # answers stored before the driver registry
OTHER_KINDS = {
    "storage_heater": "Storage heaters",
    "gas_boiler": "Gas boiler",
    "hot_water": "Hot-water diverter",
}


def connectivity() -> dict[str, str]:
    """Every answer to "how does it connect?": each registered driver with the products known to speak
    it, then the answers no driver takes."""
    out = {}
    for name, info in DRIVERS:
        known = f" (e.g. {', '.join(info.products[:3])})" if info.products else ""
        out[name] = f"{info.title}{known}"
    return {**out, **NO_DRIVER}


@dataclass(frozen=True, kw_only=True)
class Compatibility:
    kind: str
    name: str
    compatible: bool
    why: str


def _verdict(kind: str, protocol: str) -> tuple[bool, str]:
    supported = {k.value for k in registered_kinds()}
    if kind not in supported:
        return False, "no adapter for this kind of device yet"
    protocol = LEGACY.get(protocol, protocol)
    if protocol in NO_DRIVER:
        fit = "the installer can fit a compatible controller"
        return False, f"{NO_DRIVER[protocol]} is not supported yet: {fit}"
    if protocol not in DRIVERS.names():
        return False, "unknown connectivity"
    info = DRIVERS.get(protocol)
    if DeviceKind(kind) not in info.kinds:
        drives = ", ".join(sorted(DEVICE_NAMES.get(k.value, k.value) for k in info.kinds))
        return False, f"{info.title} drives {drives} here, not this device: the installer can advise"
    products = f"; known to work: {', '.join(info.products)}" if info.products else ""
    return True, f"supported over {info.title}{products}"


def check_compatibility(owned: Mapping[str, str]) -> list[Compatibility]:
    """`owned` maps a device kind to the protocol it speaks; one verdict per device with the reason."""
    out = []
    for kind, protocol in owned.items():
        ok, why = _verdict(kind, protocol)
        name = DEVICE_NAMES.get(kind) or OTHER_KINDS.get(kind) or kind
        out.append(Compatibility(kind=kind, name=name, compatible=ok, why=why))
    return out


# -- plans ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Plan:
    id: str
    name: str
    needs: tuple[DeviceKind, ...]  # all of these
    description: str
    quote_gbp: int  # indicative installation price


PLANS: dict[str, Plan] = {
    p.id: p
    for p in (
        Plan(
            id="ev",
            name="EV smart charging",
            needs=(DeviceKind.EV_CHARGER,),
            quote_gbp=350,
            description="Charge the car when electricity is cheap and be paid for pausing during DSO events.",
        ),
        Plan(
            id="heat_pump",
            name="Heat pump",
            needs=(DeviceKind.HEAT_PUMP,),
            quote_gbp=450,
            description="Pre-heat within your comfort band and ease off at peak times.",
        ),
        Plan(
            id="solar_battery",
            name="Solar + battery",
            needs=(DeviceKind.PV, DeviceKind.BATTERY),
            quote_gbp=600,
            description="Use your own solar first and discharge the battery when the network is busy.",
        ),
    )
}


def eligible_plans(profile: Mapping[str, Any]) -> list[tuple[Plan, bool, str]]:
    """Every plan with whether the profile allows it and why."""
    devices = {kind_of(slot) for slot in profile.get("devices", {})}
    out = []
    for plan in PLANS.values():
        missing = [DEVICE_NAMES[k.value] for k in plan.needs if k.value not in devices]
        out.append((plan, not missing, "eligible" if not missing else f"needs {' and '.join(missing)}"))
    return out
