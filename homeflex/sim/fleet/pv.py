"""PV inverters, stepped for all households at once (physics/pv.py): the uncurtailed output is exogenous
and computed per span in bulk; a step only applies the export limits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from homeflex.sim.fleet.rows import FloatArray, ParamRows
from homeflex.sim.physics.pv import PvParams
from homeflex.sim.physics.settings import Settings


def available_w(params: Sequence[PvParams | None], poa_w_m2: FloatArray, ambient_c: FloatArray) -> FloatArray:
    """`ac_output_w` for every step (rows) and household (columns; 0 without PV), in the scalar's order
    of operations so each value is the same float."""
    out = np.zeros((len(poa_w_m2), len(params)))
    owners = [i for i, p in enumerate(params) if p is not None]
    if not owners:
        return out
    own = [p for p in params if p is not None]

    def col(values: list[float]) -> FloatArray:
        return np.array(values, dtype=np.float64)[None, :]

    lit = np.flatnonzero(poa_w_m2 != 0)  # in the dark the output is 0 W whatever the air temperature
    poa, ambient = poa_w_m2[lit, None], ambient_c[lit, None]
    cell_c = ambient + col([(p.noct_c - 20) / 800 for p in own]) * poa
    dc = poa / 1000 * col([p.p_dc0_w for p in own]) * (1 + col([p.gamma_per_c for p in own]) * (cell_c - 25))
    ac = np.maximum(col([p.eta_inv for p in own]) * dc, 0.0)
    out[np.ix_(lit, np.array(owners, dtype=np.int64))] = np.minimum(ac, col([p.p_ac_max_w for p in own]))
    return out


class PvRows(ParamRows[PvParams]):
    """Setting `export_limit_w` as an array (inf: no cap)."""

    def __init__(self, params: Sequence[PvParams | None]) -> None:
        super().__init__(params)
        self.limit_w = np.full(self.n, np.inf)
        self.poa_w_m2 = 0.0  # every panel sees the same sky: one number

    def apply(self, row: int, settings: Settings) -> None:
        limit = settings.number("export_limit_w")
        self.limit_w[row] = math.inf if limit is None else limit

    def step(self, poa_w_m2: float, available: FloatArray, power_w: FloatArray) -> None:
        self.poa_w_m2 = poa_w_m2
        np.minimum(available, self.limit_w, out=power_w)
        np.negative(power_w, out=power_w)

    def state(self, row: int) -> dict[str, object]:
        return {"irradiance_w_m2": round(self.poa_w_m2, 1)}
