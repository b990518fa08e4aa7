"""Profile JSON round trip: plain, strict JSON (no NaN), and back to the same profile."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from homeflex.core.timeutil import PERIOD
from homeflex.profiles import (
    DeviceSeries,
    HouseholdProfile,
    learn_profile,
    profile_from_json,
    profile_to_json,
)

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)


def full_profile() -> HouseholdProfile:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    times = [start + i * PERIOD for i in range(48 * 7)]
    energy = {t: 0.3 + 0.01 * (i % 48) for i, t in enumerate(times)}
    devices = DeviceSeries(
        ev_kw={t: 7.0 if 34 <= i % 48 < 40 else 0.0 for i, t in enumerate(times)},
        heat_pump_kw={t: 1.0 + 0.01 * (i % 5) for i, t in enumerate(times)},
        pv_kw={t: -2.0 if 20 <= i % 48 < 30 else 0.0 for i, t in enumerate(times)},
        battery_kw={t: 1.0 if i % 48 < 4 else 0.0 for i, t in enumerate(times)},
    )
    temp = {t: 10.0 + (i % 7) for i, t in enumerate(times)}
    return learn_profile("h1", energy, device_series=devices, outdoor_c=temp, as_of=AS_OF, version=2)


def test_round_trip_is_exact() -> None:
    profile = full_profile()
    assert profile.ev and profile.heat_pump and profile.pv and profile.battery
    data = json.loads(json.dumps(profile_to_json(profile), allow_nan=False))
    assert profile_from_json(data) == profile
    assert data["version"] == 2
    assert data["as_of"] == "2026-07-01T00:00:00Z"


def test_empty_profile_round_trips_with_nulls() -> None:
    profile = learn_profile("h1", {}, as_of=AS_OF, version=0)
    text = json.dumps(profile_to_json(profile), allow_nan=False)
    data = json.loads(text)
    assert data["weekday"]["mean_kwh"] == [None] * 48
    assert data["ev"] is None
    assert profile_to_json(profile_from_json(data)) == data


def test_unknown_schema_is_rejected() -> None:
    data = profile_to_json(full_profile())
    data["schema"] = 99
    with pytest.raises(ValueError, match="schema"):
        profile_from_json(data)
