"""Device adapters and dispatch: from a schedule to at most one command per device for the current step.

Safety invariants, as properties over random households, states and tariffs: no command exceeds a
device's limits or the household's import limit; the heat-pump setpoint stays in the comfort band; a
vulnerable home's heat pump is never capped; a house below its comfort floor always gets heat.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homeflex.control.devices import Step, adapter_for, registered_kinds
from homeflex.control.devices.ev_charger import EV_MIN_W
from homeflex.control.devices.heat_pump import REHEAT_ABOVE_FLOOR_C
from homeflex.control.dispatch import defaults, max_draw_w, next_change, setpoints, within_import_limit
from homeflex.control.schedule import Schedule, step_index
from homeflex.core.domain import DeviceKind, DeviceSpec, HouseholdSpec
from tests.control.households import (
    ALL,
    BATTERY,
    EV,
    HP,
    PLUG,
    PV,
    WINTER_EVENING,
    Case,
    cases,
    check_settings,
    constant_weather,
    flexible_draw_w,
    household,
    schedule_for,
    setup,
    states,
)

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = WINTER_EVENING


def with_plan(schedule: Schedule, **series: list[float] | float) -> Schedule:
    """The schedule with some planned series replaced (a scalar fills every step)."""
    n = schedule.problem.n_steps
    arrays: dict[str, Any] = {}
    for name, value in series.items():
        size = n + 1 if name in ("indoor_c", "battery_soc_kwh") else n
        arrays[name] = np.full(size, value) if np.isscalar(value) else np.asarray(value, dtype=float)
    return replace(schedule, plan=replace(schedule.plan, **arrays))


def step(spec: HouseholdSpec, schedule: Schedule, **kw: Any) -> Step:
    args: dict[str, Any] = {"household": spec, "schedule": schedule, "t": 0, "states": states()}
    return Step(**(args | kw))


def full_schedule(**state_kw: Any) -> Schedule:
    return schedule_for(household(*ALL), setup(), states(**state_kw), NOW)


# --- registry and contract --------------------------------------------------------------------------


def test_every_device_kind_has_an_adapter() -> None:
    assert registered_kinds() == sorted(DeviceKind)


@pytest.mark.parametrize("spec", ALL, ids=[d.kind.value for d in ALL])
def test_adapter_contract(spec: DeviceSpec) -> None:
    adapter = adapter_for(spec)
    assert adapter.spec == spec
    default = adapter.default()
    assert default and all(v is None for v in default.values())  # None: back to its own behaviour
    assert 0 <= adapter.max_draw_w(default) <= spec.max_power_w
    s = full_schedule()
    assert set(adapter.setpoint(step(household(*ALL), s))) == set(default)  # the same keys


def test_unknown_device_kind_lists_the_known_ones() -> None:
    toaster = DeviceSpec(id="toaster", kind="toaster", max_power_w=900)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown device kind 'toaster'") as err:
        adapter_for(toaster)
    for kind in DeviceKind:
        assert kind.value in str(err.value)


def test_defaults_for_every_device() -> None:
    assert defaults(household(EV, PLUG)) == {"ev": {"max_power_w": None}, "plug": {"on": None}}


# --- adapters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("planned_kw", "expected"),
    [(0.0, 0), (0.049, 0), (0.2, EV_MIN_W), (3.0, 3000), (7.4, 7400), (9.0, 7400)],
)
def test_ev_charger_follows_the_plan(planned_kw: float, expected: float) -> None:
    s = with_plan(full_schedule(), ev_kw=planned_kw)
    assert adapter_for(EV).setpoint(step(household(*ALL), s)) == {"max_power_w": expected}


def test_ev_charger_defaults_without_a_session_or_after_ready_by() -> None:
    unplugged = full_schedule(plugged=False)
    assert adapter_for(EV).setpoint(step(household(*ALL), unplugged)) == {"max_power_w": None}
    s = full_schedule()
    assert s.problem.ev is not None
    late = step(household(*ALL), s, t=s.problem.ev.ready_by_step)
    assert adapter_for(EV).setpoint(late) == {"max_power_w": None}


@pytest.mark.parametrize(
    ("planned_kw", "meter_w", "own_w", "expected"),
    [
        (2.0, 500, 0, 2000),  # charge as planned
        (9.0, 500, 0, 5000),  # never above the battery's rating
        (-3.0, 2500, -500, -3000),  # the house takes 3 kW: discharge as planned
        (-3.0, 500, 0, -500),  # only what the rest of the house takes now
        (-3.0, -200, 0, 0),  # exporting already: nothing
        (-9.0, 9000, 0, -5000),
    ],
)
def test_battery_follows_the_plan_without_exporting(
    planned_kw: float, meter_w: float, own_w: float, expected: float
) -> None:
    s = with_plan(
        full_schedule(), battery_charge_kw=max(planned_kw, 0), battery_discharge_kw=max(-planned_kw, 0)
    )
    st_ = states(meter_w=meter_w)
    st_["battery"]["power_w"] = own_w
    assert adapter_for(BATTERY).setpoint(step(household(*ALL), s, states=st_)) == {"power_w": expected}


def test_battery_in_a_capped_step_discharges_as_planned() -> None:
    s = with_plan(full_schedule(), battery_charge_kw=0.0, battery_discharge_kw=3.0)
    got = adapter_for(BATTERY).setpoint(step(household(*ALL), s, states=states(meter_w=100), capped=True))
    assert got == {"power_w": -3000}


def test_battery_without_its_state_is_left_alone() -> None:
    st_ = states()
    del st_["battery"]
    s = schedule_for(household(*ALL), setup(), st_, NOW)
    assert adapter_for(BATTERY).setpoint(step(household(*ALL), s, states=st_)) == {"power_w": None}


@pytest.mark.parametrize(
    ("vulnerable", "capped", "planned_c", "cap"),
    [
        (False, False, 20.47, 1234),  # the plan's power, rounded up: it coasts and pre-heats as planned
        (False, True, 20.47, 1234),
        (True, True, 20.47, None),  # a vulnerable home's heat pump is never capped
        (True, False, 20.47, None),
        (False, False, 25.0, 1234),
        (False, False, 15.0, 1234),
    ],
)
def test_heat_pump_follows_the_planned_power(
    vulnerable: bool, capped: bool, planned_c: float, cap: int | None
) -> None:
    spec = household(*ALL, vulnerable=vulnerable)
    s = schedule_for(spec, setup(), states(), NOW)
    s = with_plan(s, indoor_c=planned_c, heat_pump_kw=1.2331)
    got = adapter_for(HP).setpoint(step(spec, s, capped=capped))
    comfort = s.problem.heating.comfort  # type: ignore[union-attr]
    # A power follower asks for the band's top and lets the cap decide; a vulnerable home's thermostat
    # gets the planned temperature.
    wanted_c = planned_c if vulnerable else comfort.max_c
    assert got == {
        "setpoint_c": round(min(max(wanted_c, comfort.min_c), comfort.max_c), 1),
        "max_power_w": cap,
    }


def with_minimum_heat_pump(spec: HouseholdSpec) -> Schedule:
    """A schedule whose heat pump has a 1.8 kW thermal minimum; tests set its plan with with_plan."""
    s = schedule_for(spec, setup(), states(), NOW)
    assert s.problem.heating is not None
    pump = replace(s.problem.heating.heat_pump, min_thermal_kw=1.8)
    return replace(s, problem=replace(s.problem, heating=replace(s.problem.heating, heat_pump=pump)))


def test_heat_pump_below_its_minimum_runs_on_off_for_the_planned_share() -> None:
    spec = household(*ALL)
    base = with_minimum_heat_pump(spec)
    s = with_plan(base, indoor_c=20.0, heat_pump_kw=0.2)  # well under the minimum
    comfort = s.problem.heating.comfort  # type: ignore[union-attr]
    early = adapter_for(HP).setpoint(step(spec, s, elapsed=0.0))
    late = adapter_for(HP).setpoint(step(spec, s, elapsed=0.9))
    assert early["max_power_w"] > 200 and early["setpoint_c"] == round(comfort.max_c, 1)  # on, at its minimum
    assert late == {"setpoint_c": round(comfort.min_c, 1), "max_power_w": 0}  # off for the rest
    nothing = with_plan(base, indoor_c=20.0, heat_pump_kw=0.0)
    assert adapter_for(HP).setpoint(step(spec, nothing))["max_power_w"] == 0


def test_the_loop_wakes_when_a_part_step_run_ends_not_at_its_next_refresh() -> None:
    spec = household(*ALL)
    base = with_minimum_heat_pump(spec)
    s = with_plan(base, indoor_c=20.0, heat_pump_kw=0.2)
    share = adapter_for(HP).changes_at(step(spec, s, elapsed=0.0))  # type: ignore[attr-defined]
    assert share is not None and 0 < share < 1
    t = step_index(s.problem.start, NOW)
    ends = s.problem.start + timedelta(hours=0.5 * (t + share))
    assert next_change(spec, s, states(), s.problem.start + timedelta(hours=0.5 * t)) == ends
    just_before = adapter_for(HP).setpoint(step(spec, s, elapsed=share - 1e-6))
    just_after = adapter_for(HP).setpoint(step(spec, s, elapsed=share + 1e-6))
    assert just_before["max_power_w"] > 0 and just_after["max_power_w"] == 0  # the change it names
    assert next_change(spec, s, states(), ends + timedelta(seconds=1)) is None  # off until the step ends
    full = with_plan(base, indoor_c=20.0, heat_pump_kw=3.0)  # modulates all step
    assert next_change(spec, full, states(), NOW) is None


@pytest.mark.parametrize("vulnerable", [False, True])
def test_heat_pump_heats_a_house_below_its_floor_whatever_the_plan(vulnerable: bool) -> None:
    spec = household(*ALL, vulnerable=vulnerable)
    s = with_plan(schedule_for(spec, setup(), states(), NOW), indoor_c=15.0, heat_pump_kw=0.0)
    got = adapter_for(HP).setpoint(step(spec, s, states=states(indoor_c=18.5), capped=True))
    floor = 19.5 if vulnerable else 19.0
    assert got == {"setpoint_c": floor + REHEAT_ABOVE_FLOOR_C, "max_power_w": None}


def test_heat_pump_reheat_stays_inside_a_narrow_vulnerable_band() -> None:
    spec = household(HP, vulnerable=True)
    hs = setup(comfort_min_c=19.0, comfort_max_c=20.0, vulnerable_margin_c=0.8)  # band 19.8-20.3
    s = schedule_for(spec, hs, states(indoor_c=19.0), NOW)
    got = adapter_for(HP).setpoint(step(spec, s, states=states(indoor_c=19.0)))
    assert got == {"setpoint_c": 20.3, "max_power_w": None}


def test_heat_pump_setpoint_rounds_inside_the_band() -> None:
    spec = household(HP, vulnerable=True)
    hs = setup(comfort_min_c=19.0, comfort_max_c=21.0, vulnerable_margin_c=0.33)  # floor 19.33
    s = with_plan(schedule_for(spec, hs, states(indoor_c=20.0), NOW), indoor_c=19.33)
    got = adapter_for(HP).setpoint(step(spec, s, states=states(indoor_c=20.0)))
    assert got["setpoint_c"] >= 19.33


@pytest.mark.parametrize(
    ("pv_kw", "curtailed_kw", "expected"),
    [(3.0, 0.0, None), (3.0, 0.005, None), (3.0, 1.0, 2000), (5.0, 0.5, 4000)],
)
def test_pv_limits_output_only_where_the_plan_curtails(
    pv_kw: float, curtailed_kw: float, expected: int | None
) -> None:
    s = schedule_for(household(*ALL), setup(), states(), NOW, constant_weather(5.0, pv_kw=pv_kw))
    s = with_plan(s, pv_curtailed_kw=curtailed_kw)
    assert adapter_for(PV).setpoint(step(household(*ALL), s)) == {"export_limit_w": expected}
    assert adapter_for(PV).max_draw_w({"export_limit_w": expected}) == 0


@pytest.mark.parametrize(("shed", "expected", "draw"), [(False, None, 2000), (True, False, 0)])
def test_smart_plug_is_shed_only_during_events(shed: bool, expected: bool | None, draw: float) -> None:
    got = adapter_for(PLUG).setpoint(step(household(*ALL), full_schedule(), shed_plugs=shed))
    assert got == {"on": expected}
    assert adapter_for(PLUG).max_draw_w(got) == draw


# --- the household's import limit -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit_kw", "given_", "expected"),
    [
        (23.0, {"ev": 7400, "battery": 5000}, {"ev": 7400, "battery": 5000}),
        (14.0, {"ev": 7400, "battery": 5000}, {"ev": 7400, "battery": 1600}),  # battery charging cut first
        (10.0, {"ev": 7400, "battery": 5000}, {"ev": 5000, "battery": 0}),  # then the EV
        (6.2, {"ev": 7400, "battery": 5000}, {"ev": 1200 * 0, "battery": 0}),  # below 6 A: EV paused
        (8.0, {"ev": 7400, "battery": -3000}, {"ev": 3000, "battery": -3000}),  # discharging draws nothing
        (8.0, {"ev": None, "battery": 2000}, {"ev": 3000, "battery": 0}),  # charge-now gets a limit
        (12.0, {"ev": None, "battery": None}, {"ev": 7000, "battery": 0}),  # own mode: idle, not charged
        (16.0, {"ev": None, "battery": None}, {"ev": None, "battery": 0}),
    ],
)
def test_import_limit_cuts_battery_then_ev(
    limit_kw: float, given_: dict[str, float | None], expected: dict[str, float | None]
) -> None:
    spec = household(EV, HP, BATTERY, PLUG)  # heat pump 3 kW and plug 2 kW are not cut
    hs = setup(max_import_kw=limit_kw)
    settings_: dict[str, dict[str, Any]] = {
        "ev": {"max_power_w": given_["ev"]},
        "hp": {"setpoint_c": 20.0, "max_power_w": None},
        "battery": {"power_w": given_["battery"]},
        "plug": {"on": None},
    }
    got = within_import_limit(spec, hs, settings_)
    assert got["ev"] == {"max_power_w": expected["ev"]}
    assert got["battery"] == {"power_w": expected["battery"]}
    assert got["hp"] == {"setpoint_c": 20.0, "max_power_w": None}
    assert max_draw_w(spec, got) <= 1000 * limit_kw or flexible_draw_w(spec, got) == 0


def test_setpoints_without_a_plan_are_defaults_within_the_limit() -> None:
    spec, hs = household(*ALL), setup(max_import_kw=0.2)
    s = schedule_for(spec, hs, states(), NOW)
    assert not s.ok
    got = setpoints(spec, hs, s, states(), NOW, capped=True, shed_plugs=True)
    assert got["hp"] == {"setpoint_c": None, "max_power_w": None}
    assert got["plug"] == {"on": None}  # no plan, no event: the plug is not touched
    assert got["ev"] == {"max_power_w": 0}
    assert got["battery"] == {"power_w": 0}


def test_setpoints_follow_the_current_step() -> None:
    spec, hs = household(*ALL), setup({"type": "two_rate", "night_hours": (0.5, 5.5)})
    s = schedule_for(spec, hs, states(), NOW)
    for minutes in (0, 100, 400, 2000, 5000):  # beyond the horizon: its last step
        now = NOW + timedelta(minutes=minutes)
        t = min(step_index(s.problem.start, now), s.problem.n_steps - 1)
        got = setpoints(spec, hs, s, states(), now)
        assert got["ev"] == adapter_for(EV).setpoint(step(spec, s, t=t))


# --- safety invariants ------------------------------------------------------------------------------


@PROPERTY
@given(cases(), st.booleans(), st.booleans())
def test_commands_respect_device_and_household_limits(case: Case, capped: bool, shed: bool) -> None:
    schedule = case.schedule()
    for minutes in (0, 45, 600):
        now = case.now + timedelta(minutes=minutes)
        got = setpoints(case.spec, case.setup, schedule, case.states, now, capped=capped, shed_plugs=shed)
        check_settings(case, schedule, got)


@PROPERTY
@given(cases(kinds=(DeviceKind.HEAT_PUMP, DeviceKind.EV_CHARGER, DeviceKind.BATTERY)), st.floats(0.1, 6.0))
def test_a_cold_house_gets_heat_whatever_the_plan(case: Case, below_c: float) -> None:
    """A plan made when the house was warm says "off"; the house is now below its floor."""
    warm = {**case.states, "hp": {**case.states["hp"], "indoor_c": 23.5}}
    schedule = schedule_for(case.spec, case.setup, warm, case.now, case.weather)
    if schedule.ok and schedule.problem.heating is not None:
        schedule = with_plan(schedule, heat_pump_kw=0.0, indoor_c=10.0)  # the worst plan there is
    floor = case.setup.preferences.comfort_min_c
    floor += case.setup.preferences.vulnerable_margin_c if case.spec.vulnerable else 0.0
    cold = {**case.states, "hp": {**case.states["hp"], "indoor_c": floor - below_c}}
    got = setpoints(case.spec, case.setup, schedule, cold, case.now, capped=True, shed_plugs=True)
    hp = got["hp"]
    assert hp["max_power_w"] is None
    if schedule.ok and schedule.problem.heating is not None:
        assert hp["setpoint_c"] > floor
    check_settings(replace(case, states=cold), schedule, got)
