"""What the platform knows of a household beyond its devices: preferences (what it wants) and equipment
(what its devices hold). Filled in from the smart energy profile; defaults match a typical UK home."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homeflex.control.planner import Building, HeatPump
from homeflex.control.tariffs import TariffSource, tariff_from_config


@dataclass(frozen=True, kw_only=True)
class Preferences:
    ev_ready_by_h: float = 7.5  # local hour the car must be charged by
    ev_target_soc: float = 0.8
    comfort_min_c: float = 19.0
    comfort_max_c: float = 22.0
    battery_reserve_soc: float = 0.1
    max_import_kw: float | None = None  # the household's own import limit; None: the supply's
    min_event_share: float = 0.25  # opt in only when at least this share of a request can be delivered
    vulnerable_margin_c: float = 0.5  # planned above the lower comfort bound in a vulnerable home

    def __post_init__(self) -> None:
        if not 0 <= self.ev_ready_by_h < 24:
            raise ValueError("ev_ready_by_h must be a local hour in [0, 24)")
        if not 0 < self.ev_target_soc <= 1 or not 0 <= self.battery_reserve_soc < 1:
            raise ValueError("ev_target_soc must be in (0, 1] and battery_reserve_soc in [0, 1)")
        if self.comfort_max_c - self.comfort_min_c < 1.0:
            raise ValueError("the comfort band must be at least 1 °C wide")
        if self.max_import_kw is not None and self.max_import_kw <= 0:
            raise ValueError("max_import_kw must be positive")
        if not 0 < self.min_event_share <= 1 or self.vulnerable_margin_c < 0:
            raise ValueError("min_event_share must be in (0, 1] and vulnerable_margin_c >= 0")


@dataclass(frozen=True, kw_only=True)
class Equipment:
    ev_capacity_kwh: float = 60.0
    ev_efficiency: float = 0.9
    ev_taper_soc: float = 0.8  # above this the car takes less than the charger's maximum (CC-CV)
    battery_capacity_kwh: float = 13.5
    battery_round_trip: float = 0.9
    building: Building = field(default_factory=Building)
    heat_pump: HeatPump = field(default_factory=HeatPump)

    def __post_init__(self) -> None:
        if self.ev_capacity_kwh <= 0 or self.battery_capacity_kwh <= 0:
            raise ValueError("capacities must be positive")
        if not 0 < self.ev_efficiency <= 1 or not 0 < self.battery_round_trip <= 1:
            raise ValueError("efficiencies must be in (0, 1]")


@dataclass(frozen=True, kw_only=True)
class HouseholdSetup:
    preferences: Preferences = field(default_factory=Preferences)
    equipment: Equipment = field(default_factory=Equipment)
    tariff: TariffSource = field(default_factory=lambda: tariff_from_config({"type": "flat"}))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HouseholdSetup:
        """From ``{"preferences": {...}, "tariff": {"type": ...}}``; unknown keys are errors."""
        unknown = sorted(set(config) - {"preferences", "tariff"})
        if unknown:
            raise ValueError(f"household setup: unknown keys {unknown}; valid: ['preferences', 'tariff']")
        try:
            prefs = Preferences(**dict(config.get("preferences", {})))
        except TypeError as err:
            raise ValueError(f"preferences: {err}") from None
        tariff = tariff_from_config(config.get("tariff", {"type": "flat"}))
        return cls(preferences=prefs, tariff=tariff)
