"""Tariffs as adapters, one per file, found through a registry by name (evcc-style).

A tariff prices a household's supply: import and export £/kWh at a given time (the planner's per-step
prices are control/prices.py's). Pure values: the household's configuration document checks its tariff
here, the control loop plans against it, the scenarios price energy with it. Configs are plain mappings,
e.g. ``{"type": "two_rate", "night_gbp_per_kwh": 0.085}``; unknown types and unknown keys are errors that
list the valid choices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from homeflex.core.registry import Registry

# UK Smart Export Guarantee rates are well below import rates; the planner refuses export above import.
DEFAULT_EXPORT_GBP_PER_KWH = 0.15


class TariffSource(Protocol):
    """Prices for a household's supply, £/kWh, looked up per step start."""

    name: str

    def import_price(self, when: datetime) -> float: ...

    def export_price(self, when: datetime) -> float: ...


# Name -> a frozen dataclass built from the config's other keys.
TARIFFS: Registry[type[Any]] = Registry(
    "tariff type",
    builtin=(
        "homeflex.tariffs.dynamic",
        "homeflex.tariffs.flat",
        "homeflex.tariffs.time_of_use",
    ),
)
register = TARIFFS.register


def registered() -> list[str]:
    return TARIFFS.names()


def tariff_from_config(config: Mapping[str, Any]) -> TariffSource:
    """Build a tariff from ``{"type": name, **fields}``; ValueError names a bad type, key or value."""
    body = dict(config)
    kind = body.pop("type", None)
    if not isinstance(kind, str):
        raise ValueError(f"unknown tariff type {kind!r}; known: {', '.join(TARIFFS.names())}")
    cls = TARIFFS.get(kind)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(body) - fields)
    if unknown:
        raise ValueError(f"tariff {kind}: unknown keys {unknown}; valid: {sorted(fields)}")
    try:
        source: TariffSource = cls(**body)
    except TypeError as err:
        raise ValueError(f"tariff {kind}: {err}") from None
    return source


def check_price(name: str, value: float) -> None:
    if not -1.0 <= value <= 10.0:
        raise ValueError(f"{name} must be between -1 and 10 £/kWh, got {value}")
