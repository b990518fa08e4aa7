"""Smart plugs, stepped for all households at once (physics/smart_plug.py): the appliance's runs come
from the same seeded daily draws, marked per span; a step multiplies by the plug's `on`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from homeflex.sim.fleet.grid import Minutes
from homeflex.sim.fleet.rows import BoolArray, FloatArray, Rows
from homeflex.sim.physics.settings import Settings
from homeflex.sim.physics.smart_plug import SmartPlug


def scheduled(plugs: Sequence[SmartPlug | None], minutes: Minutes) -> BoolArray:
    """Whether each appliance wants to run at each step (`SmartPlug.scheduled`), steps x households."""
    out = np.zeros((len(minutes), len(plugs)), dtype=bool)
    days = minutes.draw_days
    for i, plug in enumerate(plugs):
        if plug is None:
            continue
        for day in days:
            for start, end in plug.runs_on(day):
                steps = minutes.covered(start, end, day)
                out[steps.start : steps.stop, i] = True
    return out


class PlugRows(Rows):
    """Setting `on`: the appliance's draw while on, 0 W once cut off."""

    def __init__(self, plugs: Sequence[SmartPlug | None]) -> None:
        super().__init__(len(plugs))
        self.rated_w = np.array([0.0 if p is None else p.params.power_w for p in plugs])
        self.owned = np.array([p is not None for p in plugs])
        self.on: BoolArray = np.ones(self.n, dtype=bool)
        self.on_w = self.rated_w.copy()  # rated power where on, 0 where cut off

    def apply(self, row: int, settings: Settings) -> None:
        self.on[row] = settings.switch("on") is not False  # None or True: runs on its schedule
        self.on_w[row] = self.rated_w[row] if self.on[row] else 0.0

    def step(self, scheduled: BoolArray, power_w: FloatArray) -> None:
        np.multiply(scheduled, self.on_w, out=power_w)

    def state(self, row: int) -> dict[str, object]:
        return {"on": bool(self.on[row])}
