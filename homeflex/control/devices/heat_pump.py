"""Heat pump: cap its electrical power for the event; the building's thermal mass carries comfort."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeflex.control.devices import Curtailment, Settings, power_w, register
from homeflex.core.domain import DeviceKind, DeviceSpec

MIN_INDOOR_C = 18.0  # do not curtail a home that is already cool


@register(DeviceKind.HEAT_PUMP)
@dataclass
class HeatPump:
    spec: DeviceSpec
    affects_heating: bool = True

    def curtail(self, state: dict[str, Any], need_w: float) -> Curtailment | None:
        running_w = power_w(state)
        indoor = state.get("indoor_c")
        if running_w <= 0 or not isinstance(indoor, int | float) or indoor < MIN_INDOOR_C:
            return None
        cap_w = max(0.0, running_w - need_w)
        return Curtailment(
            device_id=self.spec.id, reduction_w=running_w - cap_w, settings={"max_power_w": round(cap_w)}
        )

    def restore(self) -> Settings:
        return {"max_power_w": None}
