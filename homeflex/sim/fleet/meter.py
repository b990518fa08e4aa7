"""The households' meters: net power and the import/export registers, for all households at once."""

from __future__ import annotations

import numpy as np

from homeflex.sim.fleet.rows import Rows


class MeterRows(Rows):
    """Registers in Wh (cumulative) and the last step's increments, which the recorder sums per half-hour."""

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.import_wh = np.zeros(n)
        self.export_wh = np.zeros(n)
        self.imported_wh = np.zeros(n)  # over the last step
        self.exported_wh = np.zeros(n)

    def step(self, net_w: np.ndarray, dt_s: float) -> None:
        hours = dt_s / 3600
        np.maximum(net_w, 0.0, out=self.imported_wh)
        np.multiply(self.imported_wh, hours, out=self.imported_wh)
        np.add(self.import_wh, self.imported_wh, out=self.import_wh)
        np.negative(net_w, out=self.exported_wh)
        np.maximum(self.exported_wh, 0.0, out=self.exported_wh)
        np.multiply(self.exported_wh, hours, out=self.exported_wh)
        np.add(self.export_wh, self.exported_wh, out=self.export_wh)
