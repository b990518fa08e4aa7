"""Stage-1 profile learning: what a household does while the platform only watches (pure); job.py learns
it from stored readings, stores its versions and publishes them."""

from homeflex.profiles.learn import DeviceSeries, learn_profile
from homeflex.profiles.model import (
    BatteryProfile,
    Coverage,
    DayTypeLoad,
    EvProfile,
    EvSession,
    HeatPumpFit,
    HouseholdProfile,
    PvProfile,
)
from homeflex.profiles.readiness import Readiness, ReadinessRule, readiness
from homeflex.profiles.serial import profile_from_json, profile_to_json

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
