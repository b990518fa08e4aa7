"""Home battery (devices.md §3), Powerwall-like by default; + power charges from the house."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from homeflex.core.domain import DeviceKind
from homeflex.sim.physics.calendar import local_hours
from homeflex.sim.physics.settings import DeviceModel, NumberSetting


@dataclass(frozen=True, kw_only=True)
class BatteryParams:
    capacity_wh: float = 13_500.0  # usable
    p_max_w: float = 5_000.0  # continuous, both directions
    eta_rt: float = 0.9  # round trip, split evenly between charge and discharge
    soc_min: float = 0.1  # backup reserve
    soc_max: float = 1.0
    # Default timed charging on the off-peak rate (UK two-rate tariffs, e.g. 00:30-04:30 local), as
    # most UK home batteries are set up; None: pure self-consumption.
    offpeak_hours: tuple[float, float] | None = (0.5, 4.5)
    offpeak_target_soc: float = 0.9

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0 or self.p_max_w <= 0 or not 0 < self.eta_rt <= 1:
            raise ValueError("battery: capacity, power and efficiency must be positive")
        if not 0 <= self.soc_min < self.soc_max <= 1:
            raise ValueError("battery: need 0 <= soc_min < soc_max <= 1")


def _within(power_w: float, energy_wh: float, hours: float) -> float:
    """`power_w` limited to moving `energy_wh` in `hours`; a zero-length step only checks full/empty."""
    if energy_wh <= 0:
        return 0.0
    if hours <= 0:
        return power_w
    return math.copysign(min(abs(power_w), energy_wh / hours), power_w)


class Battery(DeviceModel):
    """Setting `power_w` (+ charge, - discharge); None: self-consumption, i.e. cancel the site's net load."""

    kind = DeviceKind.BATTERY

    def __init__(self, params: BatteryParams | None = None, *, soc: float = 0.5) -> None:
        self.params = params or BatteryParams()
        limit = self.params.p_max_w
        super().__init__([NumberSetting("power_w", -limit, limit, "W")])
        self.soc = soc

    def step(self, now: datetime, dt_s: float, site_net_w: float) -> float:
        """`site_net_w` is the household's net power without the battery (+ import)."""
        p = self.params
        wanted = self.settings.number("power_w")
        if wanted is None:
            wanted = self._default_w(now, site_net_w)
        power = min(max(wanted, -p.p_max_w), p.p_max_w)
        eta = math.sqrt(p.eta_rt)
        hours = dt_s / 3600
        if power < 0:
            deliverable_wh = max(0.0, self.soc - p.soc_min) * p.capacity_wh * eta
            power = _within(power, deliverable_wh, hours)
            self.soc -= -power * hours / eta / p.capacity_wh
        else:
            storable_wh = max(0.0, p.soc_max - self.soc) * p.capacity_wh / eta
            power = _within(power, storable_wh, hours)
            self.soc += power * hours * eta / p.capacity_wh
        self.power_w = power
        return power

    def _default_w(self, now: datetime, site_net_w: float) -> float:
        """Charge at full power in the off-peak window up to the target, else cancel the site's load."""
        p = self.params
        if p.offpeak_hours is not None and self.soc < p.offpeak_target_soc:
            start, end = p.offpeak_hours
            if start <= local_hours(now) < end:
                return p.p_max_w
        return -site_net_w

    def state(self) -> dict[str, object]:
        return {"soc": round(self.soc, 4)}
