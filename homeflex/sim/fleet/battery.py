"""Home batteries, stepped for all households at once and last (physics/battery.py): a `power_w` setting,
or by default the off-peak charge window and then self-consumption answering the rest of the house."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from homeflex.sim.fleet.rows import BoolArray, FloatArray, ParamRows, column
from homeflex.sim.physics.battery import BatteryParams
from homeflex.sim.physics.settings import Settings


def offpeak_table(params: Sequence[BatteryParams | None], local_hours: Sequence[float]) -> BoolArray:
    """Whether each step falls in each battery's off-peak window (steps x households, or one shared
    column when all windows are the same)."""
    windows = {p.offpeak_hours for p in params if p is not None}

    def inside(window: tuple[float, float] | None) -> list[bool]:
        if window is None:
            return [False] * len(local_hours)
        start, end = window
        return [start <= h < end for h in local_hours]

    if len(windows) <= 1:
        return np.array(inside(next(iter(windows), None)), dtype=bool)[:, None]
    by_window = {w: inside(w) for w in windows}
    table = np.zeros((len(local_hours), len(params)), dtype=bool)
    for i, p in enumerate(params):
        if p is not None:
            table[:, i] = by_window[p.offpeak_hours]
    return table


class BatteryRows(ParamRows[BatteryParams]):
    """Setting `power_w` as an array; non-owners have p_max 0, so they neither move energy nor power."""

    def __init__(self, params: Sequence[BatteryParams | None], soc: float = 0.5) -> None:
        super().__init__(params)
        self.p_max = column(params, lambda p: p.p_max_w, 0.0)
        self.minus_p_max = -self.p_max
        self.capacity_wh = column(params, lambda p: p.capacity_wh, 1.0)
        self.eta = column(params, lambda p: math.sqrt(p.eta_rt), 1.0)
        self.soc_min = column(params, lambda p: p.soc_min, 0.0)
        self.soc_max = column(params, lambda p: p.soc_max, 1.0)
        self.offpeak_target = column(params, lambda p: p.offpeak_target_soc, 0.0)
        self.soc = np.full(self.n, soc)
        self.fixed_w = np.zeros(self.n)  # the `power_w` setting where set
        self.fixed: BoolArray = np.zeros(self.n, dtype=bool)
        self.any_fixed = False
        self._e = np.zeros(self.n)
        self._t = np.zeros(self.n)
        self._b: BoolArray = np.zeros(self.n, dtype=bool)
        self._discharge: BoolArray = np.zeros(self.n, dtype=bool)

    def apply(self, row: int, settings: Settings) -> None:
        wanted = settings.number("power_w")
        self.fixed[row] = wanted is not None
        self.fixed_w[row] = 0.0 if wanted is None else wanted
        self.any_fixed = bool(self.fixed.any())

    def step(
        self, site_net_w: FloatArray, offpeak: BoolArray, any_offpeak: bool, dt_s: float, power_w: FloatArray
    ) -> None:
        """`site_net_w`: the household's net power without the battery (+ import); `offpeak`: whether
        this step is in each battery's off-peak window (`any_offpeak`: in anyone's)."""
        soc, p, e, t, b, discharge = self.soc, power_w, self._e, self._t, self._b, self._discharge
        # Default: full power in the off-peak window below the target, else cancel the site's load.
        np.negative(site_net_w, out=p)
        if any_offpeak:
            np.less(soc, self.offpeak_target, out=b)
            np.logical_and(b, offpeak, out=b)
            np.copyto(p, self.p_max, where=b)
        if self.any_fixed:
            np.copyto(p, self.fixed_w, where=self.fixed)
        np.maximum(p, self.minus_p_max, out=p)
        np.minimum(p, self.p_max, out=p)
        np.less(p, 0.0, out=discharge)
        # Energy the step may move: deliverable when discharging, storable when charging.
        np.subtract(self.soc_max, soc, out=e)
        np.maximum(e, 0.0, out=e)
        np.multiply(e, self.capacity_wh, out=e)
        np.divide(e, self.eta, out=e)
        np.subtract(soc, self.soc_min, out=t)
        np.maximum(t, 0.0, out=t)
        np.multiply(t, self.capacity_wh, out=t)
        np.multiply(t, self.eta, out=t)
        np.copyto(e, t, where=discharge)
        # _within: |power| no more than energy / hours, 0 once full or empty
        hours = dt_s / 3600
        np.less_equal(e, 0.0, out=b)
        if hours > 0:
            np.divide(e, hours, out=e)
            np.abs(p, out=t)
            np.minimum(t, e, out=t)
            np.copysign(t, p, out=p)
        np.copyto(p, 0.0, where=b)
        # soc -= -p h / eta / C when discharging, soc += p h eta / C when charging; negating a product or
        # a quotient is exact, so both are soc + (p h {/,*} eta) / C.
        np.multiply(p, hours, out=e)
        np.divide(e, self.eta, out=t)
        np.multiply(e, self.eta, out=e)
        np.copyto(e, t, where=discharge)
        np.divide(e, self.capacity_wh, out=e)
        np.add(soc, e, out=soc)

    def state(self, row: int) -> dict[str, object]:
        return {"soc": round(float(self.soc[row]), 4)}
