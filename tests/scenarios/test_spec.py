"""Scenario values parsed from the command line: good strings and clear errors for bad ones."""

from __future__ import annotations

from datetime import date

import pytest

from homeflex.core.domain import Category
from homeflex.scenarios.spec import (
    EventPolicy,
    Scenario,
    Variant,
    apportion,
    parse_baseline,
    parse_compare,
    parse_mix,
)


def test_mix_weights_become_shares() -> None:
    assert parse_mix("A:5,B:20,C:40,D:35") == pytest.approx(
        {Category.A: 0.05, Category.B: 0.2, Category.C: 0.4, Category.D: 0.35}
    )
    assert parse_mix("c:1, d:1") == {Category.C: 0.5, Category.D: 0.5}
    assert parse_mix("A:0,C:2") == {Category.C: 1.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("E:5", "expected CATEGORY:WEIGHT"),
        ("A5", "expected CATEGORY:WEIGHT"),
        ("A:", "expected CATEGORY:WEIGHT"),
        ("A:x", "expected CATEGORY:WEIGHT"),
        ("A:-1", "the weight must be a number >= 0"),
        ("A:nan", "the weight must be a number >= 0"),
        ("A:1,A:2", "appears twice"),
        ("A:0,B:0", "at least one category"),
        ("", "expected CATEGORY:WEIGHT"),
    ],
)
def test_bad_mix_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mix(text)


@pytest.mark.parametrize("n", [1, 6, 7, 40, 1000])
def test_apportion_gives_every_household_a_category(n: int) -> None:
    counts = apportion(n, parse_mix("A:5,B:20,C:40,D:35"))
    assert sum(counts.values()) == n
    assert all(abs(counts[c] - n * s) < 1 for c, s in parse_mix("A:5,B:20,C:40,D:35").items())


def test_baseline_parameters_are_typed() -> None:
    assert parse_baseline("x_of_y:x=4:y=5:kind=mid") == ("x_of_y", (("x", 4), ("y", 5), ("kind", "mid")))
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        parse_baseline("x_of_y:4")


def test_unknown_baseline_and_curve_list_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown baseline method 'nope'; known: .*same_day_type"):
        Variant(name="v", baseline="nope").rules()
    with pytest.raises(ValueError, match=r"unknown parameters \['z'\]"):
        Variant(name="v", baseline="x_of_y", baseline_params=(("z", 1),)).rules()
    with pytest.raises(ValueError, match="unknown payment curve 'steep'; valid: delivered, linear, sliding"):
        Variant(name="v", curve="steep").rules()
    with pytest.raises(ValueError, match="unknown baseline method"):
        Scenario(variants=(Variant(name="v", baseline="nope"),))


def test_variants_need_distinct_names() -> None:
    with pytest.raises(ValueError, match="distinct names"):
        Scenario(variants=parse_compare("curve=sliding,sliding", Variant(name="p")))


def test_compare_makes_two_variants_of_the_base() -> None:
    base = Variant(name="p", curve="sliding")
    a, b = parse_compare("baseline=same_day_type,x_of_y:x=5", base)
    assert (a.baseline, b.baseline, b.baseline_params, b.curve) == (
        "same_day_type",
        "x_of_y",
        (("x", 5),),
        "sliding",
    )
    c, d = parse_compare("curve=delivered,sliding", base)
    assert (c.curve, d.curve, c.name) == ("delivered", "sliding", "delivered")
    e, f = parse_compare("adjustment=none,additive", base)
    assert (dict(e.adjustment), dict(f.adjustment)) == ({"kind": "none"}, {"kind": "additive"})
    g, h = parse_compare("availability=0,300", base)
    assert (g.rules().availability_gbp_per_mw_h, h.rules().availability_gbp_per_mw_h) == (0, 300)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("baseline=same_day_type", "expected baseline=A,B"),
        ("baseline=a,b,c", "expected baseline=A,B"),
        ("price=1,2", "can compare baseline, curve, adjustment or availability"),
        ("availability=0,lots", "availability rates are £/MW/h numbers"),
        ("availability=0,-5", "availability_gbp_per_mw_h must be between 0 and 10000"),
        ("adjustment=none,sideways", "kind must be none, additive or ratio"),
        ("baseline=same_day_type,nope", "unknown baseline method 'nope'"),
        ("curve=delivered,steep", "unknown payment curve 'steep'"),
    ],
)
def test_bad_compare_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_compare(text, Variant(name="p"))


def test_policy_offers_weekday_evenings_with_notice() -> None:
    events = EventPolicy().events(date(2026, 1, 16), 4)  # Friday to Monday
    assert [e.event_id for _, e in events] == ["sim-20260116", "sim-20260119"]
    notice, event = events[0]
    assert event.start.hour == 17 and event.start.minute == 30
    assert (event.start - notice).total_seconds() == 7200
    assert event.reduction_w == 1500
    assert len(EventPolicy(weekdays_only=False).events(date(2026, 1, 16), 4)) == 4
    with pytest.raises(ValueError, match="a reduction > 0"):
        EventPolicy(reduction_kw=0)
