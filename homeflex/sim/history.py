"""Backfill: run the physics over a past window and keep the meter readings at settlement boundaries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from homeflex.core.timeutil import PERIOD, period_start
from homeflex.sim.household import SimHousehold


def boundaries(start: datetime, end: datetime) -> list[datetime]:
    """UTC half-hour boundaries b with start <= b <= end."""
    first = period_start(start)
    if first < start:
        first += PERIOD
    out = []
    while first <= end:
        out.append(first)
        first += PERIOD
    return out


def generate_history(
    households: Sequence[tuple[str, SimHousehold]],
    start: datetime,
    end: datetime,
    step_s: float = 300.0,
) -> dict[str, list[dict[str, object]]]:
    """Meter readings per household id at every half-hour boundary in [start, end], oldest first.

    The physics runs with default behaviour (nothing commanded) and ends at `end`, so the same objects
    can go on live with their registers continuing. A household already past `start` is an error.
    """
    if end < start:
        raise ValueError("history end is before its start")
    marks = boundaries(start, end)
    out: dict[str, list[dict[str, object]]] = {}
    for household_id, household in households:
        if household.time is not None and household.time > start:
            raise ValueError(f"{household_id} has already run to {household.time}, after the history start")
        household.advance_to(start, step_s)
        readings = []
        for mark in marks:
            household.advance_to(mark, step_s)
            readings.append(household.meter_reading(mark))
        household.advance_to(end, step_s)
        out[household_id] = readings
    return out
