"""PV array and inverter, PVWatts-style (devices.md §4). Output is negative: generation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from homeflex.core.domain import DeviceKind
from homeflex.sim.physics.settings import DeviceModel, NumberSetting
from homeflex.sim.physics.solar import IrradianceSource


@dataclass(frozen=True, kw_only=True)
class PvParams:
    p_dc0_w: float = 4000.0  # array rating at STC
    gamma_per_c: float = -0.004  # temperature coefficient of power
    noct_c: float = 45.0
    eta_inv: float = 0.96
    p_ac_max_w: float = 3680.0  # G98 single-phase clip

    def __post_init__(self) -> None:
        if self.p_dc0_w <= 0 or self.p_ac_max_w <= 0 or not 0 < self.eta_inv <= 1:
            raise ValueError("PV: ratings and inverter efficiency must be positive")


def ac_output_w(p: PvParams, poa_w_m2: float, ambient_c: float) -> float:
    """Uncurtailed AC output (positive number) for an irradiance and air temperature."""
    cell_c = ambient_c + (p.noct_c - 20) / 800 * poa_w_m2
    dc = poa_w_m2 / 1000 * p.p_dc0_w * (1 + p.gamma_per_c * (cell_c - 25))
    return min(max(p.eta_inv * dc, 0.0), p.p_ac_max_w)


class PvInverter(DeviceModel):
    """Setting `export_limit_w`: caps the inverter's AC output (None: no cap)."""

    kind = DeviceKind.PV

    def __init__(self, irradiance: IrradianceSource, params: PvParams | None = None) -> None:
        self.params = params or PvParams()
        super().__init__([NumberSetting("export_limit_w", 0.0, self.params.p_ac_max_w, "W")])
        self.irradiance = irradiance
        self.poa_w_m2 = 0.0

    def step(self, now: datetime, dt_s: float, outdoor_c: float) -> float:
        self.poa_w_m2 = self.irradiance(now)
        output = ac_output_w(self.params, self.poa_w_m2, outdoor_c)
        limit = self.settings.number("export_limit_w")
        if limit is not None:
            output = min(output, limit)
        self.power_w = -output
        return self.power_w

    def state(self) -> dict[str, object]:
        return {"irradiance_w_m2": round(self.poa_w_m2, 1)}
