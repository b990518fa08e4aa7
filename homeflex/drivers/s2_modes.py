"""Pure FRBC arithmetic for the S2 driver: which operation mode, at which factor, gives a wanted power.

An FRBC operation mode has, for the fill level the storage is at, a power range per commodity quantity
(S2: + consumption). At factor ``f`` the mode draws ``start + f * (end - start)`` (summed over the
quantities, i.e. the phases). The driver picks the mode and factor whose power is nearest the setpoint;
for a ceiling (``max_power_w``, a heat pump) a mode that cannot go under the ceiling ranks last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from s2python.frbc import FRBCOperationMode, FRBCOperationModeElement, FRBCSystemDescription


@dataclass(frozen=True, kw_only=True)
class Choice:
    actuator_id: str
    mode_id: str
    factor: float
    power_w: float  # what the mode draws at that factor (+ consumption)


def element_at(mode: FRBCOperationMode, fill: float | None) -> FRBCOperationModeElement:
    """The mode's element for the fill level (the first one when the fill level is not known)."""
    for element in mode.elements:
        r = element.fill_level_range
        if fill is None or r.start_of_range <= fill <= r.end_of_range:
            return element
    return mode.elements[0]


def power_range(element: FRBCOperationModeElement) -> tuple[float, float]:
    """(power at factor 0, power at factor 1), W, summed over the element's commodity quantities."""
    return (
        sum(r.start_of_range for r in element.power_ranges),
        sum(r.end_of_range for r in element.power_ranges),
    )


def at_factor(start: float, end: float, watts: float) -> tuple[float, float]:
    """The factor in 0..1 whose power is nearest ``watts``, and that power."""
    if end == start:
        return 0.0, start
    factor = min(max((watts - start) / (end - start), 0.0), 1.0)
    return factor, start + factor * (end - start)


def choose(
    description: FRBCSystemDescription, watts: float, fill: float | None, ceiling: bool = False
) -> Choice | None:
    """The best (mode, factor) over the actuators' normal modes (abnormal-condition-only modes are left
    to the device); None when the description has no normal mode."""
    best: tuple[tuple[bool, float], Choice] | None = None
    for actuator in description.actuators:
        for mode in actuator.operation_modes:
            if mode.abnormal_condition_only or not mode.elements:
                continue
            factor, power = at_factor(*power_range(element_at(mode, fill)), watts)
            rank = (ceiling and power > watts + 1e-6, abs(power - watts))
            if best is None or rank < best[0]:
                choice = Choice(
                    actuator_id=str(actuator.id), mode_id=str(mode.id), factor=factor, power_w=power
                )
                best = (rank, choice)
    return None if best is None else best[1]


def fill_fraction(description: FRBCSystemDescription | None, fill: float) -> float | None:
    """The storage's fill level as 0..1 of the description's range (a battery's SoC)."""
    if description is None:
        return None
    r = description.storage.fill_level_range
    span = r.end_of_range - r.start_of_range
    return None if span <= 0 else min(max((fill - r.start_of_range) / span, 0.0), 1.0)


def total_power(values: Sequence[tuple[str, float]]) -> float:
    """Electric power of a PowerMeasurement's values (the phases summed), W, + consumption."""
    return sum(value for quantity, value in values if quantity.startswith("ELECTRIC.POWER"))
