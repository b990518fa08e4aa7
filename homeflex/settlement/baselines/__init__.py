"""Baselines: the counterfactual kWh a household would have used in one settlement period.

The method contract and registry, the calendar helpers, the methods (each module registers its methods
in `registry.METHODS` on import, so importing this package registers them all) and the data-sufficiency
rule; the day-of adjustment of a baseline is adjustment.py. See registry.py for the contract:

    method(period, history, /, *, excluded_days=frozenset(), event=None, **params) -> kWh, NaN if unknown
"""

from __future__ import annotations

from homeflex.settlement.baselines.days import (
    HOLIDAY_RULES,
    HolidayRule,
    baseline_day_type,
    calendar_days,
    day_values,
    eligible_days,
    local_day_periods,
    same_local_period,
)
from homeflex.settlement.baselines.historical import (
    XofYKind,
    n_in_n,
    same_day_type,
    x_of_y,
    x_of_y_slice,
    x_of_y_value,
)
from homeflex.settlement.baselines.pjm import match_days, pjm_match_day, pjm_same_day
from homeflex.settlement.baselines.registry import (
    METHODS,
    BaselineMethod,
    EventWindow,
    Registry,
    compute_baseline,
    register,
)
from homeflex.settlement.baselines.sufficiency import (
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
