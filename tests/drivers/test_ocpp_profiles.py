"""The simulated charger's charging profiles follow OCPP 1.6 §3.13 (stacking, purposes, validity, units),
and the driver's payloads are what the spec expects (limits in W or A, validTo, meter values)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homeflex.core.timeutil import iso
from homeflex.drivers.ocpp_messages import Rate, charging_profile, composite_limit_w, read_meter_values
from homeflex.sim.protocols.ocpp_profiles import PURPOSES, Profile, ProfileStack

T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
W = Rate(unit="W", phases=1, voltage_v=230)


def profile(
    level: int,
    limit: float,
    *,
    purpose: str = "TxDefaultProfile",
    valid_to: datetime | None = None,
    connector: int = 1,
    unit: str = "W",
    phases: int | None = 1,
    **schedule: Any,
) -> Profile:
    period: dict[str, Any] = {"start_period": 0, "limit": limit}
    if phases is not None:
        period["number_phases"] = phases
    raw: dict[str, Any] = {
        "charging_profile_id": 100 * PURPOSES.index(purpose) + level,
        "stack_level": level,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "charging_rate_unit": unit,
            "start_schedule": iso(T0 - timedelta(minutes=1)),
            "charging_schedule_period": [period],
            **schedule,
        },
    }
    if valid_to is not None:
        raw["valid_to"] = iso(valid_to)
    return Profile.parse(connector, raw, T0)


def test_the_highest_stack_level_in_force_wins_and_drops_out_at_valid_to() -> None:
    stack = ProfileStack(1, 230)
    assert stack.set(profile(0, 7400)) == "Accepted"
    assert stack.set(profile(1, 3000, valid_to=T0 + timedelta(minutes=15))) == "Accepted"
    assert stack.limit_w(T0) == 3000
    assert stack.limit_w(T0 + timedelta(minutes=14, seconds=59)) == 3000
    assert stack.next_change(T0) == T0 + timedelta(minutes=15)
    assert stack.limit_w(T0 + timedelta(minutes=15)) == 7400  # back to the level below, by itself


def test_the_same_purpose_and_stack_level_replaces_and_clear_takes_one_level() -> None:
    stack = ProfileStack(1, 230)
    stack.set(profile(0, 7400))
    stack.set(profile(1, 3000))
    stack.set(profile(1, 2000))
    assert len(stack.profiles) == 2 and stack.limit_w(T0) == 2000
    assert stack.clear(id=None, connector_id=1, purpose="TxDefaultProfile", stack_level=1) == "Accepted"
    assert stack.limit_w(T0) == 7400
    assert stack.clear(id=None, connector_id=1, purpose="TxDefaultProfile", stack_level=1) == "Unknown"


def test_tx_overrides_tx_default_and_the_charge_point_maximum_caps_both() -> None:
    stack = ProfileStack(1, 230)
    stack.set(profile(3, 2000))
    assert stack.set(profile(0, 5000, purpose="TxProfile")) == "Accepted"
    assert stack.limit_w(T0) == 5000  # a TxProfile overrides the TxDefaultProfile, whatever its level
    assert stack.set(profile(0, 4000, purpose="ChargePointMaxProfile", connector=0)) == "Accepted"
    assert stack.limit_w(T0) == 4000
    assert stack.set(profile(0, 4000, purpose="ChargePointMaxProfile", connector=1)) == "Rejected"


def test_amps_are_per_phase_and_a_missing_number_of_phases_means_three() -> None:
    stack = ProfileStack(1, 230)
    stack.set(profile(1, 10, unit="A", phases=None))
    assert stack.limit_w(T0) == pytest.approx(10 * 230 * 3)


def test_a_stack_level_above_the_chargers_maximum_is_rejected() -> None:
    assert ProfileStack(1, 230).set(profile(9, 3000)) == "Rejected"


def test_a_schedule_ends_with_its_duration() -> None:
    stack = ProfileStack(1, 230)
    stack.set(profile(1, 3000, duration=600))
    assert stack.limit_w(T0 + timedelta(seconds=500)) == 3000
    assert stack.limit_w(T0 + timedelta(seconds=541)) is None  # started a minute before T0


def test_the_drivers_profile_in_amps_never_asks_for_more_than_the_watts() -> None:
    amps = Rate(unit="A", phases=1, voltage_v=230)
    p = charging_profile(
        amps, stack_level=2, limit=amps.limit(3000), now=T0, valid_to=T0 + timedelta(hours=1)
    )
    period = p["charging_schedule"]["charging_schedule_period"][0]
    assert period == {"start_period": 0, "limit": 13.0, "number_phases": 1}
    assert p["valid_to"] == "2026-12-02T19:00:00Z" and p["stack_level"] == 2
    assert p["charging_profile_purpose"] == "TxDefaultProfile"
    assert amps.limit(7400, round_up=True) == 32.2  # the charger's own full power: never less than it can
    schedule = {"charging_rate_unit": "A", "charging_schedule_period": [{"start_period": 0, "limit": 13.0}]}
    assert composite_limit_w(amps, schedule) == 2990


def test_meter_values_in_the_states_vocabulary() -> None:
    sampled = [
        {"value": "3.2", "measurand": "Power.Active.Import", "unit": "kW"},
        {"value": "1234.5", "unit": "Wh"},  # Energy.Active.Import.Register is the default measurand
        {"value": "56", "measurand": "SoC", "unit": "Percent"},
        {"value": "230", "measurand": "Voltage", "unit": "V"},  # not ours: ignored
    ]
    assert read_meter_values([{"timestamp": iso(T0), "sampled_value": sampled}]) == {
        "power_w": 3200.0,
        "energy_wh": 1234.5,
        "soc": 0.56,
    }
    per_phase = [
        {"value": "1000", "measurand": "Power.Active.Import", "phase": p} for p in ("L1", "L2", "L3")
    ]
    assert read_meter_values([{"timestamp": iso(T0), "sampled_value": per_phase}]) == {"power_w": 3000.0}
    with pytest.raises(ValueError, match="not a number"):
        read_meter_values([{"sampled_value": [{"value": "lots", "measurand": "SoC"}]}])
