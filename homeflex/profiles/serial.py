"""JSON form of a HouseholdProfile (plain dicts; NaN becomes null). Storage and versioning: the caller."""

from __future__ import annotations

import math
from typing import Any

from homeflex.core.timeutil import iso, parse_utc
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

SCHEMA = 1
Json = dict[str, Any]


def profile_to_json(profile: HouseholdProfile) -> Json:
    return {
        "schema": SCHEMA,
        "household_id": profile.household_id,
        "version": profile.version,
        "as_of": iso(profile.as_of),
        "coverage": {
            "days_observed": profile.coverage.days_observed,
            "expected_periods": profile.coverage.expected_periods,
            "measured_periods": profile.coverage.measured_periods,
            "fraction": profile.coverage.fraction,  # derived; for readers, ignored on load
        },
        "weekday": _load_to_json(profile.weekday),
        "weekend": _load_to_json(profile.weekend),
        "ev": None if profile.ev is None else _ev_to_json(profile.ev),
        "heat_pump": None if profile.heat_pump is None else _plain(profile.heat_pump),
        "pv": None if profile.pv is None else _plain(profile.pv),
        "battery": None if profile.battery is None else _plain(profile.battery),
    }


def profile_from_json(data: Json) -> HouseholdProfile:
    if data.get("schema") != SCHEMA:
        raise ValueError(f"unsupported profile schema {data.get('schema')!r}; expected {SCHEMA}")
    cov = data["coverage"]
    return HouseholdProfile(
        household_id=str(data["household_id"]),
        version=int(data["version"]),
        as_of=parse_utc(data["as_of"]),
        coverage=Coverage(
            days_observed=int(cov["days_observed"]),
            expected_periods=int(cov["expected_periods"]),
            measured_periods=int(cov["measured_periods"]),
        ),
        weekday=_load_from_json(data["weekday"]),
        weekend=_load_from_json(data["weekend"]),
        ev=None if data["ev"] is None else _ev_from_json(data["ev"]),
        heat_pump=None if data["heat_pump"] is None else HeatPumpFit(**_floats(data["heat_pump"], "samples")),
        pv=None if data["pv"] is None else PvProfile(**_floats(data["pv"], "days")),
        battery=None if data["battery"] is None else BatteryProfile(**_floats(data["battery"], "days")),
    )


def _load_to_json(load: DayTypeLoad) -> Json:
    return {
        "days": load.days,
        "mean_kwh": _nulls(load.mean_kwh),
        "p10_kwh": _nulls(load.p10_kwh),
        "p90_kwh": _nulls(load.p90_kwh),
        "samples": list(load.samples),
    }


def _load_from_json(data: Json) -> DayTypeLoad:
    return DayTypeLoad(
        days=int(data["days"]),
        mean_kwh=_nans(data["mean_kwh"]),
        p10_kwh=_nans(data["p10_kwh"]),
        p90_kwh=_nans(data["p90_kwh"]),
        samples=tuple(int(n) for n in data["samples"]),
    )


def _ev_to_json(ev: EvProfile) -> Json:
    sessions = [
        {"plug_in": iso(s.plug_in), "plug_out": iso(s.plug_out), "energy_kwh": s.energy_kwh}
        for s in ev.sessions
    ]
    return {**_plain(ev, skip="sessions"), "sessions": sessions}


def _ev_from_json(data: Json) -> EvProfile:
    sessions = tuple(
        EvSession(
            plug_in=parse_utc(s["plug_in"]),
            plug_out=parse_utc(s["plug_out"]),
            energy_kwh=float(s["energy_kwh"]),
        )
        for s in data["sessions"]
    )
    return EvProfile(sessions=sessions, **_floats({k: v for k, v in data.items() if k != "sessions"}))


def _plain(value: HeatPumpFit | PvProfile | BatteryProfile | EvProfile, skip: str = "") -> Json:
    """Scalar dataclass fields (not properties) as JSON numbers."""
    fields = value.__dataclass_fields__
    return {name: getattr(value, name) for name in fields if name != skip}


def _floats(data: Json, *ints: str) -> dict[str, Any]:
    return {k: int(v) if k in ints else float(v) for k, v in data.items()}


def _nulls(values: tuple[float, ...]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values]


def _nans(values: list[float | None]) -> tuple[float, ...]:
    return tuple(float("nan") if v is None else float(v) for v in values)
