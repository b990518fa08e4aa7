"""Heat-pump COP and the 1R1C building model, discretised exactly over a step.

For inputs held constant over a step of ``dt`` hours, with ``a = exp(-dt·H/C)``:
``T[t+1] = a·T[t] + (1 - a)·(T_out[t] + (COP[t]·P_hp[t] + gains) / H)`` — linear in ``P_hp``.
"""

from __future__ import annotations

import numpy as np

from homeflex.control.planner.problem import FloatArray
from homeflex.core.household import Building, HeatPump


def flow_temperature_c(pump: HeatPump, outdoor_c: FloatArray) -> FloatArray:
    """Linear weather-compensation curve, held flat outside its two anchor points."""
    frac = (np.asarray(outdoor_c) - pump.cold_outdoor_c) / (pump.mild_outdoor_c - pump.cold_outdoor_c)
    frac = np.clip(frac, 0.0, 1.0)
    return pump.flow_c_at_cold + frac * (pump.flow_c_at_mild - pump.flow_c_at_cold)


def cop_series(pump: HeatPump, outdoor_c: FloatArray) -> FloatArray:
    """Staffell et al. (2012) COP per step; ΔT = flow - source clamped to the fit's 15-60 K."""
    dt = np.clip(flow_temperature_c(pump, outdoor_c) - np.asarray(outdoor_c), 15.0, 60.0)
    if pump.ground_source:
        return 8.77 - 0.150 * dt + 0.000734 * dt**2
    return 6.81 - 0.121 * dt + 0.000630 * dt**2


def max_electric_kw(pump: HeatPump, outdoor_c: FloatArray) -> FloatArray:
    """The most the pump can draw per step: its electrical rating, or its heat output over the COP."""
    limit: FloatArray = np.minimum(pump.max_electric_kw, pump.max_thermal_kw / cop_series(pump, outdoor_c))
    return limit


def decay(building: Building, step_h: float) -> float:
    """``a = exp(-Δt/τ)`` with ``τ = C/H`` in hours."""
    tau_h = building.capacity_kwh_per_k / (building.htc_w_per_k / 1000.0)
    return float(np.exp(-step_h / tau_h))


def simulate_indoor(
    building: Building, outdoor_c: FloatArray, heat_kw: FloatArray, step_h: float
) -> FloatArray:
    """Indoor temperature at each step start and at the end (N+1 values) for a thermal-power series."""
    a = decay(building, step_h)
    h_kw = building.htc_w_per_k / 1000.0
    t_eq = np.asarray(outdoor_c) + (np.asarray(heat_kw) + building.internal_gains_kw) / h_kw
    out = np.empty(t_eq.size + 1)
    out[0] = building.initial_indoor_c
    for t in range(t_eq.size):
        out[t + 1] = a * out[t] + (1.0 - a) * t_eq[t]
    return out


def heat_to_reach_kw(
    building: Building, indoor_c: float, target_c: float, outdoor_c: float, step_h: float
) -> float:
    """Thermal power (kW, may be negative) that takes ``indoor_c`` exactly to ``target_c`` in one step."""
    a = decay(building, step_h)
    t_eq = (target_c - a * indoor_c) / (1.0 - a)
    return (t_eq - outdoor_c) * building.htc_w_per_k / 1000.0 - building.internal_gains_kw


def step_indoor(
    building: Building, indoor_c: float, outdoor_c: float, heat_kw: float, step_h: float
) -> float:
    """Indoor temperature after one step with constant thermal power ``heat_kw``."""
    a = decay(building, step_h)
    t_eq = outdoor_c + (heat_kw + building.internal_gains_kw) / (building.htc_w_per_k / 1000.0)
    return a * indoor_c + (1.0 - a) * t_eq
