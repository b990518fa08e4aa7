"""PV inverter: an output limit only where the plan curtails (export paid below nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from homeflex.control.devices import Settings, Step, register
from homeflex.core.domain import DeviceKind, DeviceSpec


@register(DeviceKind.PV)
@dataclass
class PvInverter:
    spec: DeviceSpec

    def default(self) -> Settings:
        return {"export_limit_w": None}

    def setpoint(self, step: Step) -> Settings:
        p, plan = step.schedule.problem, step.schedule.plan
        curtailed = float(plan.pv_curtailed_kw[step.t])
        if curtailed <= 0.01:
            return self.default()
        limit = max(0.0, 1000 * (float(p.pv_kw[step.t]) - curtailed))
        return {"export_limit_w": round(min(limit, self.spec.max_power_w))}

    def max_draw_w(self, settings: Settings) -> float:
        return 0.0
