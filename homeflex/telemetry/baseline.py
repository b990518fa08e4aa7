"""Baselines: the counterfactual kWh a household would have used in one settlement period.

The public face of `homeflex.telemetry.baselines`: the method contract and registry, the calendar
helpers, the methods (registered on import) and the data-sufficiency rule. See baselines/registry.py
for the contract:

    method(period, history, /, *, excluded_days=frozenset(), event=None, **params) -> kWh, NaN if unknown
"""

from __future__ import annotations

from homeflex.telemetry.baselines.days import (
    HOLIDAY_RULES,
    HolidayRule,
    baseline_day_type,
    calendar_days,
    day_values,
    eligible_days,
    is_weekend_day,
    local_day_periods,
    same_local_period,
)
from homeflex.telemetry.baselines.historical import (
    XofYKind,
    n_in_n,
    same_day_type,
    x_of_y,
    x_of_y_slice,
    x_of_y_value,
)
from homeflex.telemetry.baselines.pjm import match_days, pjm_match_day, pjm_same_day
from homeflex.telemetry.baselines.registry import (
    METHODS,
    BaselineMethod,
    EventWindow,
    Registry,
    compute_baseline,
    register,
)
from homeflex.telemetry.baselines.sufficiency import (
    DataSufficiency,
    Sufficiency,
    check_sufficiency,
    day_coverage,
    insufficient_days,
)

__all__ = [
    "HOLIDAY_RULES",
    "METHODS",
    "BaselineMethod",
    "DataSufficiency",
    "EventWindow",
    "HolidayRule",
    "Registry",
    "Sufficiency",
    "XofYKind",
    "baseline_day_type",
    "calendar_days",
    "check_sufficiency",
    "compute_baseline",
    "day_coverage",
    "day_values",
    "eligible_days",
    "insufficient_days",
    "is_weekend_day",
    "local_day_periods",
    "match_days",
    "n_in_n",
    "pjm_match_day",
    "pjm_same_day",
    "register",
    "same_day_type",
    "same_local_period",
    "x_of_y",
    "x_of_y_slice",
    "x_of_y_value",
]
