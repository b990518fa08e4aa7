"""The stage-2 LP as sparse arrays: column layout, bounds, rows and the objective.

Columns are blocks of N (one per step): grid import, grid export, PV curtailment, EV charge, heat-pump
electrical, battery charge, battery discharge (all kW), indoor temperature at the end of each step (°C)
and battery energy at the end of each step (kWh).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from homeflex.control.planner.problem import FloatArray, Heating, PlanningProblem
from homeflex.control.planner.thermal import cop_series, decay, max_electric_kw

# Tie-breaker (£/kWh) against simultaneous battery charge/discharge and needless curtailment.
TINY_PENALTY_GBP_PER_KWH = 1e-5


class Col(IntEnum):
    IMPORT = 0
    EXPORT = 1
    CURTAIL = 2
    EV = 3
    HP = 4
    CHARGE = 5
    DISCHARGE = 6
    INDOOR = 7
    SOC = 8
    SHORTFALL = 9  # net import above a soft DSO cap (kW), priced at the problem's cap penalty


@dataclass(frozen=True, kw_only=True)
class Relax:
    """Requirements to drop when diagnosing infeasibility."""

    caps: bool = False
    ev: bool = False
    comfort: bool = False


@dataclass(frozen=True, kw_only=True)
class LpArrays:
    cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    rows: np.ndarray  # triplets, row-sorted by the caller
    cols: np.ndarray
    vals: FloatArray


def comfort_bounds(heating: Heating, outdoor_c: FloatArray, step_h: float) -> tuple[FloatArray, FloatArray]:
    """Indoor bounds (°C) for the ends of steps 0..N-1.

    The lower bound is the band's minimum, or the warmest the heat pump can keep the house below the
    ceiling where it cannot hold the band (starting below it, or too small for the weather). The upper
    bound only limits heating: where the house would drift above the band unheated (warm weather,
    gains), the ceiling follows that drift so "heat pump off" stays feasible.
    """
    b, c = heating.building, heating.comfort
    n = outdoor_c.size
    cop = cop_series(heating.heat_pump, outdoor_c)
    a, h_kw = decay(b, step_h), b.htc_w_per_k / 1000.0
    t_eq_off = outdoor_c + b.internal_gains_kw / h_kw
    t_eq_flat_out = t_eq_off + cop * max_electric_kw(heating.heat_pump, outdoor_c) / h_kw
    upper, best = np.empty(n), np.empty(n)
    prev_upper = max(c.max_c, b.initial_indoor_c)
    prev_best = b.initial_indoor_c
    for t in range(n):
        prev_upper = max(c.max_c, a * prev_upper + (1.0 - a) * t_eq_off[t])
        upper[t] = prev_upper
        # Flat out, but no warmer than the ceiling: a flat-out path above it would be infeasible.
        prev_best = min(prev_upper, a * prev_best + (1.0 - a) * t_eq_flat_out[t])
        best[t] = prev_best
    return np.minimum(c.min_c, best), upper


def _bounds(p: PlanningProblem, relax: Relax) -> tuple[FloatArray, FloatArray]:
    n, inf = p.n_steps, np.inf
    lo = np.zeros((len(Col), n))
    hi = np.zeros((len(Col), n))
    hi[Col.IMPORT] = p.max_import_kw
    hi[Col.EXPORT] = p.max_export_kw
    hi[Col.CURTAIL] = p.pv_kw
    if p.ev is not None:
        hi[Col.EV, p.ev.arrival_step : min(p.ev.ready_by_step, n)] = p.ev.max_kw
    if p.heating is not None:
        hi[Col.HP] = max_electric_kw(p.heating.heat_pump, p.outdoor_c)
        lo[Col.INDOOR], hi[Col.INDOOR] = comfort_bounds(p.heating, p.outdoor_c, p.step_h)
        if relax.comfort:
            lo[Col.INDOOR] = -inf
    if p.battery is not None:
        bat = p.battery
        hi[Col.CHARGE] = hi[Col.DISCHARGE] = bat.max_kw
        lo[Col.SOC], hi[Col.SOC] = bat.reserve_soc * bat.capacity_kwh, bat.capacity_kwh
    if p.cap_penalty_gbp_per_kwh is not None and p.import_cap_kw is not None and not relax.caps:
        hi[Col.SHORTFALL] = np.where(np.isfinite(p.import_cap_kw), inf, 0.0)
    return lo.reshape(-1), hi.reshape(-1)


def _cost(p: PlanningProblem) -> FloatArray:
    """£ per kW held over each step."""
    cost = np.zeros((len(Col), p.n_steps))
    cost[Col.IMPORT] = p.tariff.import_gbp_per_kwh * p.step_h
    cost[Col.EXPORT] = -p.tariff.export_gbp_per_kwh * p.step_h
    cost[Col.CURTAIL] = cost[Col.CHARGE] = cost[Col.DISCHARGE] = TINY_PENALTY_GBP_PER_KWH * p.step_h
    cost[Col.SHORTFALL] = (p.cap_penalty_gbp_per_kwh or 0.0) * p.step_h
    flat: FloatArray = cost.reshape(-1)
    return flat


def _idx(col: Col, n: int) -> np.ndarray:
    return col * n + np.arange(n)


def build(p: PlanningProblem, relax: Relax = Relax()) -> LpArrays:  # noqa: PLR0915 - one block per row kind
    n, dt = p.n_steps, p.step_h
    steps = np.arange(n)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    rlo: list[FloatArray] = []
    rhi: list[FloatArray] = []

    def add(row0: int, col: Col, coef: FloatArray | float, shift: int = 0) -> None:
        sel = steps[shift:]
        rows.append(row0 + sel)
        cols.append(col * n + sel - shift)
        vals.append(np.full(n - shift, coef) if np.isscalar(coef) else np.asarray(coef, np.float64)[shift:])

    # Power balance: import - export - curtail - ev - hp - charge + discharge = base - pv.
    for col, sign in (
        (Col.IMPORT, 1.0),
        (Col.EXPORT, -1.0),
        (Col.CURTAIL, -1.0),
        (Col.EV, -1.0),
        (Col.HP, -1.0),
        (Col.CHARGE, -1.0),
        (Col.DISCHARGE, 1.0),
    ):
        add(0, col, sign)
    rlo.append(p.base_load_kw - p.pv_kw)
    rhi.append(p.base_load_kw - p.pv_kw)
    nrow = n
    if p.heating is not None:  # T[t+1] - a·T[t] - (1-a)·COP/H·hp = (1-a)·(T_out + gains/H)
        b = p.heating.building
        a, h_kw = decay(b, dt), b.htc_w_per_k / 1000.0
        cop = cop_series(p.heating.heat_pump, p.outdoor_c)
        add(nrow, Col.INDOOR, 1.0)
        add(nrow, Col.INDOOR, -a, shift=1)
        add(nrow, Col.HP, -(1.0 - a) * cop / h_kw)
        rhs = (1.0 - a) * (p.outdoor_c + b.internal_gains_kw / h_kw)
        rhs[0] += a * b.initial_indoor_c
        rlo.append(rhs)
        rhi.append(rhs)
        nrow += n
    if p.battery is not None:  # E[t+1] - E[t] - η·dt·charge + dt/η·discharge = 0
        eta = p.battery.leg_efficiency
        add(nrow, Col.SOC, 1.0)
        add(nrow, Col.SOC, -1.0, shift=1)
        add(nrow, Col.CHARGE, -eta * dt)
        add(nrow, Col.DISCHARGE, dt / eta)
        rhs = np.zeros(n)
        rhs[0] = p.battery.initial_soc * p.battery.capacity_kwh
        rlo.append(rhs)
        rhi.append(rhs.copy())
        nrow += n
    if not relax.caps and p.import_cap_kw is not None and np.isfinite(p.import_cap_kw).any():
        # DSO cap on net import (import - export - shortfall <= cap): a cap below zero asks for export;
        # the shortfall is bounded to zero unless the cap is soft.
        for col, sign in ((Col.IMPORT, 1.0), (Col.EXPORT, -1.0), (Col.SHORTFALL, -1.0)):
            add(nrow, col, sign)
        rlo.append(np.full(n, -np.inf))
        rhi.append(p.import_cap_kw.copy())
        nrow += n
    if p.battery is not None:
        # Outside DSO caps the battery serves the house, never the grid: export only what PV makes.
        for col in (Col.EXPORT, Col.CURTAIL):
            add(nrow, col, 1.0)
        capped = np.isfinite(p.import_cap_kw) if p.import_cap_kw is not None else np.zeros(n, dtype=bool)
        rlo.append(np.full(n, -np.inf))
        rhi.append(np.where(capped, np.inf, p.pv_kw))
        nrow += n
    if p.ev is not None:  # Σ η·dt·ev = target (EV columns are bounded to zero outside the window)
        add(nrow, Col.EV, p.ev.efficiency * dt)
        rows[-1] = np.full(n, nrow)
        rlo.append(np.array([0.0 if relax.ev else p.ev.target_kwh]))
        rhi.append(np.array([p.ev.target_kwh]))
        nrow += 1

    lo, hi = _bounds(p, relax)
    return LpArrays(
        cost=_cost(p),
        col_lower=lo,
        col_upper=hi,
        row_lower=np.concatenate(rlo),
        row_upper=np.concatenate(rhi),
        rows=np.concatenate(rows),
        cols=np.concatenate(cols),
        vals=np.concatenate(vals),
    )
