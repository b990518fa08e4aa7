"""Planning inputs: frozen, keyword-only value objects validated on construction.

Time is a horizon of N steps of ``step_h`` hours (half-hours by default); step ``t`` covers
``[start + t·step_h, start + (t+1)·step_h)``. Every per-step series is a 1-D float array of length N.
Sign convention as in :mod:`homeflex.core.domain`: + = import / consumption.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from homeflex.core.household import Building, HeatPump

FloatArray = NDArray[np.float64]


def as_series(values: object, n: int, name: str) -> FloatArray:
    """A read-only float copy of ``values`` checked to have length ``n`` and no NaN."""
    arr = np.array(values, dtype=np.float64).reshape(-1)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected {n} steps, got {arr.shape[0]}")
    if np.isnan(arr).any():
        raise ValueError(f"{name}: contains NaN")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, kw_only=True)
class Tariff:
    """Import and export prices per step, £/kWh. Flat, two-rate and dynamic tariffs are all arrays."""

    import_gbp_per_kwh: FloatArray
    export_gbp_per_kwh: FloatArray

    def __post_init__(self) -> None:
        n = np.asarray(self.import_gbp_per_kwh).size
        imp = as_series(self.import_gbp_per_kwh, n, "import_gbp_per_kwh")
        exp = as_series(self.export_gbp_per_kwh, n, "export_gbp_per_kwh")
        if (exp > imp + 1e-12).any():
            # Otherwise the LP would import and export at once to arbitrage the spread.
            raise ValueError("export price above import price in some step")
        object.__setattr__(self, "import_gbp_per_kwh", imp)
        object.__setattr__(self, "export_gbp_per_kwh", exp)


@dataclass(frozen=True, kw_only=True)
class EvSession:
    """One plugged-in session: plugged over steps [arrival_step, departure_step)."""

    arrival_step: int
    departure_step: int
    ready_by_step: int  # target energy delivered within [arrival_step, ready_by_step)
    target_kwh: float  # energy into the battery (after charger losses)
    max_kw: float = 7.4
    efficiency: float = 0.9  # AC -> battery

    def __post_init__(self) -> None:
        if not 0 <= self.arrival_step <= self.ready_by_step <= self.departure_step:
            raise ValueError("EV steps must satisfy 0 <= arrival <= ready_by <= departure")
        if self.target_kwh < 0 or self.max_kw <= 0 or not 0 < self.efficiency <= 1:
            raise ValueError("EV: target_kwh >= 0, max_kw > 0 and 0 < efficiency <= 1 required")

    def max_deliverable_kwh(self, step_h: float, n_steps: int) -> float:
        """The most energy the car can receive by ready-by, ignoring the household's other limits."""
        steps = max(0, min(self.ready_by_step, n_steps) - self.arrival_step)
        return self.max_kw * steps * step_h * self.efficiency


@dataclass(frozen=True, kw_only=True)
class Comfort:
    """Indoor band (°C). The lower bound is hard in the LP for every household; ``vulnerable`` marks
    households for which it must stay hard if a later planner softens it for others."""

    min_c: float = 19.0
    max_c: float = 22.0
    vulnerable: bool = False

    def __post_init__(self) -> None:
        if self.max_c - self.min_c < 0.5:
            raise ValueError("comfort band must be at least 0.5 °C wide")


@dataclass(frozen=True, kw_only=True)
class Heating:
    heat_pump: HeatPump
    building: Building
    comfort: Comfort


@dataclass(frozen=True, kw_only=True)
class Battery:
    capacity_kwh: float = 13.5
    max_kw: float = 5.0  # both ways
    round_trip_efficiency: float = 0.9  # split as sqrt into charge and discharge
    initial_soc: float = 0.5  # fraction of capacity
    reserve_soc: float = 0.1

    def __post_init__(self) -> None:
        if self.capacity_kwh <= 0 or self.max_kw <= 0 or not 0 < self.round_trip_efficiency <= 1:
            raise ValueError("battery: capacity > 0, max_kw > 0 and 0 < efficiency <= 1 required")
        if not 0 <= self.reserve_soc <= self.initial_soc <= 1:
            raise ValueError("battery: 0 <= reserve_soc <= initial_soc <= 1 required")

    @property
    def leg_efficiency(self) -> float:
        return float(np.sqrt(self.round_trip_efficiency))


@dataclass(frozen=True, kw_only=True)
class PlanningProblem:
    """Everything one household's plan depends on. ``import_cap_kw`` (stage 3) caps net import
    (import - export) per step, +inf where no DSO cap applies and below zero where it asks for export;
    use :func:`cap_from_reduction` to turn a required reduction into a cap."""

    start: datetime
    now: datetime
    tariff: Tariff
    base_load_kw: FloatArray
    pv_kw: FloatArray
    outdoor_c: FloatArray
    step_h: float = 0.5
    max_import_kw: float = 23.0
    max_export_kw: float = 3.68
    ev: EvSession | None = None
    heating: Heating | None = None
    battery: Battery | None = None
    import_cap_kw: FloatArray | None = None
    cap_penalty_gbp_per_kwh: float | None = None  # None: caps are hard; else best effort at this price
    n_steps: int = field(init=False)

    def __post_init__(self) -> None:
        n = self.tariff.import_gbp_per_kwh.size
        if not 1 <= n <= 200 or self.step_h <= 0:
            raise ValueError("horizon must have 1..200 steps of positive length")
        object.__setattr__(self, "n_steps", n)
        for name in ("base_load_kw", "pv_kw", "outdoor_c"):
            object.__setattr__(self, name, as_series(getattr(self, name), n, name))
        if (self.pv_kw < 0).any():
            raise ValueError("pv_kw is a generation magnitude and must be >= 0")
        cap = np.full(n, np.inf) if self.import_cap_kw is None else self.import_cap_kw
        object.__setattr__(self, "import_cap_kw", as_series(cap, n, "import_cap_kw"))
        if self.max_import_kw <= 0 or self.max_export_kw < 0:
            raise ValueError("max_import_kw > 0 and max_export_kw >= 0 required")
        if self.cap_penalty_gbp_per_kwh is not None and self.cap_penalty_gbp_per_kwh <= 0:
            raise ValueError("cap_penalty_gbp_per_kwh must be positive")
        if self.now < self.start:
            raise ValueError("now precedes the horizon start")


def cap_from_reduction(baseline_kw: FloatArray, reduction_kw: FloatArray) -> FloatArray:
    """A per-step net-import cap that delivers ``reduction_kw`` below ``baseline_kw`` (inf where zero);
    a reduction larger than the baseline asks for export."""
    base = np.asarray(baseline_kw, dtype=np.float64)
    red = np.asarray(reduction_kw, dtype=np.float64)
    return np.where(red > 0, base - red, np.inf)
