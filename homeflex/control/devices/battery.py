"""Home battery: discharge to cover the need, within its power limit and above its reserve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeflex.control.devices import Curtailment, Settings, power_w, register
from homeflex.core.domain import DeviceKind, DeviceSpec

RESERVE_SOC = 0.2  # keep some energy for the household after the event


@register(DeviceKind.BATTERY)
@dataclass
class Battery:
    spec: DeviceSpec
    affects_heating: bool = False

    def curtail(self, state: dict[str, Any], need_w: float) -> Curtailment | None:
        soc = state.get("soc")
        if not isinstance(soc, int | float) or soc <= RESERVE_SOC or need_w <= 0:
            return None
        now_w = power_w(state)  # + charging, - discharging
        target_w = max(-self.spec.max_power_w, now_w - need_w)
        if target_w >= now_w:
            return None
        return Curtailment(
            device_id=self.spec.id, reduction_w=now_w - target_w, settings={"power_w": round(target_w)}
        )

    def restore(self) -> Settings:
        return {"power_w": None}
