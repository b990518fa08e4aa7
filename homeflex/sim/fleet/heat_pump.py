"""Heat pumps heating 1R1C buildings, stepped for all households at once (physics/heat_pump.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from homeflex.sim.fleet.grid import STEP_S
from homeflex.sim.fleet.rows import BoolArray, FloatArray, ParamRows, column
from homeflex.sim.physics.heat_pump import HeatPumpParams, cop, flow_temperature_c
from homeflex.sim.physics.settings import Settings


def cop_table(params: Sequence[HeatPumpParams | None], outdoor_c: Sequence[float]) -> FloatArray:
    """COP per step (rows) and household (columns), computed by the scalar formulae so it is the same
    float; one shared column when every heat pump has the same curves (the usual case)."""
    curves = {(p.flow_curve, p.cop_coeffs, p.lift_range_k): p for p in params if p is not None}

    def series(p: HeatPumpParams) -> list[float]:
        return [cop(p, flow_temperature_c(p, t) - t) for t in outdoor_c]

    if len(curves) <= 1:
        shared = next(iter(curves.values()), HeatPumpParams())
        return np.array(series(shared), dtype=np.float64)[:, None]
    by_curve = {key: series(p) for key, p in curves.items()}
    table = np.ones((len(outdoor_c), len(params)))
    for i, own in enumerate(params):
        if own is not None:
            table[:, i] = by_curve[(own.flow_curve, own.cop_coeffs, own.lift_range_k)]
    return table


class HeatPumpRows(ParamRows[HeatPumpParams]):
    """Settings `setpoint_c` and `max_power_w` as arrays; non-owners have q_max 0, so their power is 0."""

    def __init__(self, params: Sequence[HeatPumpParams | None]) -> None:
        super().__init__(params)
        self.htc = column(params, lambda p: p.htc_w_per_k, 1.0)
        self.gain = column(params, lambda p: p.gain_w_per_k, 0.0)
        self.q_max = column(params, lambda p: p.q_max_w, 0.0)
        self.q_min = column(params, lambda p: p.q_min_fraction * p.q_max_w, 0.0)
        self.gains = column(params, lambda p: p.gains_w, 0.0)
        # The 1R1C decay factor per step length, by math.exp as the scalar model computes it.
        self.decay_0 = column(params, lambda p: math.exp(-0.0 / (p.tau_h * 3600)), 1.0)
        self.decay_step = column(params, lambda p: math.exp(-STEP_S / (p.tau_h * 3600)), 1.0)
        self.default_setpoint = column(params, lambda p: p.setpoint_c, HeatPumpParams().setpoint_c)
        self.setpoint = self.default_setpoint.copy()
        self.cap = np.full(self.n, np.inf)  # electrical cap; inf: none
        self.any_cap = False
        self.indoor_c = self.default_setpoint.copy()
        self.heat_w = np.zeros(self.n)
        self.outdoor_c = math.nan  # the same air for everyone: one number
        self._a = np.zeros(self.n)
        self._b = np.zeros(self.n)
        self._low: BoolArray = np.zeros(self.n, dtype=bool)

    def apply(self, row: int, settings: Settings) -> None:
        p = self.params[row]
        assert p is not None
        self.setpoint[row] = settings.number("setpoint_c") or p.setpoint_c  # `or` as the scalar model
        cap = settings.number("max_power_w")
        self.cap[row] = math.inf if cap is None else cap
        self.any_cap = bool(np.isfinite(self.cap).any())

    def step(self, outdoor_c: float, efficiency: FloatArray, dt_s: float, power_w: FloatArray) -> None:
        """`efficiency`: this step's COP, one value or one per household; `power_w` receives the power."""
        q, tmp, indoor = self.heat_w, self._a, self.indoor_c
        # demand = htc (setpoint - outdoor) + gain (setpoint - indoor), in the scalar's operation order
        np.subtract(self.setpoint, outdoor_c, out=q)
        np.multiply(q, self.htc, out=q)
        np.subtract(self.setpoint, indoor, out=tmp)
        np.multiply(tmp, self.gain, out=tmp)
        np.add(q, tmp, out=q)
        np.maximum(q, 0.0, out=q)
        np.minimum(q, self.q_max, out=q)
        if self.any_cap:
            np.multiply(self.cap, efficiency, out=tmp)
            np.minimum(q, tmp, out=q)
        np.less(q, self.q_min, out=self._low)
        np.copyto(q, 0.0, where=self._low)
        # Exact 1R1C update: indoor = t_eq + (indoor - t_eq) exp(-dt / tau), t_eq = outdoor + (q + gains) / H
        t_eq = tmp
        np.add(q, self.gains, out=t_eq)
        np.divide(t_eq, self.htc, out=t_eq)
        np.add(t_eq, outdoor_c, out=t_eq)
        np.subtract(indoor, t_eq, out=indoor)
        np.multiply(indoor, self.decay_step if dt_s else self.decay_0, out=indoor)
        np.add(indoor, t_eq, out=indoor)
        self.outdoor_c = outdoor_c
        np.divide(q, efficiency, out=power_w)

    def state(self, row: int) -> dict[str, object]:
        outdoor = None if math.isnan(self.outdoor_c) else round(self.outdoor_c, 2)
        return {
            "indoor_c": round(float(self.indoor_c[row]), 3),
            "outdoor_c": outdoor,
            "heat_w": round(float(self.heat_w[row]), 1),
        }
