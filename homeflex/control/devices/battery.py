"""Home battery: the planned power (+ charge, - discharge; None: its own self-consumption mode).

A plan's discharge is a half-hour average: outside DSO-capped steps never discharge more than the rest
of the house takes now, or stored energy would be exported whenever the load dips."""

from __future__ import annotations

from dataclasses import dataclass

from homeflex.control.devices import Settings, Step, number, register
from homeflex.core.domain import DeviceKind, DeviceSpec


@register(DeviceKind.BATTERY)
@dataclass
class Battery:
    spec: DeviceSpec

    def default(self) -> Settings:
        return {"power_w": None}

    def setpoint(self, step: Step) -> Settings:
        if step.schedule.problem.battery is None:
            return self.default()
        watts = 1000 * float(step.schedule.plan.battery_kw[step.t])
        if watts < 0 and not step.capped:  # in a DSO-capped step the plan may export on purpose
            meter = number(step.states.get("meter"), "power_w")
            own = number(step.states.get(self.spec.id), "power_w")
            if meter is not None and own is not None:
                watts = -min(-watts, max(0.0, meter - own))
        limit = self.spec.max_power_w
        return {"power_w": round(min(max(watts, -limit), limit))}

    def max_draw_w(self, settings: Settings) -> float:
        power = settings.get("power_w")
        return self.spec.max_power_w if power is None else max(0.0, float(power))
