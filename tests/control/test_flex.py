"""The pure planner and opt decision, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homeflex.control.devices import adapter_for, registered_kinds
from homeflex.control.flex import plan_event
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, FlexEvent, HouseholdSpec, Stage
from homeflex.ven.decision import decide_opt

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
EV = DeviceSpec(id="ev", kind=DeviceKind.EV_CHARGER, max_power_w=7400)
HP = DeviceSpec(id="heat_pump", kind=DeviceKind.HEAT_PUMP, max_power_w=3000)
BAT = DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000)
PLUG = DeviceSpec(id="plug", kind=DeviceKind.SMART_PLUG, max_power_w=2000)
PV = DeviceSpec(id="pv", kind=DeviceKind.PV, max_power_w=3680)


def home(*devices: DeviceSpec, vulnerable: bool = False, stage: Stage = Stage.FLEX) -> HouseholdSpec:
    return HouseholdSpec(id="hh1", category=Category.B, stage=stage, devices=devices, vulnerable=vulnerable)


def event(reduction_w: float = 2000, **kw: Any) -> FlexEvent:
    return FlexEvent(
        event_id="e1",
        modification_number=0,
        start=NOW + timedelta(minutes=10),
        duration=timedelta(minutes=30),
        reduction_w=reduction_w,
        price_gbp_per_mwh=1812,
        **kw,
    )


STATES: dict[str, dict[str, Any]] = {
    "ev": {"power_w": 7400, "plugged": True},
    "heat_pump": {"power_w": 900, "indoor_c": 20.2},
    "battery": {"power_w": -400, "soc": 0.8},
    "plug": {"power_w": 1200, "on": True},
    "pv": {"power_w": -500},
}


def test_every_device_kind_has_an_adapter_that_restores_to_default() -> None:
    for kind in DeviceKind:
        spec = DeviceSpec(id="d", kind=kind, max_power_w=1000)
        restore = adapter_for(spec).restore()
        assert restore and all(v is None for v in restore.values())
    assert set(registered_kinds()) == set(DeviceKind)


def test_battery_first_then_plug_then_car_then_heating() -> None:
    plan = plan_event(home(HP, EV, PLUG, BAT, PV), STATES, event(reduction_w=20_000))
    assert [a.device_id for a in plan.actions] == ["battery", "plug", "ev", "heat_pump"]
    assert plan.expected_reduction_w == pytest.approx(4600 + 1200 + 7400 + 900)


def test_stops_when_the_request_is_covered() -> None:
    plan = plan_event(home(HP, EV, PLUG, BAT), STATES, event(reduction_w=3000))
    assert [a.device_id for a in plan.actions] == ["battery"]
    assert plan.actions[0].settings == {"power_w": -3400}


def test_battery_never_discharges_beyond_its_limit() -> None:
    plan = plan_event(home(BAT), STATES, event(reduction_w=50_000))
    assert plan.actions[0].settings == {"power_w": -5000}


@pytest.mark.parametrize(
    ("device", "state"),
    [
        (EV, {"power_w": 0, "plugged": False}),
        (EV, {"power_w": 0, "plugged": True}),  # plugged but full
        (HP, {"power_w": 900, "indoor_c": 17.5}),  # already cool: leave it alone
        (BAT, {"power_w": 0, "soc": 0.15}),  # at its reserve
        (PLUG, {"power_w": 0, "on": True}),
        (PV, {"power_w": -2000}),
    ],
)
def test_devices_that_cannot_help_are_not_commanded(device: DeviceSpec, state: dict[str, Any]) -> None:
    assert plan_event(home(device), {device.id: state}, event()).actions == ()


def test_unknown_state_is_not_guessed() -> None:
    assert plan_event(home(EV, HP), {}, event()).actions == ()


def test_vulnerable_household_heating_is_never_curtailed() -> None:
    plan = plan_event(home(HP, PLUG, vulnerable=True), STATES, event(reduction_w=5000))
    assert [a.device_id for a in plan.actions] == ["plug"]


@pytest.mark.parametrize(
    ("household", "flex", "now", "opt_in", "reason"),
    [
        (home(EV), event(), NOW, True, "can shed 7400 W (100% of request)"),
        (home(HP), event(), NOW, True, "can shed 900 W (45% of request)"),
        (home(EV, stage=Stage.AUTOMATIC), event(), NOW, False, "stage 2: not enrolled for flex"),
        (home(EV, stage=Stage.MANUAL), event(), NOW, False, "stage 1"),
        (home(EV), event(), NOW + timedelta(hours=2), False, "event already over"),
        (home(EV), event(cancelled=True), NOW, False, "event cancelled"),
        (home(PV), event(), NOW, False, "no device can shed load now"),
        (home(HP, vulnerable=True), event(), NOW, False, "heating is protected in a vulnerable household"),
    ],
)
def test_opt_decision(
    household: HouseholdSpec, flex: FlexEvent, now: datetime, opt_in: bool, reason: str
) -> None:
    decision = decide_opt(household, STATES, flex, now)
    assert decision.opt_in is opt_in
    assert reason in decision.reason
