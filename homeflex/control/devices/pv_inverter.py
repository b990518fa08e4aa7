"""PV inverter: generation already lowers import, so it is never curtailed for a reduction event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeflex.control.devices import Curtailment, Settings, register
from homeflex.core.domain import DeviceKind, DeviceSpec


@register(DeviceKind.PV)
@dataclass
class PvInverter:
    spec: DeviceSpec
    affects_heating: bool = False

    def curtail(self, state: dict[str, Any], need_w: float) -> Curtailment | None:
        return None

    def restore(self) -> Settings:
        return {"export_limit_w": None}
