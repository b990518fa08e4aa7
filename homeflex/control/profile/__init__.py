"""Stage-1 profile learning: what a household does while the platform only watches."""

from homeflex.control.profile.learn import DeviceSeries, learn_profile
from homeflex.control.profile.model import (
    BatteryProfile,
    Coverage,
    DayTypeLoad,
    EvProfile,
    EvSession,
    HeatPumpFit,
    HouseholdProfile,
    PvProfile,
)
from homeflex.control.profile.readiness import Readiness, ReadinessRule, readiness
from homeflex.control.profile.serial import profile_from_json, profile_to_json

__all__ = [
    "BatteryProfile",
    "Coverage",
    "DayTypeLoad",
    "DeviceSeries",
    "EvProfile",
    "EvSession",
    "HeatPumpFit",
    "HouseholdProfile",
    "PvProfile",
    "Readiness",
    "ReadinessRule",
    "learn_profile",
    "profile_from_json",
    "profile_to_json",
    "readiness",
]
