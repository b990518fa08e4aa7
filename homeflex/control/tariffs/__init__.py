"""Time-of-use tariffs as adapters, one per file, found through a registry by name (evcc-style).

A tariff turns a horizon (start, steps, step length) into per-step import and export prices in £/kWh
for the planner. Configs are plain mappings, e.g. ``{"type": "two_rate", "night_gbp_per_kwh": 0.085}``;
unknown types and unknown keys are errors that list the valid choices.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Hashable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import numpy as np

from homeflex.control.planner import Tariff
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
        "homeflex.control.tariffs.dynamic",
        "homeflex.control.tariffs.flat",
        "homeflex.control.tariffs.time_of_use",
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


def horizon_prices(source: TariffSource, start: datetime, n_steps: int, step_h: float) -> Tariff:
    """The planner's per-step prices: each step priced at its start. Cached for a hashable (frozen)
    source: households on one tariff re-plan the same horizons."""
    try:
        hash(source)
    except TypeError:  # e.g. a dynamic tariff holds its prices in a mapping
        return _prices(source, start, n_steps, step_h)
    return _cached_prices(cast(Hashable, source), start, n_steps, step_h)


@functools.lru_cache(maxsize=1024)
def _cached_prices(source: Hashable, start: datetime, n_steps: int, step_h: float) -> Tariff:
    return _prices(cast(TariffSource, source), start, n_steps, step_h)


def _prices(source: TariffSource, start: datetime, n_steps: int, step_h: float) -> Tariff:
    times = [start + timedelta(hours=step_h * i) for i in range(n_steps)]
    imp = np.array([source.import_price(t) for t in times])
    exp = np.minimum(np.array([source.export_price(t) for t in times]), imp)
    return Tariff(import_gbp_per_kwh=imp, export_gbp_per_kwh=exp)


def check_price(name: str, value: float) -> None:
    if not -1.0 <= value <= 10.0:
        raise ValueError(f"{name} must be between -1 and 10 £/kWh, got {value}")
