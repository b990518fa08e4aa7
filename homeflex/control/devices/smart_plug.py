"""Smart plug: switch the appliance off for the event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeflex.control.devices import Curtailment, Settings, power_w, register
from homeflex.core.domain import DeviceKind, DeviceSpec


@register(DeviceKind.SMART_PLUG)
@dataclass
class SmartPlug:
    spec: DeviceSpec
    affects_heating: bool = False

    def curtail(self, state: dict[str, Any], need_w: float) -> Curtailment | None:
        load_w = power_w(state)
        if load_w <= 0:
            return None
        return Curtailment(device_id=self.spec.id, reduction_w=load_w, settings={"on": False})

    def restore(self) -> Settings:
        return {"on": None}
