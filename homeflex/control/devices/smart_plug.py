"""Smart plug: a sheddable appliance the household agreed to switch off during accepted events."""

from __future__ import annotations

from dataclasses import dataclass

from homeflex.control.devices import Settings, Step, register
from homeflex.core.domain import DeviceKind, DeviceSpec


@register(DeviceKind.SMART_PLUG)
@dataclass
class SmartPlug:
    spec: DeviceSpec

    def default(self) -> Settings:
        return {"on": None}

    def setpoint(self, step: Step) -> Settings:
        return {"on": False} if step.shed_plugs else self.default()

    def max_draw_w(self, settings: Settings) -> float:
        return 0.0 if settings.get("on") is False else self.spec.max_power_w
