"""The control core without I/O: phases over an event, re-planning and its reasons, cancelling, and
the safety invariants on every decision over random households, states, tariffs and events."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from homeflex.control.core import REPLANS_KEPT, ControlCore, Decision
from homeflex.control.devices import Settings
from homeflex.control.schedule import DIVERSITY_GBP_PER_KWH, horizon_start
from homeflex.core.domain import FlexEvent
from homeflex.core.timeutil import PERIOD
from tests.control.households import (
    ALL,
    HP,
    PLUG,
    WINTER_EVENING,
    Case,
    cases,
    check_settings,
    constant_weather,
    flex_event,
    household,
    random_events,
    setup,
    states,
)

PROPERTY = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = WINTER_EVENING  # 18:10 UTC
EVENT_START = datetime(2026, 1, 14, 19, 0, tzinfo=NOW.tzinfo)


def core(*devices: Any, vulnerable: bool = False, stagger_s: float = 300.0, **prefs: Any) -> ControlCore:
    return ControlCore(
        household=household(*(devices or ALL), vulnerable=vulnerable),
        setup=setup({"type": "two_rate"}, **prefs),
        forecast=constant_weather(3.0),
        recovery_stagger_s=stagger_s,
        seed=7,
    )


def run(c: ControlCore, times: list[datetime], st_: Any = None) -> list[Decision]:
    """Decide at each time, holding what was sent last, as the loop does."""
    held: dict[str, Settings] = {}
    out = []
    for now in times:
        d = c.decide(now, st_ if st_ is not None else states(), held)
        held = {**held, **d.settings}
        out.append(d)
    return out


def collapse(phases: list[str]) -> list[str]:
    return [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]


def every(start: datetime, end: datetime, minutes: float = 5) -> list[datetime]:
    out, t = [], start
    while t < end:
        out.append(t)
        t += timedelta(minutes=minutes)
    return out


# --- phases -----------------------------------------------------------------------------------------


def test_phases_over_an_event() -> None:
    c = core()
    e = flex_event(EVENT_START, 60, 1500)
    c.accept(e)
    hold_until = c.hold_until(e)
    assert e.end < hold_until <= e.end + timedelta(seconds=300)
    times = [*every(NOW, EVENT_START), *every(EVENT_START, e.end), e.end, hold_until - timedelta(seconds=1)]
    times += [
        hold_until + timedelta(seconds=10),
        *every(hold_until + timedelta(minutes=1), e.end + timedelta(hours=1)),
    ]
    decisions = run(c, times)
    phases = [d.phase for d in decisions]
    assert collapse(phases) == ["plan", "curtail", "refresh", "hold", "restore", "plan"]
    by_phase = {p: [d for d in decisions if d.phase == p] for p in set(phases)}
    assert len(by_phase["curtail"]) == len(by_phase["restore"]) == 1
    assert all(d.event_id == "e1" for p in ("curtail", "refresh", "hold", "restore") for d in by_phase[p])
    assert all(d.event_id == "" for d in by_phase["plan"])
    curtail, restore = by_phase["curtail"][0], by_phase["restore"][0]
    assert curtail.late_s == 0.0
    assert restore.late_s == pytest.approx(10.0)
    assert curtail.settings["plug"] == {"on": False}  # sheddable loads off during the event
    assert all(d.settings["plug"] == {"on": False} for d in by_phase["refresh"])
    assert restore.settings["plug"] == {"on": None}
    assert curtail.settings["hp"]["max_power_w"] is not None  # capped at the plan
    last_refresh = by_phase["refresh"][-1]
    assert all(d.settings == last_refresh.settings for d in by_phase["hold"])  # hold repeats the last


def test_curtail_late_wake_reports_how_late() -> None:
    c = core()
    c.accept(flex_event(EVENT_START, 60))
    decisions = run(c, [NOW, EVENT_START + timedelta(seconds=42)])
    assert decisions[-1].phase == "curtail"
    assert decisions[-1].late_s == 42.0


def test_no_hold_without_a_stagger() -> None:
    c = core(stagger_s=0.0)
    e = flex_event(EVENT_START, 60)
    c.accept(e)
    phases = [d.phase for d in run(c, [NOW, EVENT_START, e.end, e.end + timedelta(minutes=5)])]
    assert phases == ["plan", "curtail", "restore", "plan"]


def test_event_never_dispatched_is_not_restored() -> None:
    c = core()
    e = flex_event(EVENT_START, 60)
    c.accept(e)
    phases = [d.phase for d in run(c, [NOW, e.end + timedelta(minutes=10), e.end + timedelta(minutes=40)])]
    assert phases == ["plan", "plan", "plan"]


def test_past_events_are_forgotten() -> None:
    c = core()
    e = flex_event(EVENT_START, 60)
    c.accept(e)
    run(c, [NOW, EVENT_START, c.hold_until(e) + 2 * PERIOD])
    assert c.events == {}


def test_stagger_is_reproducible_per_seed() -> None:
    e = flex_event(EVENT_START, 60)
    a, b = core(), core()
    a.accept(e)
    b.accept(e)
    assert a.hold_until(e) == b.hold_until(e)
    a.accept(e)  # a modified event keeps its stagger
    assert a.hold_until(e) == b.hold_until(e)


# --- re-planning ------------------------------------------------------------------------------------


def test_replans_and_their_reasons() -> None:
    c = core()
    run(c, [NOW, NOW + timedelta(minutes=5), NOW + timedelta(minutes=25)])
    assert [why for _, why in c.replans] == ["start", "new half-hour"]
    c.accept(flex_event(EVENT_START, 60))
    run(c, [NOW + timedelta(minutes=26)])
    assert c.replans[-1][1] == "event e1 accepted"
    assert c.schedule is not None and c.schedule.problem.import_cap_kw is not None


def test_a_long_running_core_keeps_only_the_latest_replans() -> None:
    assert core().replans.maxlen == REPLANS_KEPT


def test_a_coarser_plan_cadence_keeps_the_plan_until_it_is_due_or_something_changes() -> None:
    c = core()
    c.replan_every = timedelta(hours=4)
    run(c, every(NOW, NOW + timedelta(hours=3, minutes=50), 30))  # no deviation: the first plan holds
    assert [why for _, why in c.replans] == ["start"]
    run(c, [NOW + timedelta(hours=4, minutes=5)])
    assert [why for _, why in c.replans] == ["start", "plan due"]
    c.accept(flex_event(EVENT_START, 60))  # a change re-plans at once, whatever the cadence
    run(c, [NOW + timedelta(hours=4, minutes=10)])
    assert c.replans[-1][1] == "event e1 accepted"


def test_a_plan_cadence_under_a_half_hour_is_refused() -> None:
    with pytest.raises(ValueError, match="at least a half-hour"):
        ControlCore(
            household=core().household,
            setup=core().setup,
            forecast=core().forecast,
            replan_every=timedelta(minutes=10),
        )


@pytest.mark.parametrize(
    ("then", "why"),
    [
        ({"plugged": True}, "EV plugged in"),
        ({"indoor_c": 21.5}, "indoor 21.5 °C, planned"),
        ({"indoor_c": 18.4}, "indoor 18.4 °C, planned"),
        ({"indoor_c": 20.3}, None),
    ],
)
def test_deviation_triggers_a_replan(then: dict[str, Any], why: str | None) -> None:
    c = core()
    base: dict[str, Any] = {"plugged": False, "indoor_c": 20.0}
    run(c, [NOW], states(**base))
    count = len(c.replans)
    d = c.decide(NOW + timedelta(minutes=5), states(**(base | then)), {})
    if why is None:
        assert len(c.replans) == count
    else:
        assert len(c.replans) == count + 1
        assert c.replans[-1][1].startswith(why)
    assert d.phase == "plan"
    if then.get("plugged"):
        assert c.schedule is not None and c.schedule.problem.ev is not None


def test_cancel_during_an_event_replans_uncapped() -> None:
    c = core()
    e = flex_event(EVENT_START, 60, 1500)
    c.accept(e)
    during = run(c, [NOW, EVENT_START, EVENT_START + timedelta(minutes=5)])
    assert during[-1].phase == "refresh"
    assert c.cancel("e1") is True
    assert c.cancel("e1") is False
    assert c.cancel("nope") is False
    d = c.decide(EVENT_START + timedelta(minutes=10), states(), during[-1].settings)
    assert c.replans[-1][1] == "event e1 cancelled"
    assert d.phase == "plan" and d.event_id == ""
    assert d.settings["plug"] == {"on": None}
    assert c.schedule is not None and c.schedule.problem.import_cap_kw is not None
    assert not (c.schedule.problem.import_cap_kw < float("inf")).any()


def test_event_accepted_again_after_a_cancel_curtails_afresh() -> None:
    c = core()
    e = flex_event(EVENT_START, 60, 1500)
    c.accept(e)
    run(c, [NOW, EVENT_START])
    c.cancel("e1")
    c.accept(replace(e, modification_number=1))
    d = c.decide(EVENT_START + timedelta(minutes=10), states(), {})
    assert d.phase == "curtail"  # every device re-confirmed, as at an event's start
    assert d.late_s == 600.0


def test_next_wake() -> None:
    c = core()
    assert c.next_wake(NOW, 60) == NOW + timedelta(seconds=60)
    assert c.next_wake(NOW, 3600) == horizon_start(NOW) + PERIOD
    e = flex_event(NOW + timedelta(minutes=2), 30)
    c.accept(e)
    assert c.next_wake(NOW, 3600) == e.start
    assert c.next_wake(e.start, 3600) == horizon_start(NOW) + PERIOD
    assert c.next_wake(e.end, 3600) == c.hold_until(e)


# --- assessing --------------------------------------------------------------------------------------


def test_assess_against_the_reference_and_other_events() -> None:
    c = core()
    a = c.assess(flex_event(EVENT_START, 60, 1000, "new"), NOW, states())
    assert a is not None and a.share == 1.0
    c.accept(flex_event(EVENT_START, 60, 30_000, "old"))
    busy = c.assess(flex_event(EVENT_START, 60, 1000, "new"), NOW, states())
    assert busy is not None and busy.share < 1.0
    again = c.assess(flex_event(EVENT_START, 60, 1000, "old"), NOW, states())  # not counted twice
    assert again is not None and again.share == 1.0


def test_assess_without_a_plan_is_none() -> None:
    c = core(max_import_kw=0.2)
    assert c.assess(flex_event(EVENT_START), NOW, states()) is None


# --- safety -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("vulnerable", [False, True])
def test_a_house_that_gets_cold_while_holding_is_heated(vulnerable: bool) -> None:
    c = core(HP, PLUG, vulnerable=vulnerable)
    e = flex_event(EVENT_START, 60, 1000)
    c.accept(e)
    run(c, [NOW, EVENT_START])
    held: dict[str, Settings] = {"hp": {"setpoint_c": 19.0, "max_power_w": 0}, "plug": {"on": False}}
    warm = c.decide(e.end + timedelta(seconds=1), states(indoor_c=20.0), held)
    assert warm.phase == "hold"
    assert warm.settings == held  # holding: nothing changes
    cold = c.decide(e.end + timedelta(seconds=2), states(indoor_c=17.0), held)
    assert cold.phase == "hold"
    assert cold.settings["plug"] == held["plug"]  # the rest holds
    assert cold.settings["hp"]["max_power_w"] is None
    floor = 19.5 if vulnerable else 19.0
    assert cold.settings["hp"]["setpoint_c"] > floor


@PROPERTY
@given(cases().flatmap(lambda c: random_events(c.now).map(lambda e: (c, e))))
def test_every_decision_over_an_event_is_safe(pair: tuple[Case, FlexEvent]) -> None:
    case, e = pair
    c = ControlCore(
        household=case.spec, setup=case.setup, forecast=case.weather, recovery_stagger_s=120, seed=1
    )
    c.accept(e)
    times = [case.now, e.start, e.start + timedelta(minutes=20), e.end, e.end + timedelta(minutes=2)]
    times += [e.end + timedelta(minutes=40)]
    held: dict[str, Settings] = {}
    phases = []
    for now in sorted(t for t in times if t >= case.now):
        d = c.decide(now, case.states, held)
        phases.append(d.phase)
        assert c.schedule is not None
        if d.phase == "hold":  # what was sent, already checked; only a cold house is heated afresh
            assert {k: v for k, v in d.settings.items() if k != "hp"} == {
                k: v for k, v in held.items() if k != "hp"
            }
        else:
            check_settings(case, c.schedule, d.settings)
        held = {**held, **d.settings}
    assert phases.count("curtail") == 1
    assert phases[-1] == "plan"


def test_a_new_tariff_replans_at_once_and_moves_the_battery() -> None:
    c = core()
    [first] = run(c, [NOW])
    c.change_setup(setup({"type": "flat"}))
    [second] = run(c, [NOW + timedelta(minutes=1)])
    assert c.replans[-1][1] == "configuration changed"
    assert c.schedule is not None
    prices = c.schedule.problem.tariff.import_gbp_per_kwh
    assert (prices >= 0.245).all() and (prices < 0.245 + DIVERSITY_GBP_PER_KWH).all()  # flat now
    assert first.settings != second.settings  # 18:10 is the day rate on two-rate: the plan differs on flat
