"""EV charger: a current limit per step (``max_power_w``; None: charge at full power as soon as plugged).
Below 6 A a charger pauses, so a smaller planned average rounds up to 6 A; the next plan corrects."""

from __future__ import annotations

from dataclasses import dataclass

from homeflex.control.devices import Settings, Step, register
from homeflex.core.domain import DeviceKind, DeviceSpec

EV_MIN_W = 1400.0  # 6 A x 230 V


@register(DeviceKind.EV_CHARGER)
@dataclass
class EvCharger:
    spec: DeviceSpec

    def default(self) -> Settings:
        return {"max_power_w": None}

    def setpoint(self, step: Step) -> Settings:
        ev = step.schedule.problem.ev
        if ev is None or step.t >= ev.ready_by_step:
            return self.default()  # after the plan's ready-by the car tapers to its target at its own pace
        watts = 1000 * float(step.schedule.plan.ev_kw[step.t])
        if watts < 50:
            return {"max_power_w": 0}
        return {"max_power_w": round(min(max(watts, EV_MIN_W), self.spec.max_power_w))}

    def max_draw_w(self, settings: Settings) -> float:
        limit = settings.get("max_power_w")
        return self.spec.max_power_w if limit is None else float(limit)
