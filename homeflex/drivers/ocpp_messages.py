"""OCPP 1.6J payloads the OCPP driver sends and reads, as pure functions (keys in the ``ocpp`` package's
snake_case; it turns them into the protocol's camelCase).

Smart charging (OCPP 1.6 §3.13, protocols.md): the driver's commands are TxDefaultProfiles. A TxProfile
would apply to the running transaction only: it needs that transaction's id and ends with it, so a car
plugged in during an event would charge unlimited; a TxDefaultProfile applies to the transaction running
now and to those that start while it is valid (evcc sends one Absolute TxDefaultProfile [E1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeflex.core.timeutil import iso

PURPOSE = "TxDefaultProfile"
MEASURANDS = ("Power.Active.Import", "Energy.Active.Import.Register", "SoC")
# 1.6 StatusNotification statuses with a car plugged in, and 2.0.1's connector status for it
PLUGGED = frozenset({"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Occupied"})
BASE_PROFILE_ID = 100  # + stack level: one profile id per level, so a new command replaces the last
BACKDATE = timedelta(minutes=1)  # a schedule that starts a little in the past is in force at once [E1]


@dataclass(frozen=True, kw_only=True)
class Rate:
    """How a charger wants its limits: ``W`` (total) or ``A`` (per phase, times ``phases``)."""

    unit: str
    phases: int
    voltage_v: float

    def limit(self, watts: float, *, round_up: bool = False) -> float:
        """The schedule's limit for ``watts``, to the 0.1 the schema allows: down for a command (never
        more than asked), up for the charger's own full power (never less than it can do)."""
        value = watts if self.unit == "W" else watts / (self.voltage_v * self.phases)
        step = math.ceil if round_up else math.floor
        return step(value * 10 + (-1e-9 if round_up else 1e-9)) / 10

    def watts(self, limit: float, phases: int | None = None) -> float:
        return limit if self.unit == "W" else limit * self.voltage_v * (phases or self.phases)


def charging_profile(
    rate: Rate,
    *,
    stack_level: int,
    limit: float,
    now: datetime,
    valid_to: datetime | None,
    kind: str = "Absolute",
) -> dict[str, Any]:
    """A TxDefaultProfile with one period at ``limit`` (in the rate's unit): Absolute, from a minute
    ago, or Relative (to the charger's own start point, with no startSchedule: Wallbox takes only
    those [E3]); with a single period from 0 both hold ``limit`` until ``valid_to``."""
    schedule: dict[str, Any] = {"charging_rate_unit": rate.unit}
    if kind == "Absolute":
        schedule["start_schedule"] = iso(now - BACKDATE)
    schedule["charging_schedule_period"] = [{"start_period": 0, "limit": limit, "number_phases": rate.phases}]
    profile: dict[str, Any] = {
        "charging_profile_id": BASE_PROFILE_ID + stack_level,
        "stack_level": stack_level,
        "charging_profile_purpose": PURPOSE,
        "charging_profile_kind": kind,
        "charging_schedule": schedule,
    }
    if valid_to is not None:
        profile["valid_to"] = iso(valid_to)
    return profile


def composite_limit_w(rate: Rate, schedule: dict[str, Any] | None) -> float | None:
    """The limit a GetCompositeSchedule answer says is in force now (its first period), in W."""
    if not schedule:
        return None
    periods = schedule.get("charging_schedule_period") or []
    if not periods:
        return None
    unit = schedule.get("charging_rate_unit", rate.unit)
    first = periods[0]
    limit = float(first["limit"])
    return (
        limit
        if unit == "W"
        else Rate(unit="A", phases=rate.phases, voltage_v=rate.voltage_v).watts(
            limit, first.get("number_phases")
        )
    )


_SCALE = {"W": 1.0, "kW": 1000.0, "Wh": 1.0, "kWh": 1000.0, "Percent": 0.01}
_KEYS = {"Power.Active.Import": "power_w", "Energy.Active.Import.Register": "energy_wh", "SoC": "soc"}


def read_meter_values(meter_value: list[dict[str, Any]]) -> dict[str, float]:
    """The latest reading of each measurand in a MeterValues request, in the state's vocabulary (W, Wh,
    SoC 0..1). A value per phase counts only when there is no total. ValueError when a value is not a
    number."""
    reading: dict[str, float] = {}
    for entry in meter_value:  # oldest first: a later entry's value wins
        totals: dict[str, float] = {}
        phases: dict[str, float] = {}
        for sample in entry.get("sampled_value") or []:
            measurand = sample.get("measurand", "Energy.Active.Import.Register")  # the spec's default
            key = _KEYS.get(measurand)
            if key is None:
                continue
            try:
                value = float(sample["value"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{measurand} value {sample.get('value')!r} is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"{measurand} value {value} is not finite")
            default_unit = "Percent" if key == "soc" else ("W" if key == "power_w" else "Wh")
            measure = sample.get("unit_of_measure") or {}  # 2.0.1: {unit, multiplier (a power of 10)}
            unit = sample.get("unit") or measure.get("unit") or default_unit
            value *= _SCALE.get(unit, 1.0) * 10.0 ** int(measure.get("multiplier", 0))
            if sample.get("phase") in (None, "N"):
                totals[key] = value
            else:  # per phase: the power is their sum
                phases[key] = phases.get(key, 0.0) + value if key == "power_w" else value
        reading.update({**phases, **totals})
    return reading
