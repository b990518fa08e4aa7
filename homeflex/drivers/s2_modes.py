"""Pure FRBC arithmetic for the S2 driver: which operation mode, at which factor, gives a wanted power.

An FRBC operation mode has, for the fill level the storage is at, a power range per commodity quantity
(S2: + consumption). At factor ``f`` the mode draws ``start + f * (end - start)`` (summed over the
quantities, i.e. the phases). The driver picks the mode and factor whose power is nearest the setpoint;
for a ceiling (``max_power_w``, a heat pump) a mode that cannot go under the ceiling ranks last.

Transitions and timers (S2 FRBC): going from the actuator's active mode to another is a transition. When
the actuator describes transitions, only those listed (and not for abnormal conditions only) exist, and a
transition is forbidden while one of its ``blocking_timers`` runs (a heat pump's minimum on and off
times); taking it starts its ``start_timers``. Staying in the active mode at another factor is no
transition. A mode a forbidden transition leads to is never chosen: the best of the reachable ones is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from s2python.common import Transition
from s2python.frbc import (
    FRBCActuatorDescription,
    FRBCOperationMode,
    FRBCOperationModeElement,
    FRBCSystemDescription,
)

# (actuator id, mode id) -> may it be instructed now
Allowed = Callable[[str, str], bool]


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
    description: FRBCSystemDescription,
    watts: float,
    fill: float | None,
    ceiling: bool = False,
    allowed: Allowed | None = None,
) -> Choice | None:
    """The best (mode, factor) over the actuators' normal modes (abnormal-condition-only modes are left
    to the device) that ``allowed`` lets in; None when there is none."""
    best: tuple[tuple[bool, float], Choice] | None = None
    for actuator in description.actuators:
        for mode in actuator.operation_modes:
            if mode.abnormal_condition_only or not mode.elements:
                continue
            if allowed is not None and not allowed(str(actuator.id), str(mode.id)):
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


@dataclass(frozen=True, kw_only=True)
class ActuatorState:
    """What the CEM knows of one actuator: its active mode and its running timers' ends."""

    active: str | None = None  # mode id; None: not reported yet
    timers: Mapping[str, datetime] | None = None  # timer id -> when it finishes


def transition(actuator: FRBCActuatorDescription, source: str, target: str) -> Transition | None:
    """The normal transition from mode ``source`` to ``target``, if the actuator lists one."""
    for t in actuator.transitions:
        if str(t.from_) == source and str(t.to) == target and not t.abnormal_condition_only:
            return t
    return None


def blocked_until(
    actuator: FRBCActuatorDescription, state: ActuatorState, target: str, now: datetime
) -> datetime | None:
    """When going to mode ``target`` becomes possible: None when it is now; ``datetime.max`` when no
    transition leads there. Without transitions described, or the active mode unknown, any mode is."""
    if state.active is None or state.active == target or not actuator.transitions:
        return None
    step = transition(actuator, state.active, target)
    if step is None:
        return datetime.max.replace(tzinfo=now.tzinfo)
    timers = state.timers or {}
    ends = [timers[str(t)] for t in step.blocking_timers if str(t) in timers and timers[str(t)] > now]
    return max(ends) if ends else None


def started_timers(
    actuator: FRBCActuatorDescription, state: ActuatorState, target: str, at: datetime
) -> dict[str, datetime]:
    """The actuator's timers after an instruction into ``target`` executes ``at``: those the
    transition starts run from then for their duration."""
    timers = dict(state.timers or {})
    if state.active is None or state.active == target:
        return timers
    step = transition(actuator, state.active, target)
    durations = {str(t.id): t.duration.root for t in actuator.timers}
    for timer in step.start_timers if step is not None else []:
        if str(timer) in durations:
            timers[str(timer)] = at + timedelta(milliseconds=durations[str(timer)])
    return timers
