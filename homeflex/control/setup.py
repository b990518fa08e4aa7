"""The control core's view of a household beyond its devices: its preferences and equipment (plain values,
core.household) and its tariff as a price source, built from the household's configuration document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from homeflex.core.household import Equipment, Preferences
from homeflex.tariffs import TariffSource, tariff_from_config


class SetupDocument(Protocol):
    """The parts of a household's configuration (homeflex.household.HouseholdConfig) the setup is made of."""

    @property
    def preferences(self) -> Preferences: ...

    @property
    def equipment(self) -> Equipment: ...

    @property
    def tariff(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class HouseholdSetup:
    preferences: Preferences = field(default_factory=Preferences)
    equipment: Equipment = field(default_factory=Equipment)
    tariff: TariffSource = field(default_factory=lambda: tariff_from_config({"type": "flat"}))

    @classmethod
    def of(cls, document: SetupDocument) -> HouseholdSetup:
        """The setup a household's configuration document describes (its tariff checked when the
        document was read)."""
        return cls(
            preferences=document.preferences,
            equipment=document.equipment,
            tariff=tariff_from_config(document.tariff),
        )

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
