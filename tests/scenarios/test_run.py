"""A small community run end to end: six households, two days, the real loop, VEN rule and settlement."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from homeflex import cli
from homeflex.scenarios.command import progress_line
from homeflex.scenarios.compare import comparisons
from homeflex.scenarios.gaming import gaming_text
from homeflex.scenarios.html import html_report
from homeflex.scenarios.report import csv_text, events_csv_text, summaries, terminal_report
from homeflex.scenarios.runner import ScenarioResult, pick_population, run_scenario
from homeflex.scenarios.spec import Scenario, Variant, parse_mix

SMALL = Scenario(
    households=6,
    days=2,
    seed=3,
    mix=parse_mix("A:1,B:1,C:2,D:2"),
    first_day=date(2026, 1, 19),
    observe_days=7,
    variants=(
        Variant(name="one week", baseline="same_day_type", baseline_params=(("weeks", 1),)),
        Variant(
            name="one week, sliding",
            baseline="same_day_type",
            baseline_params=(("weeks", 1),),
            curve="sliding",
        ),
        Variant(
            name="one week, adjusted",
            baseline="same_day_type",
            baseline_params=(("weeks", 1),),
            adjustment=(("kind", "additive"),),
        ),
    ),
    gaming_kw=2.0,
)


@pytest.fixture(scope="module")
def result() -> ScenarioResult:
    return run_scenario(SMALL, processes=2)


def test_population_follows_the_mix() -> None:
    categories = sorted(str(c.spec.category) for c in pick_population(SMALL))
    assert categories == ["A", "B", "C", "C", "D", "D"]


def test_stage_three_households_get_events_and_d_stays_passive(result: ScenarioResult) -> None:
    assert result.complete and len(result.households) == 6
    for r in result.households:
        if r.category == "D":
            assert (r.stage, r.events_offered, r.settled["one week"].requested_kwh) == (2, 0, 0)
        else:
            assert (r.stage, r.events_offered) == (3, 2)
            assert len(r.opt_out_reasons) == r.events_offered - r.events_opted_in
        if r.vulnerable:
            assert r.cold_minutes == 0
        assert r.settled["one week"].requested_kwh == pytest.approx(1.5 * r.events_opted_in)


def test_report_per_category(result: ScenarioResult) -> None:
    groups = {g.group: g for g in summaries(result, "one week")}
    assert [groups[c].households for c in "ABCD"] == [1, 1, 2, 2]
    assert groups["all"].offered == 8
    assert groups["all"].delivered_kwh <= groups["all"].requested_kwh + 1e-9
    assert groups["D"].payment_median == 0
    text = terminal_report(result)
    assert "6 of 6 households" in text and "[one week, sliding]" in text
    assert re.search(r"^\s*vulnerable\s", text, re.MULTILINE)


def test_sliding_scale_never_pays_more_than_the_delivered_energy(result: ScenarioResult) -> None:
    by_group = {c.group: c for c in comparisons(result)}
    assert by_group["all"].gain == 0
    assert by_group["all"].total_b <= by_group["all"].total_a + 1e-9
    assert by_group["D"].same == 2


def test_gaming_pays_only_under_a_day_of_adjustment(result: ScenarioResult) -> None:
    flex = [r for r in result.households if r.events_opted_in]
    assert flex and all(r.gaming_cost_gbp > 0 for r in flex)
    for r in flex:
        assert r.gamed["one week"] == r.settled["one week"]  # the baseline looks at other days only
        extra = r.gamed["one week, adjusted"].payment_gbp - r.settled["one week, adjusted"].payment_gbp
        assert extra >= 0
        plain = r.settled["one week, adjusted"]
        if r.events_opted_in and plain.delivered_kwh < plain.requested_kwh - 1e-6:
            assert extra > 0  # a raised baseline pays for more "delivery", up to the instruction
    text = gaming_text(result)
    assert "+2 kW over the 2 h before each event opted in to" in text and "one week, adjusted" in text
    assert not any(r.gamed or r.gaming_cost_gbp for r in result.households if not r.events_opted_in)


def test_csv_has_a_row_per_household(result: ScenarioResult) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(result))))
    assert [r["household_id"] for r in rows] == [r.household_id for r in result.households]
    assert {"one week:payment_gbp", "one week, sliding:delivered_kwh", "bill_change"} <= set(rows[0])


def test_events_csv_is_the_evidence_behind_each_households_totals(result: ScenarioResult) -> None:
    rows = list(csv.DictReader(io.StringIO(events_csv_text(result))))
    variants = [v.name for v in SMALL.variants]
    assert len(rows) == sum(r.events_offered for r in result.households) * len(variants)
    for r in result.households:
        for name in variants:
            mine = [row for row in rows if row["household_id"] == r.household_id and row["variant"] == name]
            assert len(mine) == r.events_offered
            assert sum(int(row["opted_in"]) for row in mine) == r.events_opted_in
            paid = sum(float(row["payment_gbp"]) for row in mine)
            assert paid == pytest.approx(r.settled[name].payment_gbp, abs=1e-3)
            delivered = sum(float(row["delivered_kwh"]) for row in mine)
            assert delivered == pytest.approx(r.settled[name].delivered_kwh, abs=1e-3)
            assert all(row["status"] for row in mine)
    assert any(float(row["payment_gbp"]) > 0 for row in rows)  # someone was paid for something


def test_html_is_self_contained(result: ScenarioResult) -> None:
    page = html_report(result)
    assert page.count("<svg") == 4 and "payments per household" in page
    assert not re.search(r"<script|<link|src=|https?://(?!www\.w3\.org/2000/svg)", page)


def test_an_interrupted_run_reports_the_households_finished(result: ScenarioResult) -> None:
    def stop_in_the_second_batch(done: int, total: int, elapsed_s: float) -> None:
        if done == 3:  # the first batch (2 households) is finished, the second half-way
            raise KeyboardInterrupt

    partial = run_scenario(SMALL, processes=1, progress=stop_in_the_second_batch, batch_size=2)
    assert not partial.complete and partial.planned == 6
    assert len(partial.households) == 2
    full = {r.household_id: r for r in result.households}
    assert all(full[r.household_id] == r for r in partial.households)  # same seeds, same figures
    assert "2 of 6 households (INTERRUPTED: partial results)" in terminal_report(partial)
    assert "Interrupted" in html_report(partial)


def test_progress_moves_within_batches_and_ends_at_the_total() -> None:
    seen: list[int] = []
    small = replace(SMALL, households=4, variants=SMALL.variants[:1], gaming_kw=0.0)
    run_scenario(small, processes=1, progress=lambda done, total, _: seen.append(done))
    assert seen == sorted(seen) and seen[-1] == 4 and seen.count(4) == 1
    days = small.observe_days + 2 * small.days
    # after each simulated day of the one batch (in households' worth, none finished), then its results
    assert seen == [min(4 * day // days, 3) for day in range(1, days + 1)] + [4]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mix", "A:5,X:3"], "bad mix entry 'X:3': expected CATEGORY:WEIGHT"),
        (["--baseline", "nope"], "unknown baseline method 'nope'; known:"),
        (["--compare", "baseline=same_day_type"], "expected baseline=A,B"),
        (["--start-date", "19/01/2026"], "bad date or time"),
        (["--households", "0"], "at least 1"),
        (["--gaming-kw", "1", "--gaming-h", "0.7"], "whole number of half-hours"),
        (["--compare", "adjustment=none,sideways"], "kind must be none, additive or ratio"),
        (["--replan-hours", "0.1"], "re-plan cadence must be between 0.5 and 24 hours"),
    ],
)
def test_bad_options_exit_2_with_the_reason(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["simulate", *args]) == 2
    assert message in capsys.readouterr().err


def test_command_writes_table_csv_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--households", "2", "--mix", "C:1", "--days", "1", "--observe-days", "7"]
    args += ["--baseline", "same_day_type:weeks=1", "--processes", "1"]
    args += ["--csv", str(tmp_path / "out.csv"), "--html", str(tmp_path / "out.html")]
    args += ["--events-csv", str(tmp_path / "events.csv")]
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert "2 of 2 households" in captured.out
    assert "simulated 2/2 households" in captured.err
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 3
    header = (tmp_path / "events.csv").read_text().splitlines()[0]
    assert header.startswith("household_id,category,vulnerable,variant,event_id")
    assert (tmp_path / "out.html").read_text().startswith("<!doctype html>")


def test_progress_in_a_log_is_one_line_per_tenth_and_rewritten_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    log, terminal = io.StringIO(), Terminal()
    for stream in (log, terminal):
        show = progress_line(stream)
        for done in (0, 1, 2, 2, 50, 99, 100, 100):
            show(done, 100, float(done))
    assert log.getvalue().splitlines() == [
        "simulated 0/100 households, 0 s, starting",
        "simulated 50/100 households, 50 s, ~50 s left",
        "simulated 99/100 households, 99 s, ~1 s left",
        "simulated 100/100 households, 100 s, ~0 s left",
    ]
    written = terminal.getvalue()
    assert written.count("\r") == 8 and written.endswith("simulated 100/100 households, 100 s, ~0 s left \n")
