"""Domain values shared by every part of homeflex.

Sign convention, stated once: power and energy are positive when the household (or a device) takes
from the grid or the house circuit (import / consumption) and negative when it gives (export / generation).
Units are fixed in the names: W, Wh, kW, kWh, s, £ (GBP).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

# A household id names MQTT topics, usernames and files: short, lowercase, no MQTT wildcard or separator.
# "svc-" names the platform's own service accounts (mqtt/access.py), so no household may take it.
HOUSEHOLD_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
SERVICE_PREFIX = "svc-"


def household_id_problem(household_id: str) -> str | None:
    """Why `household_id` cannot name a household, or None when it can. Checked where ids enter
    (operator API, portal, CLI), so everything behind them may rely on it."""
    if not HOUSEHOLD_ID.fullmatch(household_id):
        shown = household_id if len(household_id) <= 40 else household_id[:40] + "..."
        return (
            f"household id {shown!r} must be 1-32 characters of a-z, 0-9, '_' and '-', "
            "starting with a letter or digit"
        )
    if household_id.startswith(SERVICE_PREFIX):
        return f"household id {household_id!r}: {SERVICE_PREFIX!r} is reserved for the platform's services"
    return None


class Category(StrEnum):
    """Customer categories; a customer can move between them over time."""

    A = "A"  # System Service Provider (incl. aggregators with DSO/TSO contracts)
    B = "B"  # Active Participant
    C = "C"  # Passive Participant
    D = "D"  # Passive Consumer


class Stage(IntEnum):
    """Operating stage of a household's control loop."""

    MANUAL = 1  # observe and learn
    AUTOMATIC = 2  # optimise against the tariff, no flex
    FLEX = 3  # automatic with flex: responds to DSO events


class DeviceKind(StrEnum):
    EV_CHARGER = "ev_charger"
    HEAT_PUMP = "heat_pump"
    BATTERY = "battery"
    PV = "pv"
    SMART_PLUG = "smart_plug"


@dataclass(frozen=True, kw_only=True)
class DeviceSpec:
    """A controllable device as the platform knows it: identity and limits."""

    id: str
    kind: DeviceKind
    max_power_w: float  # largest consumption (or, for PV/battery, generation) magnitude

    def __post_init__(self) -> None:
        if not self.id or "/" in self.id or "+" in self.id or "#" in self.id:
            raise ValueError(f"invalid device id {self.id!r}")
        if self.max_power_w <= 0:
            raise ValueError(f"device {self.id}: max_power_w must be positive")


@dataclass(frozen=True, kw_only=True)
class HouseholdSpec:
    id: str
    category: Category
    stage: Stage
    devices: tuple[DeviceSpec, ...] = ()
    vulnerable: bool = False
    group: str = "community"
    max_import_w: float = 23_000.0  # 100 A single-phase supply

    def __post_init__(self) -> None:
        if not self.id or "/" in self.id or "+" in self.id or "#" in self.id:
            raise ValueError(f"invalid household id {self.id!r}")
        ids = [d.id for d in self.devices]
        if len(ids) != len(set(ids)):
            raise ValueError(f"household {self.id}: duplicate device ids")

    def device(self, kind: DeviceKind) -> DeviceSpec | None:
        return self._by_kind.get(kind)

    @functools.cached_property
    def _by_kind(self) -> dict[DeviceKind, DeviceSpec]:
        """The first device of each kind (asked on every control tick)."""
        found: dict[DeviceKind, DeviceSpec] = {}
        for d in self.devices:
            found.setdefault(d.kind, d)
        return found


@dataclass(frozen=True, kw_only=True)
class FlexEvent:
    """A DSO request to reduce import in a window, as the household side sees it."""

    event_id: str
    modification_number: int
    start: datetime
    duration: timedelta
    reduction_w: float  # requested reduction for this household
    price_gbp_per_mwh: float
    cancelled: bool = False
    trial: bool = False  # run for real to show what would be delivered; pays nothing

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("event start must be timezone-aware")
        if self.duration <= timedelta(0):
            raise ValueError("event duration must be positive")
        if self.reduction_w < 0:
            raise ValueError("requested reduction must not be negative")

    @property
    def end(self) -> datetime:
        return self.start + self.duration


READING_SOURCES = ("meter", "upload")  # in order of trust: the first wins


@dataclass(frozen=True, kw_only=True)
class MeterReading:
    """One reading of a household meter. Registers are cumulative since installation."""

    household_id: str
    ts: datetime  # when it was measured (UTC)
    import_wh: float
    export_wh: float
    power_w: float  # instantaneous net power, + import
    received_at: datetime | None = field(default=None, compare=False)  # when the platform got it
    # Who measured it: "meter" (the household's smart meter, over MQTT) or "upload" (a CSV the customer
    # or an operator imported). Where both give a time, the meter's reading is the one kept.
    source: str = "meter"

    def __post_init__(self) -> None:
        if self.source not in READING_SOURCES:
            raise ValueError(f"reading source must be one of {', '.join(READING_SOURCES)}: {self.source!r}")
