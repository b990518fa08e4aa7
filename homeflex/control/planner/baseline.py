"""``unmanaged``: what the household does with no planner, as a cost baseline.

The EV charges at full power from arrival until the target is in; the heat pump holds the band's
lower bound + 0.5 °C (capped at the upper bound); the battery does self-consumption (charges from PV
surplus, discharges to cover the load). Limits and DSO caps are not enforced: a real unmanaged home
ignores them, so the plan may import above them.
"""

from __future__ import annotations

import numpy as np

from homeflex.control.planner.plan import Plan, PlanStatus
from homeflex.control.planner.problem import Battery, FloatArray, Heating, PlanningProblem
from homeflex.control.planner.thermal import (
    cop_series,
    heat_to_reach_kw,
    max_electric_kw,
    simulate_indoor,
    step_indoor,
)

SETPOINT_ABOVE_MIN_C = 0.5


def _ev_kw(p: PlanningProblem) -> FloatArray:
    out = np.zeros(p.n_steps)
    if p.ev is None:
        return out
    left = p.ev.target_kwh
    for t in range(p.ev.arrival_step, min(p.ev.departure_step, p.n_steps)):
        kw = min(p.ev.max_kw, left / (p.ev.efficiency * p.step_h))
        out[t] = kw
        left -= kw * p.ev.efficiency * p.step_h
        if left <= 1e-12:
            break
    return out


def _hp_kw(p: PlanningProblem, heating: Heating) -> FloatArray:
    b, c = heating.building, heating.comfort
    setpoint = min(c.min_c + SETPOINT_ABOVE_MIN_C, c.max_c)
    cop = cop_series(heating.heat_pump, p.outdoor_c)
    limit = max_electric_kw(heating.heat_pump, p.outdoor_c)
    out = np.zeros(p.n_steps)
    indoor = b.initial_indoor_c
    for t in range(p.n_steps):
        heat = heat_to_reach_kw(b, indoor, setpoint, float(p.outdoor_c[t]), p.step_h)
        out[t] = float(np.clip(heat / cop[t], 0.0, limit[t]))
        indoor = step_indoor(b, indoor, float(p.outdoor_c[t]), float(cop[t] * out[t]), p.step_h)
    return out


def _self_consumption(bat: Battery, net_kw: FloatArray, step_h: float) -> tuple[FloatArray, FloatArray]:
    """Battery charge and discharge (kW, both >= 0) that push ``net_kw`` towards zero."""
    eta, cap = bat.leg_efficiency, bat.capacity_kwh
    energy = bat.initial_soc * cap
    charge, discharge = np.zeros(net_kw.size), np.zeros(net_kw.size)
    for t, net in enumerate(net_kw):
        if net < 0:
            charge[t] = min(-net, bat.max_kw, (cap - energy) / (eta * step_h))
            energy += charge[t] * eta * step_h
        else:
            discharge[t] = min(net, bat.max_kw, (energy - bat.reserve_soc * cap) * eta / step_h)
            energy -= discharge[t] * step_h / eta
    return np.maximum(charge, 0.0), np.maximum(discharge, 0.0)


def unmanaged(problem: PlanningProblem) -> Plan:
    p = problem
    n, dt = p.n_steps, p.step_h
    ev = _ev_kw(p)
    hp = _hp_kw(p, p.heating) if p.heating else np.zeros(n)
    net = p.base_load_kw + ev + hp - p.pv_kw
    if p.battery is not None:
        charge, discharge = _self_consumption(p.battery, net, dt)
        eta = p.battery.leg_efficiency
        soc = p.battery.initial_soc * p.battery.capacity_kwh + np.concatenate(
            ([0.0], np.cumsum(charge * eta * dt - discharge * dt / eta))
        )
    else:
        charge, discharge, soc = np.zeros(n), np.zeros(n), np.zeros(n + 1)
    net = net + charge - discharge
    exp = np.minimum(np.maximum(-net, 0.0), p.max_export_kw)
    curtailed = np.maximum(-net, 0.0) - exp
    imp = np.maximum(net, 0.0)
    if p.heating:
        heat = hp * cop_series(p.heating.heat_pump, p.outdoor_c)
        indoor = simulate_indoor(p.heating.building, p.outdoor_c, heat, dt)
    else:
        indoor = np.full(n + 1, np.nan)
    cost = float(np.sum(imp * p.tariff.import_gbp_per_kwh * dt - exp * p.tariff.export_gbp_per_kwh * dt))
    return Plan(
        status=PlanStatus.UNMANAGED,
        reason="",
        cost_gbp=cost,
        grid_import_kw=imp,
        grid_export_kw=exp,
        ev_kw=ev,
        heat_pump_kw=hp,
        battery_charge_kw=charge,
        battery_discharge_kw=discharge,
        pv_curtailed_kw=curtailed,
        indoor_c=indoor,
        battery_soc_kwh=soc,
    )
