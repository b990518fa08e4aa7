"""EV charger: pause charging (max_power_w = 0). A UK smart charger may take up to 10 min to react."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeflex.control.devices import Curtailment, Settings, power_w, register
from homeflex.core.domain import DeviceKind, DeviceSpec


@register(DeviceKind.EV_CHARGER)
@dataclass
class EvCharger:
    spec: DeviceSpec
    affects_heating: bool = False

    def curtail(self, state: dict[str, Any], need_w: float) -> Curtailment | None:
        charging_w = power_w(state)
        if not state.get("plugged") or charging_w <= 0:
            return None
        # Below the 6 A minimum a charger pauses, so the only useful setting is 0.
        return Curtailment(device_id=self.spec.id, reduction_w=charging_w, settings={"max_power_w": 0})

    def restore(self) -> Settings:
        return {"max_power_w": None}
