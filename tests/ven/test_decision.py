"""Opting in to a flex event (pure): only when enrolled, in time, and when the plan delivers enough of
the request while keeping every preference; a vulnerable home never opts in to an event that would need
its comfort floor breached. ``decide_event`` is that rule between the household's loop assessing the
event and taking it on, the one path for the live VEN and the simulator."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings

from homeflex.control.core import ControlCore
from homeflex.control.flexplan import Assessment
from homeflex.control.schedule import horizon_start
from homeflex.control.setup import Preferences
from homeflex.core.domain import DeviceKind, FlexEvent, HouseholdSpec, Stage
from homeflex.core.timeutil import PERIOD
from homeflex.scenarios.closedloop import CoreAtTick
from homeflex.ven.decision import OptDecision, decide_event, decide_opt
from tests.control.households import (
    ALL,
    HP,
    WINTER_EVENING,
    Case,
    cases,
    constant_weather,
    flex_event,
    household,
    random_events,
    schedule_for,
    setup,
    states,
)

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = WINTER_EVENING
START = horizon_start(NOW) + 2 * PERIOD  # 19:00 UTC
EVENT = flex_event(START, 60, 1000)
COMFORT = "DSO import cap cannot be met together with the comfort band"


def assessment(share: float, extra_cost_gbp: float = 0.0, reason: str = "") -> Assessment:
    s = schedule_for(household(*ALL), setup(), states(), NOW)
    costly = replace(s.plan, cost_gbp=s.plan.cost_gbp + extra_cost_gbp)
    return Assessment(
        event_id="e1", requested_kw=1.0, share=share, plan=costly, reference=s.plan, reason=reason
    )


@pytest.mark.parametrize(
    ("kw", "opt_in", "reason"),
    [
        ({}, True, "plan delivers 1.00 of 1.00 kW (100%)"),
        (
            {"a": assessment(1.0, 0.42)},
            True,
            "plan delivers 1.00 of 1.00 kW (100%); costs £0.42 on the tariff",
        ),
        ({"a": assessment(1.0, 0.004)}, True, "plan delivers 1.00 of 1.00 kW (100%)"),
        ({"a": assessment(1.0, -0.3)}, True, "plan delivers 1.00 of 1.00 kW (100%)"),  # saves money
        ({"a": assessment(0.5)}, True, "plan delivers 0.50 of 1.00 kW (50%)"),
        ({"a": assessment(0.5), "min_share": 0.75}, False, "can deliver only 0.50 of 1.00 kW (50%)"),
        (
            {"a": assessment(0.25, reason=COMFORT)},
            False,
            f"can deliver only 0.25 of 1.00 kW (25%): {COMFORT}",
        ),
        (
            {"a": assessment(0.0, reason="x"), "min_share": 1e-9},
            False,
            "can deliver only 0.00 of 1.00 kW (0%): x",
        ),
        ({"a": None}, False, "no plan: device states or forecast unavailable"),
        ({"event": replace(EVENT, cancelled=True)}, False, "event cancelled"),
        ({"stage": Stage.AUTOMATIC}, False, "household in stage 2: not enrolled for flex"),
        ({"stage": Stage.MANUAL}, False, "household in stage 1: not enrolled for flex"),
        ({"now": EVENT.end}, False, "event already over"),
        ({"now": EVENT.start + timedelta(minutes=10)}, True, "plan delivers"),  # late, but not over
    ],
)
def test_decide_opt(kw: dict[str, object], opt_in: bool, reason: str) -> None:
    spec = household(*ALL, stage=kw.get("stage", Stage.FLEX))  # type: ignore[arg-type]
    a = kw.get("a", assessment(1.0))
    d = decide_opt(
        spec,
        kw.get("event", EVENT),  # type: ignore[arg-type]
        kw.get("now", NOW),  # type: ignore[arg-type]
        a,  # type: ignore[arg-type]
        min_share=kw.get("min_share", 0.5),  # type: ignore[arg-type]
    )
    assert d.opt_in is opt_in
    assert d.opt_type == ("optIn" if opt_in else "optOut")
    assert d.reason.startswith(reason)
    if d.assessment is not None:
        assert d.assessment is a


def test_opt_decision_type_names() -> None:
    assert OptDecision(opt_in=True, reason="").opt_type == "optIn"
    assert OptDecision(opt_in=False, reason="").opt_type == "optOut"


def test_vulnerable_heat_pump_home_in_the_cold_opts_out_of_a_huge_reduction() -> None:
    spec = household(HP, vulnerable=True)
    hs = setup()
    c = ControlCore(household=spec, setup=hs, forecast=constant_weather(-4.0), seed=1)
    e = flex_event(START, 120, 10_000)
    a = c.assess(e, NOW, states(indoor_c=19.6))
    assert a is not None
    d = decide_opt(spec, e, NOW, a, min_share=hs.preferences.min_event_share)
    assert d.opt_type == "optOut"
    assert d.reason.startswith("can deliver only ")
    assert "comfort band" in d.reason
    assert (a.plan.indoor_c[1:] >= 19.5 - 1e-3).all()  # what it offers keeps the floor + margin


def test_same_home_opts_in_to_a_small_reduction() -> None:
    spec = household(HP, vulnerable=True)
    c = ControlCore(household=spec, setup=setup(), forecast=constant_weather(-4.0), seed=1)
    e = flex_event(START, 60, 300)
    a = c.assess(e, NOW, states(indoor_c=19.6))
    d = decide_opt(spec, e, NOW, a)
    assert d.opt_in, d.reason
    assert a is not None and (a.plan.indoor_c[1:] >= 19.5 - 1e-3).all()


@PROPERTY
@given(
    cases(kinds=(DeviceKind.HEAT_PUMP, DeviceKind.BATTERY, DeviceKind.EV_CHARGER), vulnerable=True).flatmap(
        lambda c: random_events(c.now).map(lambda e: (c, e))
    )
)
def test_vulnerable_home_never_opts_in_to_breaching_its_floor(pair: tuple[Case, FlexEvent]) -> None:
    case, e = pair
    prefs = case.setup.preferences
    c = ControlCore(household=case.spec, setup=case.setup, forecast=case.weather, seed=1)
    a = c.assess(e, case.now, case.states)
    d = decide_opt(case.spec, e, case.now, a, min_share=prefs.min_event_share)
    event(d.opt_type)
    if not d.opt_in:
        assert d.reason
        return
    assert a is not None and a.plan.ok
    assert a.share >= prefs.min_event_share and a.deliverable_kw > 0
    reference = c.reference(case.now, case.states)
    if reference.problem.heating is None:
        return
    floor = prefs.comfort_min_c + prefs.vulnerable_margin_c
    assert reference.problem.heating.comfort.min_c == pytest.approx(floor)
    # Wherever the reference keeps the floor, so does the plan it opted in with; where the house
    # starts below the floor, no colder than the reference.
    ref_in, got = reference.plan.indoor_c[1:], a.plan.indoor_c[1:]
    assert (got >= np.minimum(floor, ref_in) - 1e-3).all()
    # Once accepted, its heat pump is never capped during the event.
    assert c.schedule is None  # assessing does not touch the core's schedule
    c.accept(e)
    c.decide(case.now, case.states, {})
    during = c.decide(e.start, case.states, {})
    assert during.phase == "curtail"
    assert during.settings["hp"]["max_power_w"] is None


@PROPERTY
@given(cases(low_import=False).flatmap(lambda c: random_events(c.now).map(lambda e: (c, e))))
def test_opt_in_only_with_enough_of_the_request(pair: tuple[Case, FlexEvent]) -> None:
    case, e = pair
    c = ControlCore(household=case.spec, setup=case.setup, forecast=case.weather, seed=1)
    a = c.assess(e, case.now, case.states)
    for min_share in (0.25, 0.5, 1.0):
        d = decide_opt(case.spec, e, case.now, a, min_share=min_share)
        assert d.opt_in == (a is not None and a.share >= min_share and a.deliverable_kw > 0)
        assert d.opt_in == d.reason.startswith("plan delivers")


def test_events_already_over_are_declined_whatever_the_assessment() -> None:
    e = flex_event(datetime(2026, 1, 14, 17, 0, tzinfo=NOW.tzinfo), 60)
    assert decide_opt(household(*ALL), e, NOW, assessment(1.0)).reason == "event already over"


# --- decide_event: assess -> opt -> accept ------------------------------------------------------------


def core_at(spec: HouseholdSpec, **prefs: object) -> CoreAtTick:
    core = ControlCore(household=spec, setup=setup(**prefs), forecast=constant_weather(5.0), seed=1)
    return CoreAtTick(core, NOW, states())


def test_an_event_opted_in_to_is_taken_on_and_a_skip_drops_it() -> None:
    target = core_at(household(*ALL))
    decision = decide_event(target, EVENT, NOW)
    assert decision.opt_in and decision.assessment is not None, decision.reason
    assert target.core.events == {EVENT.event_id: EVENT}
    skipped = decide_event(target, EVENT, NOW, override="customer override")
    assert (skipped.opt_in, skipped.reason, skipped.assessment) == (False, "customer override", None)
    assert target.core.events == {}


@pytest.mark.parametrize(("min_share", "opt_in"), [(0.25, True), (0.5, False)])
def test_the_households_own_minimum_share_decides(min_share: float, opt_in: bool) -> None:
    target = core_at(household(*ALL), min_event_share=min_share)
    big = flex_event(START, 60, 8000)  # the plan delivers 3.5 of 8 kW (44%)
    decision = decide_event(target, big, NOW)
    assert decision.assessment is not None and 0.25 < decision.assessment.share < 0.5
    assert decision.opt_in is opt_in
    assert (big.event_id in target.core.events) is opt_in


def test_a_household_not_enrolled_for_flex_is_not_assessed_and_takes_nothing_on() -> None:
    target = core_at(household(*ALL, stage=Stage.AUTOMATIC))
    decision = decide_event(target, EVENT, NOW)
    assert (decision.opt_in, decision.assessment) == (False, None)
    assert decision.reason == "household in stage 2: not enrolled for flex"
    assert target.core.events == {} and target.core.schedule is None


def test_the_rules_default_minimum_share_is_the_preferences_default() -> None:
    default = Preferences().min_event_share
    just_enough = assessment(default)
    assert decide_opt(household(*ALL), EVENT, NOW, just_enough).opt_in
    assert not decide_opt(household(*ALL), EVENT, NOW, assessment(default - 0.01)).opt_in
