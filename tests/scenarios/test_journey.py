"""Simulated households walk the portal's journey: drop-off by category, the funnel, and the run."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from homeflex import cli
from homeflex.core.domain import Category
from homeflex.portal.journey import Step
from homeflex.scenarios.html import html_report
from homeflex.scenarios.journey import BEFORE_INSTALL, funnel, leaving_probability, walk
from homeflex.scenarios.report import terminal_report
from homeflex.scenarios.runner import pick_population, run_scenario
from homeflex.scenarios.spec import Scenario, parse_mix

AT = datetime(2025, 9, 1, tzinfo=UTC)


def walks(category: Category, n: int, *, scale: float = 1.0, vulnerable: bool = False) -> list:
    return [walk(f"hh{i}", category, vulnerable, interest_at=AT, seed=i, scale=scale) for i in range(n)]


def test_with_no_drop_off_everyone_is_installed_through_every_step() -> None:
    for o in walks(Category.D, 50, scale=0.0):
        assert o.installed and o.reached is Step.STAGE_1
        assert len(o.days) == len(BEFORE_INSTALL) and all(d > 0 for d in o.days)


def test_certain_drop_off_loses_everyone_at_the_first_step() -> None:
    for o in walks(Category.D, 20, scale=10.0):  # 0.35 x 10: certain
        assert o.left and o.reached is Step.INTEREST and o.days == ()


def test_passive_and_vulnerable_customers_leave_more_often() -> None:
    installed = {c: sum(o.installed for o in walks(c, 400)) for c in Category}
    assert installed[Category.A] > installed[Category.B] > installed[Category.C] > installed[Category.D]
    vulnerable = sum(o.installed for o in walks(Category.B, 400, vulnerable=True))
    assert vulnerable < installed[Category.B]
    assert leaving_probability(Category.B, True, 0, 1.0) > leaving_probability(Category.B, False, 0, 1.0)


def test_a_walk_is_reproducible_from_its_seed() -> None:
    assert walks(Category.C, 30) == walks(Category.C, 30)


def test_funnel_counts_only_fall_and_end_at_the_installed() -> None:
    outcomes = walks(Category.C, 200) + walks(Category.A, 50)
    everyone = funnel(outcomes, "all")
    assert everyone.started == everyone.reached[0] == 250
    assert all(a >= b for a, b in zip(everyone.reached, everyone.reached[1:], strict=False))
    assert everyone.installed == sum(o.installed for o in outcomes)
    only_a = funnel(outcomes, "A")
    assert only_a.started == 50 and only_a.installed <= 50
    assert 40 < everyone.median_days_to_install < 100  # seven steps of 3-21 days, drawn +-50 %


SCENARIO = Scenario(
    households=12,
    days=1,
    seed=5,
    mix=parse_mix("A:1,B:1,C:1,D:1"),
    first_day=date(2026, 1, 20),
    observe_days=7,
    journey_scale=1.5,
)


def test_only_installed_households_are_simulated_and_the_report_shows_the_funnel() -> None:
    result = run_scenario(SCENARIO, processes=1)
    assert len(result.journeys) == 12
    installed = {o.household_id for o in result.journeys if o.installed}
    assert 0 < len(installed) < 12
    assert {r.household_id for r in result.households} == installed
    assert {o.household_id for o in result.journeys} == {c.spec.id for c in pick_population(SCENARIO)}
    text = terminal_report(result)
    assert f"{len(installed)} of {len(installed)} households (of 12 who expressed interest)" in text
    assert "Journey (drop-off assumptions x1.5)" in text and "Installed" in text
    assert "Journey: households reaching each step" in html_report(result)


def test_bad_journey_scale_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="drop-off scale"):
        Scenario(journey_scale=-1)
    assert cli.main(["simulate", "--journey", "-0.5"]) == 2
    assert "drop-off scale must be between 0 and 10" in capsys.readouterr().err
