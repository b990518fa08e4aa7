"""Planner output: per-step setpoints (kW, + = consumption), the cost and a status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from homeflex.control.planner.problem import FloatArray


class PlanStatus(StrEnum):
    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"  # ``reason`` says which requirement cannot be met
    ERROR = "error"  # the solver failed for another reason; ``reason`` carries its status
    UNMANAGED = "unmanaged"  # the baseline behaviour, not an optimisation


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Setpoints per step. ``indoor_c`` and ``battery_soc_kwh`` have N+1 entries (state at step starts
    plus the end of the horizon); an infeasible plan has empty arrays and ``cost_gbp`` = nan."""

    status: PlanStatus
    reason: str
    cost_gbp: float
    grid_import_kw: FloatArray
    grid_export_kw: FloatArray
    ev_kw: FloatArray
    heat_pump_kw: FloatArray
    battery_charge_kw: FloatArray
    battery_discharge_kw: FloatArray
    pv_curtailed_kw: FloatArray
    indoor_c: FloatArray
    battery_soc_kwh: FloatArray

    @property
    def ok(self) -> bool:
        return self.status in (PlanStatus.OPTIMAL, PlanStatus.UNMANAGED)

    @property
    def net_import_kw(self) -> FloatArray:
        return self.grid_import_kw - self.grid_export_kw

    @property
    def battery_kw(self) -> FloatArray:
        """Battery AC power, + = charging (consumption)."""
        return self.battery_charge_kw - self.battery_discharge_kw


def failed_plan(status: PlanStatus, reason: str) -> Plan:
    empty = np.zeros(0)
    return Plan(
        status=status,
        reason=reason,
        cost_gbp=float("nan"),
        grid_import_kw=empty,
        grid_export_kw=empty,
        ev_kw=empty,
        heat_pump_kw=empty,
        battery_charge_kw=empty,
        battery_discharge_kw=empty,
        pv_curtailed_kw=empty,
        indoor_c=empty,
        battery_soc_kwh=empty,
    )
