"""The planner's per-step prices from a household's tariff (homeflex.tariffs): each half-hour step priced
at its start, export never above import."""

from __future__ import annotations

import functools
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import cast

import numpy as np

from homeflex.control.planner import Tariff
from homeflex.tariffs import TariffSource


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
