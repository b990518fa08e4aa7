"""Real base loads for all households over a span at once (realdata/uk_base_load.py's RealBaseLoad):
each step reads its half-hour's mean at the step's midpoint, as `RealBaseLoad.step` does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta

import numpy as np

from homeflex.sim.fleet.grid import Minutes
from homeflex.sim.fleet.rows import FloatArray
from homeflex.sim.realdata.uk_base_load import SLOTS, RealBaseLoad


def base_load_w(loads: Sequence[RealBaseLoad], minutes: Minutes) -> FloatArray:
    """W per step (rows) and household (columns): kWh of the typical-year slot x 2000 x scale."""
    half = timedelta(seconds=minutes.dt_s / 2)
    midpoints = [(t - half).astimezone(UTC) for t in minutes.times]
    dates = sorted({t.date() for t in midpoints})
    date_of = {d: j for j, d in enumerate(dates)}
    step_date = np.array([date_of[t.date()] for t in midpoints])
    step_slot = np.array([t.hour * 2 + t.minute // 30 for t in midpoints])
    years = {id(load.year): load.year for load in loads}
    year_of = {key: j for j, key in enumerate(years)}
    kwh = np.stack([year.kwh for year in years.values()])  # (years, days, slots)
    sample = np.array([year_of[id(load.year)] for load in loads])
    rows = np.array([[load.day_index(d) for d in dates] for load in loads]).reshape(len(loads), len(dates))
    scale = np.array([load.scale for load in loads])
    # W per (date, slot) and household, each float as `kwh * 2000 * scale`; then one row per step.
    slot_w = kwh[sample[:, None], rows] * 2000 * scale[:, None, None]  # (households, dates, slots)
    by_slot = slot_w.reshape(len(loads), -1).T  # (dates x slots, households)
    return np.ascontiguousarray(by_slot[step_date * SLOTS + step_slot])
