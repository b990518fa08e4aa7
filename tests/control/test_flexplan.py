"""Stage 3: DSO events as caps on net import, what a household can deliver, and the post-event ramp.

Properties over random households, tariffs and events: the capped plan keeps to the caps in the event
window; after the event, import may exceed the reference only by the ramp's growing share of the
reduction; an assessment's share is 1.0 when the full request is feasible, and lower with a reason
otherwise, and its plan still keeps every preference.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings

from homeflex.control.flexplan import (
    BISECTIONS,
    RAMP_STEPS,
    assess,
    event_caps,
    event_steps,
    schedule_with_events,
    with_caps,
)
from homeflex.control.planner import Plan, PlanningProblem, plan
from homeflex.control.schedule import Schedule, horizon_start
from homeflex.core.domain import DeviceKind, FlexEvent
from homeflex.core.timeutil import PERIOD
from tests.control.households import (
    ALL,
    BATTERY,
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

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = horizon_start(WINTER_EVENING)  # 18:00 UTC
TOL = 1e-5


def at(steps: float) -> datetime:
    return START + steps * PERIOD


def reference() -> Schedule:
    return schedule_for(household(*ALL), setup({"type": "two_rate"}), states(), WINTER_EVENING)


def ramp_bound(ref: Plan, first_after: int, reduction_kw: float, n: int) -> dict[int, float]:
    """Post-event ceilings, computed afresh: step ``first_after + k - 1`` gets ``k/(R+1)`` of the cut."""
    return {
        first_after + k - 1: float(ref.net_import_kw[first_after + k - 1])
        + reduction_kw * k / (RAMP_STEPS + 1)
        for k in range(1, RAMP_STEPS + 1)
        if 0 <= first_after + k - 1 < n
    }


# --- event steps and caps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_steps", "minutes", "expected"),
    [
        (2, 60, range(2, 4)),
        (2.5, 60, range(2, 5)),  # starts and ends mid-step: both partial steps count
        (0, 30, range(0, 1)),
        (-1, 60, range(0, 1)),  # began before the horizon
        (-4, 60, range(0, 0)),  # long over
        (70, 120, range(70, 72)),  # runs past the horizon
        (80, 60, range(80, 80)),  # after the horizon
    ],
)
def test_event_steps(start_steps: float, minutes: float, expected: range) -> None:
    e = flex_event(at(start_steps), minutes)
    got = event_steps(START, 72, 0.5, e)
    assert list(got) == list(expected)


def test_event_caps_cut_the_reference_then_ramp_back() -> None:
    s = reference()
    ref = s.plan.net_import_kw
    caps = event_caps(s.problem, s.plan, [flex_event(at(2), 60, 1500)])
    assert caps[2:4] == pytest.approx(ref[2:4] - 1.5)
    assert caps[4] == pytest.approx(ref[4] + 0.5)
    assert caps[5] == pytest.approx(ref[5] + 1.0)
    assert np.isinf(np.delete(caps, [2, 3, 4, 5])).all()


def test_event_caps_scale_with_share_and_ignore_cancelled_events() -> None:
    s = reference()
    ref = s.plan.net_import_kw
    half = event_caps(s.problem, s.plan, [flex_event(at(2), 60, 2000)], share=0.5)
    assert half[2] == pytest.approx(ref[2] - 1.0)
    gone = replace(flex_event(at(2), 60, 2000), cancelled=True)
    assert np.isinf(event_caps(s.problem, s.plan, [gone])).all()


def test_event_caps_below_zero_ask_for_export() -> None:
    s = reference()
    caps = event_caps(s.problem, s.plan, [flex_event(at(2), 30, 20_000)])
    assert caps[2] < 0


def test_overlapping_events_take_the_tighter_cap() -> None:
    s = reference()
    ref = s.plan.net_import_kw
    caps = event_caps(s.problem, s.plan, [flex_event(at(2), 60, 1000, "a"), flex_event(at(3), 60, 2000, "b")])
    assert caps[2] == pytest.approx(ref[2] - 1.0)
    assert caps[3] == pytest.approx(ref[3] - 2.0)
    assert caps[4] == pytest.approx(ref[4] - 2.0)  # b's window wins over a's ramp


@pytest.mark.parametrize(
    ("ended_steps_ago", "ramp"), [(0, {0: 1 / 3, 1: 2 / 3}), (1, {0: 2 / 3}), (2, {}), (10, {})]
)
def test_ramp_holds_after_the_event_when_the_horizon_starts_later(
    ended_steps_ago: int, ramp: dict[int, float]
) -> None:
    """The loop re-plans every half-hour: a plan made after the event must still ramp back."""
    s = reference()
    e = flex_event(at(-2 - ended_steps_ago), 60, 1500)
    caps = event_caps(s.problem, s.plan, [e])
    ref = s.plan.net_import_kw
    for t, fraction in ramp.items():
        assert caps[t] == pytest.approx(ref[t] + 1.5 * fraction)
    assert np.isinf(np.delete(caps, list(ramp))).all()


# --- assess -----------------------------------------------------------------------------------------


def test_assess_full_request_when_feasible() -> None:
    s = reference()
    e = flex_event(at(2), 60, 1000)
    a = assess(s.problem, s.plan, e)
    assert a.share == 1.0
    assert a.reason == ""
    assert a.deliverable_kw == a.requested_kw == 1.0
    assert a.event_id == "e1"
    assert a.plan.ok and a.reference is s.plan
    assert (a.plan.net_import_kw[2:4] <= s.plan.net_import_kw[2:4] - 1.0 + TOL).all()
    assert a.extra_cost_gbp >= -1e-6  # the reference was already the cheapest plan


@pytest.mark.parametrize(("vulnerable", "reduction_w"), [(False, 3000), (True, 2000), (True, 10_000)])
def test_assess_lower_share_with_a_reason(vulnerable: bool, reduction_w: float) -> None:
    spec = household(HP, vulnerable=vulnerable)
    s = schedule_for(spec, setup(), states(indoor_c=19.6), WINTER_EVENING, constant_weather(-4.0))
    a = assess(s.problem, s.plan, flex_event(at(2), 120, reduction_w))
    assert 0 <= a.share < 1
    assert (a.share * 2**BISECTIONS).is_integer()
    assert "DSO import cap cannot be met together with the comfort band" in a.reason
    assert a.deliverable_kw == pytest.approx(a.share * reduction_w / 1000)
    floor = 19.5 if vulnerable else 19.0
    assert (a.plan.indoor_c[1:] >= floor - 1e-3).all()  # comfort was never given up
    cut = a.share * reduction_w / 1000
    assert (a.plan.net_import_kw[2:6] <= s.plan.net_import_kw[2:6] - cut + TOL).all()


def test_assess_nothing_deliverable_keeps_the_reference() -> None:
    spec = household(HP, vulnerable=True)
    s = schedule_for(spec, setup(), states(indoor_c=19.5), WINTER_EVENING, constant_weather(-10.0))
    a = assess(s.problem, s.plan, flex_event(at(0), 360, 50_000))
    assert a.share == 0.0
    assert a.plan is s.plan
    assert a.extra_cost_gbp == 0.0
    assert a.reason


def test_assess_counts_events_already_accepted() -> None:
    s = reference()
    alone = assess(s.problem, s.plan, flex_event(at(2), 60, 4000, "new"))
    busy = assess(s.problem, s.plan, flex_event(at(2), 60, 4000, "new"), [flex_event(at(2), 60, 6000, "old")])
    assert busy.share <= alone.share
    assert busy.share < 1


# --- schedule with events ---------------------------------------------------------------------------


def test_schedule_without_live_events_is_the_reference() -> None:
    s = reference()
    assert schedule_with_events(s, []) == (s, 0.0)
    assert schedule_with_events(s, [replace(flex_event(at(2)), cancelled=True)]) == (s, 0.0)


def test_schedule_with_an_event_is_capped_and_ramps_back() -> None:
    s = reference()
    capped, share = schedule_with_events(s, [flex_event(at(2), 60, 1500)])
    assert share == 1.0
    assert capped.ok and capped.notes == s.notes
    assert capped.problem.import_cap_kw is not None
    assert (capped.plan.net_import_kw[2:4] <= s.plan.net_import_kw[2:4] - 1.5 + TOL).all()
    for t, bound in ramp_bound(s.plan, 4, 1.5, 72).items():
        assert capped.plan.net_import_kw[t] <= bound + TOL


@pytest.mark.parametrize("reduction_w", [500, 1000])
def test_schedule_with_events_delivers_what_it_can_when_the_full_request_does_not_fit(
    reduction_w: float,
) -> None:
    spec = household(HP)
    s = schedule_for(spec, setup(), states(indoor_c=19.2), WINTER_EVENING, constant_weather(-4.0))
    e = flex_event(at(2), 240, reduction_w)
    capped, got = schedule_with_events(s, [e])
    assert 0.0 < got < 1.0
    assert f"events planned at {got:.0%} (best effort)" in capped.notes
    window = slice(2, 10)
    assert capped.plan.net_import_kw[window].sum() < s.plan.net_import_kw[window].sum() - 0.1
    heating = capped.problem.heating
    assert heating is not None
    assert (capped.plan.indoor_c[1:] >= heating.comfort.min_c - 1e-3).all()  # never below the floor


def test_schedule_with_events_keeps_a_vulnerable_floor_whatever_was_asked() -> None:
    spec = household(HP, vulnerable=True)
    s = schedule_for(spec, setup(), states(indoor_c=19.5), WINTER_EVENING, constant_weather(-10.0))
    capped, share = schedule_with_events(s, [flex_event(at(0), 360, 50_000)])
    assert capped.ok and share < 0.05
    heating = capped.problem.heating
    assert heating is not None
    assert (capped.plan.indoor_c[1:] >= heating.comfort.min_c - 1e-3).all()


def test_schedule_with_events_needs_a_reference_plan() -> None:
    s = schedule_for(household(HP), setup(max_import_kw=0.2), states(), WINTER_EVENING)
    assert not s.ok
    assert schedule_with_events(s, [flex_event(at(2))]) == (s, 0.0)


# --- properties -------------------------------------------------------------------------------------


def check_caps(problem: PlanningProblem, ref: Plan, result: Plan, e: FlexEvent, share: float) -> None:
    """Against the reference, computed afresh: the cut in the window, the ramp after it."""
    cut = share * e.reduction_w / 1000
    window = event_steps(problem.start, problem.n_steps, problem.step_h, e)
    net = result.net_import_kw
    for t in window:
        assert net[t] <= ref.net_import_kw[t] - cut + TOL
    end = math.ceil((e.end - problem.start) / PERIOD)
    for t, bound in ramp_bound(ref, end, cut, problem.n_steps).items():
        assert net[t] <= bound + TOL
    assert (result.grid_import_kw <= problem.max_import_kw + TOL).all()


@PROPERTY
@given(cases(low_import=False).flatmap(lambda c: random_events(c.now).map(lambda e: (c, e))))
def test_capped_schedule_keeps_to_caps_and_ramp(pair: tuple[Case, FlexEvent]) -> None:
    case, e = pair
    s = case.schedule()
    capped, share = schedule_with_events(s, [e])
    event(f"share {round(share, 1)}")
    if not s.ok:
        assert (capped, share) == (s, 0.0)
        return
    assert capped.ok
    assert 0.0 <= share <= 1.0
    if share == 1.0:  # the whole request fits: the caps and the ramp hold exactly
        check_caps(capped.problem, s.plan, capped.plan, e, 1.0)
    if capped.problem.heating is not None and s.problem.heating is not None:
        floor = capped.problem.heating.comfort.min_c
        assert (capped.plan.indoor_c[1:] >= np.minimum(floor, s.plan.indoor_c[1:]) - 1e-3).all()


@PROPERTY
@given(
    cases(kinds=(DeviceKind.HEAT_PUMP, DeviceKind.BATTERY, DeviceKind.EV_CHARGER), low_import=False).flatmap(
        lambda c: random_events(c.now).map(lambda e: (c, e))
    )
)
def test_assess_share_is_full_when_feasible_else_lower_with_a_reason(pair: tuple[Case, FlexEvent]) -> None:
    case, e = pair
    s = case.schedule()
    if not s.ok:
        return
    a = assess(s.problem, s.plan, e)
    full_caps = event_caps(s.problem, s.plan, [e])
    feasible = plan(with_caps(s.problem, full_caps)).ok
    event("full" if a.share == 1.0 else "partial" if a.share > 0 else "none")
    assert (a.share == 1.0) == feasible
    assert (a.share * 2**BISECTIONS).is_integer()
    if a.share < 1:
        assert a.reason
        # the largest share on the grid: a sixteenth more is out of reach
        more = event_caps(s.problem, s.plan, [e], share=a.share + 0.5**BISECTIONS)
        assert not plan(with_caps(s.problem, more)).ok
    else:
        assert a.reason == ""
    if a.share == 0:
        assert a.plan is s.plan
        return
    assert a.plan.ok
    check_caps(s.problem, s.plan, a.plan, e, a.share)
    if s.problem.battery is None:  # a battery may export in a DSO window only, which can earn money
        assert a.extra_cost_gbp >= -1e-6


def test_assess_on_a_battery_home_can_export_to_deliver() -> None:
    spec = household(BATTERY)
    s = schedule_for(spec, setup(), states(battery_soc=1.0), WINTER_EVENING)
    a = assess(s.problem, s.plan, flex_event(at(2), 60, 3000))
    assert a.share == 1.0
    assert (a.plan.net_import_kw[2:4] <= s.plan.net_import_kw[2:4] - 3.0 + TOL).all()
    assert (a.plan.grid_export_kw[2:4] > 0).all()  # more than the house uses: the rest is exported


def test_horizon_start_in_the_past_of_an_event_window_caps_from_step_zero() -> None:
    s = reference()
    later = replace(s.problem, start=at(1), now=at(1))
    caps = event_caps(later, s.plan, [flex_event(at(0), 90)])
    assert list(np.flatnonzero(np.isfinite(caps))) == [0, 1, 2, 3]  # window 0-1, ramp 2-3
