"""Air-source heat pump heating a 1R1C building (devices.md §2)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from homeflex.core.domain import DeviceKind
from homeflex.sim.physics.settings import DeviceModel, NumberSetting


@dataclass(frozen=True, kw_only=True)
class HeatPumpParams:
    htc_w_per_k: float = 200.0  # heat transfer coefficient H
    tau_h: float = 40.0  # building time constant C/H
    gains_w: float = 300.0  # internal gains
    q_max_w: float = 6000.0  # thermal output
    q_min_fraction: float = 0.3  # below this the unit would cycle: modelled as off
    gain_w_per_k: float = 1500.0  # proportional controller on room temperature
    setpoint_c: float = 20.0
    # Weather compensation: (outdoor, flow) end points, flow held flat beyond them.
    flow_curve: tuple[tuple[float, float], tuple[float, float]] = ((-2.0, 45.0), (20.0, 25.0))
    cop_coeffs: tuple[float, float, float] = (6.81, -0.121, 0.000630)  # Staffell 2012, ASHP
    lift_range_k: tuple[float, float] = (15.0, 60.0)  # where the regression is valid

    def __post_init__(self) -> None:
        if self.htc_w_per_k <= 0 or self.tau_h <= 0 or self.q_max_w <= 0:
            raise ValueError("heat pump: htc, tau and q_max must be positive")
        if not 0 <= self.q_min_fraction < 1:
            raise ValueError("heat pump: q_min_fraction must be in [0, 1)")

    @property
    def p_el_max_w(self) -> float:
        """Largest electrical input: full output at the lowest COP."""
        return self.q_max_w / cop(self, self.lift_range_k[1])


def flow_temperature_c(p: HeatPumpParams, outdoor_c: float) -> float:
    (t0, f0), (t1, f1) = p.flow_curve
    t = min(max(outdoor_c, min(t0, t1)), max(t0, t1))
    return f0 + (f1 - f0) * (t - t0) / (t1 - t0)


def cop(p: HeatPumpParams, lift_k: float) -> float:
    lift = min(max(lift_k, p.lift_range_k[0]), p.lift_range_k[1])
    a, b, c = p.cop_coeffs
    return a + b * lift + c * lift * lift


class HeatPump(DeviceModel):
    """Settings: `setpoint_c` (None: params.setpoint_c) and `max_power_w`, an electrical cap (None: none)."""

    kind = DeviceKind.HEAT_PUMP

    def __init__(self, params: HeatPumpParams | None = None, *, indoor_c: float | None = None) -> None:
        self.params = params or HeatPumpParams()
        super().__init__(
            [
                NumberSetting("setpoint_c", 5.0, 30.0, "°C"),
                NumberSetting("max_power_w", 0.0, self.params.p_el_max_w, "W"),
            ]
        )
        self.indoor_c = self.params.setpoint_c if indoor_c is None else indoor_c
        self.outdoor_c = math.nan
        self.heat_w = 0.0

    def step(self, now: datetime, dt_s: float, outdoor_c: float) -> float:
        p = self.params
        setpoint = self.settings.number("setpoint_c") or p.setpoint_c
        demand = p.htc_w_per_k * (setpoint - outdoor_c) + p.gain_w_per_k * (setpoint - self.indoor_c)
        q = min(max(demand, 0.0), p.q_max_w)
        efficiency = cop(p, flow_temperature_c(p, outdoor_c) - outdoor_c)
        cap = self.settings.number("max_power_w")
        if cap is not None:
            q = min(q, cap * efficiency)
        if q < p.q_min_fraction * p.q_max_w:
            q = 0.0
        # Exact 1R1C update for inputs held constant over the step.
        t_eq = outdoor_c + (q + p.gains_w) / p.htc_w_per_k
        self.indoor_c = t_eq + (self.indoor_c - t_eq) * math.exp(-dt_s / (p.tau_h * 3600))
        self.outdoor_c = outdoor_c
        self.heat_w = q
        self.power_w = q / efficiency
        return self.power_w

    def state(self) -> dict[str, object]:
        outdoor = None if math.isnan(self.outdoor_c) else round(self.outdoor_c, 2)
        return {"indoor_c": round(self.indoor_c, 3), "outdoor_c": outdoor, "heat_w": round(self.heat_w, 1)}
