"""Stage-2 household planner: one LP per household over a 24-36 h horizon of half-hour steps.

Pure: value objects and numpy arrays in, a :class:`Plan` out; no I/O and no clock reads.
"""

from homeflex.control.planner.baseline import unmanaged
from homeflex.control.planner.plan import Plan, PlanStatus
from homeflex.control.planner.problem import (
    Battery,
    Comfort,
    EvSession,
    Heating,
    PlanningProblem,
    Tariff,
    cap_from_reduction,
)
from homeflex.control.planner.solve import plan
from homeflex.control.planner.thermal import cop_series, simulate_indoor
from homeflex.core.household import Building, HeatPump  # the planner's inputs, the household's facts

__all__ = [
    "Battery",
    "Building",
    "Comfort",
    "EvSession",
    "HeatPump",
    "Heating",
    "Plan",
    "PlanStatus",
    "PlanningProblem",
    "Tariff",
    "cap_from_reduction",
    "cop_series",
    "plan",
    "simulate_indoor",
    "unmanaged",
]
