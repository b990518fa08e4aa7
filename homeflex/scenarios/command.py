"""`homeflex simulate`: run a community scenario and report how each customer category fares.

    homeflex simulate --mix A:5,B:20,C:40,D:35 --households 40 --days 7 --seed 1 \\
        --compare adjustment=none,additive --gaming-kw 2 --csv out.csv --html out.html

Each household is observed for --observe-days (stage 1, learning its profile), then runs --days managed
(A-C in stage 3 and offered the DSO's events, D in stage 2) and unmanaged (the reference for its bill).
Events are settled per household with the live baseline and payment code over the metered energy.
Runs on --processes processes; Ctrl-C stops early and still reports the households finished so far
(exit 130). Bad options exit 2 with the reason.

The table, per category A-D, for vulnerable households and for all: events offered; opt-out rate (the
VEN's rule, with its reasons in the CSV); energy requested by the events opted in to and delivered
against the programme's baseline (capped at the instruction); opted-in events the baseline could not
settle for want of history ("unsettled", paid nothing); payment per household over the run (median,
p10-p90); the energy bill managed against unmanaged, and net of payments; minutes below the comfort
floor - 0.3 C managed (unmanaged in brackets); EV departures short of target / all departures.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from homeflex.scenarios.spec import (
    CURVES,
    EventPolicy,
    Scenario,
    Variant,
    parse_baseline,
    parse_compare,
    parse_mix,
)
from homeflex.settlement.baselines import METHODS

if TYPE_CHECKING:
    from homeflex.scenarios.runner import Progress, ScenarioResult

# Only the options are imported with `homeflex`'s parser; the simulator and the report load when run.

EPILOG = f"""\
baseline methods: {", ".join(METHODS.names())}; parameters as NAME:KEY=VALUE[:KEY=VALUE], e.g. x_of_y:x=4:y=5
payment curves: {", ".join(CURVES)} (delivered: pay the delivered, capped energy; sliding: SSEN-like scale)
--compare settles the same simulated households two ways and shows, per category, who gains and who loses:
  --compare baseline=same_day_type,x_of_y:x=5   --compare curve=delivered,sliding
  --compare adjustment=none,additive   (a day-of adjustment; with --gaming-kw 2 shows the pre-event trick)
  --compare availability=0,300   (utilisation only against an availability fee of £300/MW/h on top)
