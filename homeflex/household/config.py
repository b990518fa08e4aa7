"""One household's configuration, one document: its devices (kind, limits, protocol and address), its
meter, equipment, preferences and tariff. The portal's profile writes it (a new ``version`` each change),
it is sent retained on the household's own MQTT subtree (``topics.config``), and the household agent runs
from it; a self-installer can write it as a TOML file. The simulated population produces the same
document, so a simulated household is one more household.

Parsing is strict: unknown keys are refused with the valid ones listed, and every error carries the dotted
path of its field (``ConfigError.field``) so the portal can show it beside the field.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from homeflex.control.planner import Building, HeatPump
from homeflex.control.setup import Equipment, HouseholdSetup, Preferences
from homeflex.control.tariffs import tariff_from_config
from homeflex.core import topics
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, HouseholdSpec, Stage
from homeflex.core.strict import ConfigError, from_mapping
from homeflex.core.timeutil import iso
from homeflex.drivers import DRIVERS, DriverInfo

SCHEMA = 1  # the document's format; a change that old agents cannot read bumps it


@dataclass(frozen=True, kw_only=True)
class DeviceConfig:
    """A controllable device: what it is, its limit, and how to reach it (its driver's address)."""

    id: str
    kind: DeviceKind
    max_power_w: float
    protocol: str = "homeflex"
    address: Any = None  # the driver's frozen address config (DriverInfo.config)
    product: str | None = None  # e.g. "Shelly Plus Plug S": shown to people, never interpreted

    def __post_init__(self) -> None:
        self.spec  # noqa: B018 (validates id and limit once, where the document is read)
        if self.address is None:  # the driver's defaults
            object.__setattr__(self, "address", self.driver.parse({}))

    @property
    def spec(self) -> DeviceSpec:
        return DeviceSpec(id=self.id, kind=self.kind, max_power_w=self.max_power_w)

    @property
    def driver(self) -> DriverInfo:
        return DRIVERS.get(self.protocol)


@dataclass(frozen=True, kw_only=True)
class MeterConfig:
    """The household's meter: ``homeflex`` (the simulated meter publishes its own readings) or a driver
    that can meter (e.g. a Shelly Pro 3EM), whose readings the agent forwards to telemetry."""

    protocol: str = "homeflex"
    address: Any = None
    product: str | None = None

    def __post_init__(self) -> None:
        if self.address is None:
            object.__setattr__(self, "address", DRIVERS.get(self.protocol).parse({}))


@dataclass(frozen=True, kw_only=True)
class HouseholdConfig:
    household_id: str
    version: int = 1
    category: Category = Category.C
    stage: Stage = Stage.MANUAL
    vulnerable: bool = False
    group: str = "community"
    max_import_w: float = 23_000.0
    devices: tuple[DeviceConfig, ...] = ()
    meter: MeterConfig = field(default_factory=MeterConfig)
    equipment: Equipment = field(default_factory=Equipment)
    preferences: Preferences = field(default_factory=Preferences)
    tariff: Mapping[str, Any] = field(default_factory=lambda: {"type": "flat"})

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ConfigError("version", "must be 1 or more")
        self.spec  # noqa: B018 (household id and duplicate devices checked once)

    @classmethod
    def from_spec(cls, spec: HouseholdSpec, **rest: Any) -> HouseholdConfig:
        """The document of a household known by its spec (identity, category, stage, group, limit);
        ``rest``: its devices, meter, equipment, preferences, tariff, version."""
        return cls(
            household_id=spec.id,
            category=spec.category,
            stage=spec.stage,
            vulnerable=spec.vulnerable,
            group=spec.group,
            max_import_w=spec.max_import_w,
            **rest,
        )

    @property
    def spec(self) -> HouseholdSpec:
        return HouseholdSpec(
            id=self.household_id,
            category=self.category,
            stage=self.stage,
            devices=tuple(d.spec for d in self.devices),
            vulnerable=self.vulnerable,
            group=self.group,
            max_import_w=self.max_import_w,
        )

    @property
    def setup(self) -> HouseholdSetup:
        return HouseholdSetup(
            preferences=self.preferences, equipment=self.equipment, tariff=tariff_from_config(self.tariff)
        )

    def device(self, device_id: str) -> DeviceConfig:
        for d in self.devices:
            if d.id == device_id:
                return d
        raise KeyError(device_id)

    def to_document(self) -> dict[str, Any]:
        """The JSON-able document (what is stored, sent and written to a file)."""
        return {
            "schema": SCHEMA,
            "household_id": self.household_id,
            "version": self.version,
            "category": self.category.value,
            "stage": int(self.stage),
            "vulnerable": self.vulnerable,
            "group": self.group,
            "max_import_w": self.max_import_w,
            "devices": [_device_document(d) for d in self.devices],
            "meter": _device_document(self.meter),
            "equipment": {
                **_plain(self.equipment),
                "building": _plain(self.equipment.building),
                "heat_pump": _plain(self.equipment.heat_pump),
            },
            "preferences": _plain(self.preferences),
            "tariff": _jsonable(self.tariff),
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_document(), separators=(",", ":")).encode()


def _device_document(d: DeviceConfig | MeterConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, DeviceConfig):
        out = {"id": d.id, "kind": d.kind.value, "max_power_w": d.max_power_w}
    out["protocol"] = d.protocol
    out["address"] = _plain(d.address)
    if d.product:
        out["product"] = d.product
    return out


def _plain(value: Any) -> dict[str, Any]:
    """A config dataclass's fields as JSON and TOML can hold them: None and infinity are left out (they
    are the defaults where they are allowed), nested dataclasses are left to the caller."""
    out = {}
    for f in fields(value):
        v = getattr(value, f.name)
        if v is None or (isinstance(v, float) and math.isinf(v)) or is_dataclass(v):
            continue
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {iso(k) if isinstance(k, datetime) else str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# --- reading -----------------------------------------------------------------------------------

_TOP = {
    "schema",
    "household_id",
    "version",
    "category",
    "stage",
    "vulnerable",
    "group",
    "max_import_w",
    "devices",
    "meter",
    "equipment",
    "preferences",
    "tariff",
}


def parse_config(raw: Any) -> HouseholdConfig:
    """The document in ``raw`` (a mapping, as from JSON or TOML); ConfigError names the field."""
    if not isinstance(raw, Mapping):
        raise ConfigError("", "a household configuration must be a table")
    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise ConfigError("", f"unknown keys {unknown}; valid: {sorted(_TOP)}")
    schema = raw.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise ConfigError("schema", f"this agent reads schema {SCHEMA}, the document has {schema!r}")
    if "household_id" not in raw:
        raise ConfigError("household_id", "missing")
    top = {k: raw[k] for k in ("household_id", "version", "vulnerable", "group", "max_import_w") if k in raw}
    _check_types(top)
    try:
        if "category" in raw:
            top["category"] = Category(raw["category"])
    except ValueError:
        raise ConfigError("category", f"one of {[c.value for c in Category]}") from None
    try:
        if "stage" in raw:
            top["stage"] = Stage(raw["stage"])
    except ValueError:
        raise ConfigError("stage", "1 (manual), 2 (automatic) or 3 (automatic with flex)") from None
    devices = raw.get("devices", [])
    if not isinstance(devices, list):
        raise ConfigError("devices", "must be a list of devices")
    tariff = raw.get("tariff", {"type": "flat"})
    try:
        tariff_from_config(tariff if isinstance(tariff, Mapping) else {})
    except ValueError as err:
        raise ConfigError("tariff", str(err)) from None
    try:
        return HouseholdConfig(
            **top,
            devices=tuple(_device(d, f"devices[{i}]") for i, d in enumerate(devices)),
            meter=_meter(raw.get("meter", {})),
            equipment=_equipment(raw.get("equipment", {})),
            preferences=from_mapping(Preferences, raw.get("preferences", {}), "preferences"),
            tariff=dict(tariff),
        )
    except ConfigError:
        raise
    except ValueError as err:
        raise ConfigError("", str(err)) from None


def _check_types(top: Mapping[str, Any]) -> None:
    expected: dict[str, type | tuple[type, ...]] = {
        "household_id": str,
        "version": int,
        "vulnerable": bool,
        "group": str,
        "max_import_w": (int, float),
    }
    for key, value in top.items():
        if not isinstance(value, expected[key]) or (key != "vulnerable" and isinstance(value, bool)):
            raise ConfigError(key, f"wrong type {type(value).__name__}")
    if "household_id" in top and not topics.is_topic_level(top["household_id"]):
        raise ConfigError("household_id", "must be one MQTT topic level (no '/', '+', '#')")


def _address(info: DriverInfo, raw: Any, where: str) -> Any:
    return info.parse(raw if raw is not None else {}, f"{where}.address")


def _protocol(raw: Mapping[str, Any], where: str) -> DriverInfo:
    try:
        return DRIVERS.get(str(raw.get("protocol", "homeflex")))
    except ValueError as err:
        raise ConfigError(f"{where}.protocol", str(err)) from None


def _device(raw: Any, where: str) -> DeviceConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, "must be a table")
    valid = {"id", "kind", "max_power_w", "protocol", "address", "product"}
    unknown = sorted(set(raw) - valid)
    if unknown:
        raise ConfigError(where, f"unknown keys {unknown}; valid: {sorted(valid)}")
    for key in ("id", "kind", "max_power_w"):
        if key not in raw:
            raise ConfigError(f"{where}.{key}", "missing")
    try:
        kind = DeviceKind(raw["kind"])
    except ValueError:
        raise ConfigError(f"{where}.kind", f"one of {[k.value for k in DeviceKind]}") from None
    info = _protocol(raw, where)
    if kind not in info.kinds:
        kinds = ", ".join(sorted(k.value for k in info.kinds))
        raise ConfigError(f"{where}.protocol", f"{info.title} drives {kinds}, not {kind.value}")
    power = raw["max_power_w"]
    if not isinstance(power, int | float) or isinstance(power, bool) or not 0 < power <= 100_000:
        raise ConfigError(f"{where}.max_power_w", "must be a number of watts in (0, 100000]")
    address = _address(info, raw.get("address"), where)
    if info.fits is not None:
        try:
            info.fits(kind, address)
        except ValueError as err:
            raise ConfigError(f"{where}.address", str(err)) from None
    try:
        return DeviceConfig(
            id=str(raw["id"]),
            kind=kind,
            max_power_w=float(power),
            protocol=info.protocol,
            address=address,
            product=raw.get("product"),
        )
    except ConfigError:
        raise
    except ValueError as err:
        raise ConfigError(f"{where}.id", str(err)) from None


def _meter(raw: Any) -> MeterConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError("meter", "must be a table")
    unknown = sorted(set(raw) - {"protocol", "address", "product"})
    if unknown:
        raise ConfigError("meter", f"unknown keys {unknown}; valid: ['address', 'product', 'protocol']")
    info = _protocol(raw, "meter")
    if info.protocol != "homeflex" and not info.meter:
        raise ConfigError("meter.protocol", f"{info.title} cannot be the household's meter")
    return MeterConfig(
        protocol=info.protocol,
        address=_address(info, raw.get("address"), "meter"),
        product=raw.get("product"),
    )


def _equipment(raw: Any) -> Equipment:
    if not isinstance(raw, Mapping):
        raise ConfigError("equipment", "must be a table")
    body = dict(raw)
    building = from_mapping(Building, body.pop("building", {}), "equipment.building")
    pump = from_mapping(HeatPump, body.pop("heat_pump", {}), "equipment.heat_pump")
    return from_mapping(Equipment, {**body, "building": building, "heat_pump": pump}, "equipment")


def load_config_file(path: str | Path) -> HouseholdConfig:
    """A self-installer's configuration file (TOML, or JSON by its suffix)."""
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as err:
        raise ConfigError("", f"cannot read {file}: {err.strerror}") from None
    try:
        raw = json.loads(text) if file.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(
            "", f"{file} is not valid {'JSON' if file.suffix == '.json' else 'TOML'}: {err}"
        ) from None
    return parse_config(raw)


def config_from_json(payload: bytes) -> HouseholdConfig:
    try:
        raw = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as err:
        raise ConfigError("", f"not JSON: {err}") from None
    return parse_config(raw)
