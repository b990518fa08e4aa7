"""Heat pump: follows the plan's electrical power. The thermostat asks for the top of the comfort band and
a power cap holds the pump to the plan (its own thermostat alone would heat through a peak rate and
under-heat a planned pre-heat); below the pump's minimum output it runs on/off for the planned share of
the step. Safety first: a home below its comfort floor is heated whatever the plan says, and a vulnerable
home's heat pump is never capped (the planned temperature as its setpoint, nothing more)."""

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
        if step.household.vulnerable:  # the thermostat alone, never a cap
            return {"setpoint_c": _in_band(target, floor, ceiling), "max_power_w": None}
        # A power follower: the thermostat asks for the band's top and the cap holds the pump to the plan,
        # so it pre-heats and coasts as planned (a setpoint at the planned temperature under-heats).
        planned_w = 1000 * float(step.schedule.plan.heat_pump_kw[step.t])
        minimum_w = _minimum_w(step)
        if planned_w < max(1.0, 0.1 * minimum_w):  # a trace of heat: not worth starting the pump
            return {"setpoint_c": _in_band(floor, floor, ceiling), "max_power_w": 0}
        if planned_w < minimum_w:  # too little to modulate: run at the minimum for part of the step
            on = step.elapsed < planned_w / minimum_w
            burst = min(math.ceil(minimum_w * 1.05), self.spec.max_power_w) if on else 0
            return {"setpoint_c": _in_band(ceiling if on else floor, floor, ceiling), "max_power_w": burst}
        follow = min(math.ceil(planned_w), self.spec.max_power_w)
        return {"setpoint_c": _in_band(ceiling, floor, ceiling), "max_power_w": follow}

    def changes_at(self, step: Step) -> float | None:
        """When a part-step run ends (the loop wakes then, not at its next refresh)."""
        share = self._share(step)
        return share if share is not None and step.elapsed < share < 1 else None

    def _share(self, step: Step) -> float | None:
        """The planned share of the step at minimum power, when the plan is a part-step run."""
        heating = step.schedule.problem.heating
        if heating is None or step.household.vulnerable:
            return None
        floor = heating.comfort.min_c
        indoor = number(step.states.get(self.spec.id), "indoor_c")
        planned_w = 1000 * float(step.schedule.plan.heat_pump_kw[step.t])
        minimum_w = _minimum_w(step)
        if (indoor is not None and indoor < floor) or planned_w < max(1.0, 0.1 * minimum_w):
            return None
        return planned_w / minimum_w if planned_w < minimum_w else None

    def max_draw_w(self, settings: Settings) -> float:
        cap = settings.get("max_power_w")
        return self.spec.max_power_w if cap is None else float(cap)


def _minimum_w(step: Step) -> float:
    """The least electrical power the pump runs at, now: its minimum heat output over the COP."""
    return float(step.schedule.heat_pump_min_w[step.t])


def _in_band(value_c: float, floor: float, ceiling: float) -> float:
    """``value_c`` to the thermostat's 0.1 °C, inside [floor, ceiling] (a band at least 0.5 °C wide)."""
    low, high = math.ceil(floor * 10 - 1e-9) / 10, math.floor(ceiling * 10 + 1e-9) / 10
    return min(max(round(value_c, 1), low), high)
