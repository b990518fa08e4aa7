"""Heat pump: the planned indoor temperature as the setpoint (pre-heating raises it within the comfort
band) and an electrical power cap at the plan, so the pump coasts when the plan says so; its own
thermostat alone would heat through a peak rate. Safety first: a home below its comfort floor is heated
whatever the plan says, and a vulnerable home's heat pump is never capped (setpoint only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from homeflex.control.devices import Settings, Step, number, register
from homeflex.core.domain import DeviceKind, DeviceSpec

REHEAT_ABOVE_FLOOR_C = 1.0


@register(DeviceKind.HEAT_PUMP)
@dataclass
class HeatPump:
    spec: DeviceSpec

    def default(self) -> Settings:
        return {"setpoint_c": None, "max_power_w": None}

    def setpoint(self, step: Step) -> Settings:
        heating = step.schedule.problem.heating
        if heating is None:
            return self.default()
        floor, ceiling = heating.comfort.min_c, heating.comfort.max_c
        indoor = number(step.states.get(self.spec.id), "indoor_c")
        if indoor is not None and indoor < floor:
            reheat = _in_band(floor + REHEAT_ABOVE_FLOOR_C, floor, ceiling)
            return {"setpoint_c": reheat, "max_power_w": None}
        target = float(step.schedule.plan.indoor_c[step.t + 1])
        settings: Settings = {"setpoint_c": _in_band(target, floor, ceiling), "max_power_w": None}
        if not step.household.vulnerable:
            planned_w = 1000 * float(step.schedule.plan.heat_pump_kw[step.t])
            settings["max_power_w"] = min(math.ceil(planned_w), self.spec.max_power_w)
        return settings

    def max_draw_w(self, settings: Settings) -> float:
        cap = settings.get("max_power_w")
        return self.spec.max_power_w if cap is None else float(cap)


def _in_band(value_c: float, floor: float, ceiling: float) -> float:
    """``value_c`` to the thermostat's 0.1 °C, inside [floor, ceiling] (a band at least 0.5 °C wide)."""
    low, high = math.ceil(floor * 10 - 1e-9) / 10, math.floor(ceiling * 10 + 1e-9) / 10
    return min(max(round(value_c, 1), low), high)