"""


def add_arguments(s: argparse.ArgumentParser) -> None:
    s.description = __doc__
    s.epilog = EPILOG
    s.formatter_class = argparse.RawDescriptionHelpFormatter
    s.add_argument("--mix", default="A:5,B:20,C:40,D:35", help="category weights (default %(default)s)")
    s.add_argument("--households", type=int, default=20, help="number of households (default %(default)s)")
    s.add_argument("--days", type=int, default=7, help="days simulated after observing (default %(default)s)")
    s.add_argument("--seed", type=int, default=1, help="population seed (default %(default)s)")
    s.add_argument("--start-date", default="2026-01-19", help="first simulated day, UK (default %(default)s)")
    s.add_argument("--observe-days", type=int, default=14, help="stage-1 days before (default %(default)s)")
    s.add_argument("--event-start", default="17:30", help="event start, UK local time (default %(default)s)")
    s.add_argument("--event-minutes", type=int, default=60, help="event length (default %(default)s)")
    s.add_argument("--reduction-kw", type=float, default=1.5, help="per household (default %(default)s)")
    s.add_argument(
        "--notice-h", type=float, default=2.0, help="notice before the start (default %(default)s)"
    )
    s.add_argument("--price", type=float, default=1812.0, help="utilisation £/MWh (default %(default)s)")
    s.add_argument("--every-day", action="store_true", help="events at weekends too (default weekdays)")
    s.add_argument("--baseline", default="same_day_type", help="baseline method (default %(default)s)")
    s.add_argument(
        "--curve", default="delivered", choices=list(CURVES), help="payment curve (default %(default)s)"
    )
    s.add_argument(
        "--availability",
        type=float,
        default=0.0,
        help="availability fee £/MW/h, scaled by delivery (default %(default)s: utilisation only)",
    )
    s.add_argument(
        "--compare", help="two variants: baseline=A,B, curve=A,B, adjustment=A,B or availability=A,B"
    )
    s.add_argument(
        "--gaming-kw",
        type=float,
        default=0.0,
        help=(
            "also settle as if stage-3 households ran this much extra load before each event they "
            "opt in to (default off)"
        ),
    )
    s.add_argument(
        "--gaming-h", type=float, default=2.0, help="hours of it before the event (default %(default)s)"
    )
    s.add_argument(
        "--journey",
        type=float,
        nargs="?",
        const=1.0,
        default=None,
        metavar="SCALE",
        help="households start at the expression of interest and walk the customer journey; only those "
        "installed are simulated (SCALE multiplies the assumed drop-off, default 1)",
    )
    s.add_argument(
        "--replan-hours",
        type=float,
        default=12.0,
        help="the control core plans afresh when its plan is this old, and on every change: a deviation, "
        "a car behind its plan, an event (default %(default)s; live: 0.5, about 9x slower; "
        "bench simulate compares them)",
    )
    s.add_argument(
        "--tick-minutes",
        type=float,
        default=30.0,
        help="how often each household's control loop refreshes (default %(default)s; live: 5); it also "
        "wakes when a car comes or goes, an event's notice arrives, a part-step heat-pump run ends and "
        "its plan's half-hour turns",
    )
    s.add_argument("--csv", type=Path, help="write one row per household here")
    s.add_argument("--events-csv", type=Path, help="write one row per household, variant and event here")
    s.add_argument("--html", type=Path, help="write a self-contained HTML report here")
    s.add_argument("--processes", type=int, default=2, help="worker processes (default %(default)s)")


def scenario_from(args: argparse.Namespace) -> Scenario:
    """ValueError with the reason for any option the scenario cannot use."""
    method, params = parse_baseline(args.baseline)
    base = Variant(
        name=args.baseline,
        baseline=method,
        baseline_params=params,
        curve=args.curve,
        availability_gbp_per_mw_h=args.availability,
    )
    variants = parse_compare(args.compare, base) if args.compare else (base,)
    try:
        first_day = date.fromisoformat(args.start_date)
        start = time.fromisoformat(args.event_start)
    except ValueError as err:
        raise ValueError(f"bad date or time: {err}") from None
    policy = EventPolicy(
        start=start,
        minutes=args.event_minutes,
        reduction_kw=args.reduction_kw,
        notice_h=args.notice_h,
        price_gbp_per_mwh=args.price,
        weekdays_only=not args.every_day,
    )
    return Scenario(
        households=args.households,
        days=args.days,
        seed=args.seed,
        mix=parse_mix(args.mix),
        first_day=first_day,
        observe_days=args.observe_days,
        policy=policy,
        variants=tuple(variants),
        gaming_kw=args.gaming_kw,
        gaming_h=args.gaming_h,
        journey_scale=args.journey,
        replan_h=args.replan_hours,
        tick_s=args.tick_minutes * 60,
    )


def progress_line(stream: TextIO) -> Progress:
    """A progress line rewritten in place on a terminal; in a log or pipe, one line per tenth done."""
    tty = stream.isatty()
    shown = [-1]  # the last tenth written when not on a terminal

    def show(done: int, total: int, elapsed_s: float) -> None:
        tenth = done * 10 // max(total, 1)
        if not tty and tenth == shown[0]:
            return
        shown[0] = tenth
        left = f"~{elapsed_s / done * (total - done):.0f} s left" if done else "starting"
        line = f"simulated {done}/{total} households, {elapsed_s:.0f} s, {left}"
        if tty:
            line = f"\r{line} " + ("\n" if done == total else "")
        else:
            line += "\n"
        stream.write(line)
        stream.flush()

    return show


def write_outputs(result: ScenarioResult, args: argparse.Namespace) -> None:
    from homeflex.scenarios.html import html_report
    from homeflex.scenarios.report import csv_text, events_csv_text

    if args.csv:
        args.csv.write_text(csv_text(result), encoding="utf-8")
    if args.events_csv:
        args.events_csv.write_text(events_csv_text(result), encoding="utf-8")
    if args.html:
        args.html.write_text(html_report(result), encoding="utf-8")


def simulate(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from homeflex.scenarios.compare import comparison_text
    from homeflex.scenarios.gaming import gaming_text
    from homeflex.scenarios.report import terminal_report
    from homeflex.scenarios.runner import run_scenario

    out, err = out or sys.stdout, err or sys.stderr
    try:
        scenario = scenario_from(args)
    except ValueError as error:
        print(f"homeflex simulate: {error}", file=err)
        return 2
    show = progress_line(err)
    result = run_scenario(scenario, processes=args.processes, progress=show)
    if not result.complete:
        err.write("\ninterrupted: reporting the households finished so far\n")
    print(terminal_report(result), file=out)
    if len(scenario.variants) >= 2:
        print("\n" + comparison_text(result), file=out)
    if scenario.gaming_kw > 0:
        print("\n" + gaming_text(result), file=out)
    write_outputs(result, args)
    return 0 if result.complete else 130
