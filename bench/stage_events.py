"""Stage 3: energy delivered in a DSO event against what was requested, and the community's peak after
the event with and without the rebound protection, each beside its reference in the same run.

Every household learns its profile (14 days unmanaged), then copies of it run the event day: unmanaged,
managed without the event (the reference a reduction is measured against), and managed with the event
(notice 2 h ahead, the VEN's rule decides opt-in), also with the post-event ramp and the recovery stagger
taken away one at a time and together (the ablation).

`python -m bench stage3 [--households 40] [--seed 1]`
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from unittest import mock

import numpy as np

from bench.stage_control import (
    bounded_map,
    household_type,
    machine_lines,
    observed,
    write,
)
from homeflex.control import flexplan
from homeflex.control.core import ControlCore, Decision
from homeflex.control.devices import Settings, States
from homeflex.core.clock import WallClock, perf_seconds
from homeflex.core.domain import FlexEvent, Stage
from homeflex.core.timeutil import LONDON
from homeflex.scenarios.closedloop import PHYSICS_S, Trace, run
from homeflex.scenarios.setup import forecast_for, setup_for
from homeflex.sim.population import SimHouseholdConfig, make_population

POST_H = 2.0
RISE_MIN = 5
DEFAULT_STAGGER_S = 300.0
# name: (managed, with the event, ramp steps, recovery stagger s)
VARIANTS = {
    "unmanaged": (False, False, flexplan.RAMP_STEPS, DEFAULT_STAGGER_S),
    "managed, no event (reference)": (True, False, flexplan.RAMP_STEPS, DEFAULT_STAGGER_S),
    "event: ramp + stagger": (True, True, flexplan.RAMP_STEPS, DEFAULT_STAGGER_S),
    "event: no ramp": (True, True, 0, DEFAULT_STAGGER_S),
    "event: no stagger": (True, True, flexplan.RAMP_STEPS, 0.0),
    "event: neither": (True, True, 0, 0.0),
}
REFERENCE, EVENT = "managed, no event (reference)", "event: ramp + stagger"


@dataclass(frozen=True, kw_only=True)
class Options:
    households: int = 40
    seed: int = 1
    day: date = date(2026, 1, 7)  # a Wednesday
    start: time = time(17, 30)  # local
    minutes: int = 60
    reduction_w: float = 1500.0
    notice_h: float = 2.0
    processes: int = 2
    time_limit_s: float = 1800.0
    results: Path | None = None

    def event(self) -> FlexEvent:
        return FlexEvent(
            event_id="bench-e1",
            modification_number=0,
            start=datetime.combine(self.day, self.start, LONDON),
            duration=timedelta(minutes=self.minutes),
            reduction_w=self.reduction_w,
            price_gbp_per_mwh=1812.0,
        )


@dataclass
class WindowNotes(ControlCore):
    """A ControlCore that keeps the notes of the plans it runs in a window (why events were dropped)."""

    window: tuple[datetime, datetime] | None = None
    notes_seen: set[str] = field(default_factory=set)

    def decide(self, now: datetime, states: States, held: Mapping[str, Settings]) -> Decision:
        decision = super().decide(now, states, held)
        if self.window and self.window[0] <= now < self.window[1] and self.schedule is not None:
            self.notes_seen.update(self.schedule.notes)
        return decision


@dataclass(frozen=True, kw_only=True)
class HouseholdRuns:
    household_id: str
    kind: str
    devices: str
    vulnerable: bool
    opt_in: bool
    reason: str
    share: float  # of the request the accepted plan delivers (0 when out)
    dropped: bool  # a plan run during the event could not meet it and ran the reference instead
    event_kwh: dict[str, float]  # energy imported in the event window, per variant
    minutes_kw: dict[str, np.ndarray]  # mean net kW per minute from the event start to POST_H after its end


def minute_means(trace: Trace, start: datetime, end: datetime) -> np.ndarray:
    """Mean net kW per minute over [start, end): exact for power held over each physics step, also when
    steps are shorter than a minute (after a staggered wake)."""
    seconds = np.array([(t - start).total_seconds() for t in trace.times])
    kw = np.asarray(trace.net_kw)
    step = np.diff(seconds, prepend=seconds[0] - PHYSICS_S)
    energy = np.concatenate(([0.0], np.cumsum(kw * step)))  # kW s at the end of each step
    edges = np.arange(0.0, (end - start).total_seconds() + 1, 60.0)
    at_edges = np.interp(edges, np.concatenate(([seconds[0] - step[0]], seconds)), energy)
    return np.diff(at_edges) / 60.0


@contextmanager
def ramp(steps: int) -> Iterator[None]:
    """Plans made inside use ``steps`` post-event ramp steps. (Setting flexplan.RAMP_STEPS does nothing:
    event_caps binds it as a default argument when the module is imported.)"""
    with mock.patch.object(flexplan, "event_caps", functools.partial(flexplan.event_caps, ramp_steps=steps)):
        yield


def household_runs(job: tuple[SimHouseholdConfig, int, Options]) -> HouseholdRuns:
    config, index, options = job
    event = options.event()
    household, profile = observed(config, options.day)
    setup = setup_for(config, household)
    window_end = event.end + timedelta(hours=POST_H)
    kwh: dict[str, float] = {}
    minutes: dict[str, np.ndarray] = {}
    decision, dropped = None, False
    for name, (managed, with_event, steps, stagger_s) in VARIANTS.items():
        twin = copy.deepcopy(household)
        core = WindowNotes(
            window=(event.start, event.end),
            household=config.spec,
            setup=setup,
            forecast=forecast_for(twin, profile),
            recovery_stagger_s=stagger_s,
            seed=f"{options.seed}:{index}",  # each household its own stagger
        )
        events = [(event.start - timedelta(hours=options.notice_h), event)] if with_event else []
        with ramp(steps):
            trace = run(
                config.spec,
                twin,
                setup,
                window_end,
                profile=profile,
                managed=managed,
                events=events,
                core=core,
            )
        kwh[name] = float(np.sum(minute_means(trace, event.start, event.end))) / 60
        minutes[name] = minute_means(trace, event.start, window_end)
        if name == EVENT:
            decision = trace.decisions.get(event.event_id)
            dropped = any("events not planned" in note for note in core.notes_seen)
    assert decision is not None
    opted = decision.opt_in
    return HouseholdRuns(
        household_id=config.spec.id,
        kind=household_type(config),
        devices="+".join(d.id for d in config.spec.devices) or "none",
        vulnerable=config.spec.vulnerable,
        opt_in=opted,
        reason=decision.reason,
        share=decision.assessment.share if opted and decision.assessment else 0.0,
        dropped=dropped,
        event_kwh=kwh,
        minutes_kw=minutes,
    )


def pick(options: Options) -> list[SimHouseholdConfig]:
    """The first ``households`` enrolled for flex (stage 3) from a population drawn large enough."""
    population = make_population(2 * options.households + 10, options.seed, realistic=True)
    return [c for c in population if c.spec.stage >= Stage.FLEX][: options.households]


def delivery_lines(results: Sequence[HouseholdRuns], options: Options) -> list[str]:
    hours = options.minutes / 60
    ins = [r for r in results if r.opt_in]
    delivered = [r.event_kwh[REFERENCE] - r.event_kwh[EVENT] for r in ins]
    requested = len(ins) * options.reduction_w / 1000 * hours
    planned = sum(r.share for r in ins) * options.reduction_w / 1000 * hours
    outs = [r.event_kwh[REFERENCE] - r.event_kwh[EVENT] for r in results if not r.opt_in]
    ratios = sorted(d / (options.reduction_w / 1000 * hours) for d in delivered)
    spread = f"{ratios[0]:.2f} / {ratios[len(ratios) // 2]:.2f} / {ratios[-1]:.2f}" if ratios else "n/a"
    return [
        "| measure | value |",
        "|---|---:|",
        f"| households (stage 3) | {len(results)} |",
        f"| opted in | {len(ins)} |",
        f"| requested by opted-in households ({options.reduction_w / 1000:.1f} kW x {hours:.1f} h) "
        f"| {requested:.2f} kWh |",
        f"| planned at opt-in (share x request) | {planned:.2f} kWh |",
        "| delivered: reference - event, energy in the window, opted-in households | "
        f"{sum(delivered):.2f} kWh |",
        f"| **delivered / requested** | **{sum(delivered) / requested:.1%}** |"
        if requested
        else "| delivered / requested | n/a |",
        f"| per opted-in household, delivered / requested: min / median / max | {spread} |",
        f"| opted-out households, reference - event (should be 0) | {sum(outs):.3f} kWh |",
        f"| opted-in households delivering under half their planned share | {_short(ins, options)} |",
        "| opted-in households whose plan during the event could not meet it and ran the reference "
        f"(should be 0: accepted events are planned best effort) | {_ids([r for r in ins if r.dropped])} |",
    ]


def _short(ins: Sequence[HouseholdRuns], options: Options) -> str:
    request = options.reduction_w / 1000 * options.minutes / 60
    short = [
        r.household_id for r in ins if r.event_kwh[REFERENCE] - r.event_kwh[EVENT] < 0.5 * r.share * request
    ]
    return f"{len(short)}" + (f" ({', '.join(short)})" if short else "")


def _ids(results: Sequence[HouseholdRuns]) -> str:
    ids = [r.household_id for r in results]
    return f"{len(ids)}" + (f" ({', '.join(ids)})" if ids else "")


def peak_lines(results: Sequence[HouseholdRuns], options: Options) -> list[str]:
    event = options.event()
    n_event = options.minutes
    lines = [
        f"| run | community mean kW in the event | post-event peak kW ({POST_H:.0f} h, 1-min means) | at | "
        "peak above the reference kW | largest 5-min rise kW (from 5 min before the end) |",
        "|---|---:|---:|---|---:|---:|",
    ]
    reference = np.sum([r.minutes_kw[REFERENCE] for r in results], axis=0)
    for name in VARIANTS:
        community = np.sum([r.minutes_kw[name] for r in results], axis=0)
        post = community[n_event:]
        at = event.end + timedelta(minutes=int(np.argmax(post)))
        above = float(np.max(post - reference[n_event:]))
        tail = community[n_event - RISE_MIN :]
        rise = float(np.max(tail[RISE_MIN:] - tail[:-RISE_MIN]))
        lines.append(
            f"| {name} | {np.mean(community[:n_event]):.1f} | {np.max(post):.1f} | "
            f"{at.astimezone(LONDON):%H:%M} | {above:+.1f} | {rise:+.1f} |"
        )
    return lines


def household_lines(results: Sequence[HouseholdRuns]) -> list[str]:
    lines = [
        "| household | type | devices | opt | reference kWh | event kWh | delivered kWh | reason |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        ref, ev = r.event_kwh[REFERENCE], r.event_kwh[EVENT]
        lines.append(
            f"| {r.household_id}{' (vulnerable)' if r.vulnerable else ''} | {r.kind} | {r.devices} | "
            f"{'in' if r.opt_in else 'out'} | {ref:.2f} | {ev:.2f} | {ref - ev:+.2f} | {r.reason} |"
        )
    return lines


def main(options: Options) -> int:
    configs = pick(options)
    event = options.event()
    started = perf_seconds()
    results, complete = bounded_map(
        household_runs,
        [(c, i, options) for i, c in enumerate(configs)],
        processes=options.processes,
        time_limit_s=options.time_limit_s,
    )
    took = perf_seconds() - started
    local = event.start.astimezone(LONDON)
    lines = [
        f"### stage3 — {WallClock().now():%Y-%m-%d %H:%M} UTC",
        "",
        f"`python -m bench stage3 --households {options.households} --seed {options.seed} "
        f"--start {options.start:%H:%M}`",
        "",
        *machine_lines(options.seed),
        f"- households: the first {options.households} in stage 3 (categories A-C) of the population; "
        f"{len(results)} of {len(configs)} ran{'' if complete else ' (STOPPED at the time limit)'} in "
        f"{took:.0f} s on {options.processes} processes",
        f"- event: {local:%A %Y-%m-%d %H:%M}-{event.end.astimezone(LONDON):%H:%M} local, "
        f"{options.reduction_w:.0f} W per household, notice {options.notice_h:g} h before; profile learned "
        f"over the 14 days before; every run starts at local midnight, 1-min physics, 5-min ticks",
        f"- delivered: energy imported in the window by the same household managed without the event minus "
        f"with it; post-event peak: the sum over households of 1-min mean net kW, {POST_H:g} h after the end",
        f"- protection: the plan's post-event ramp (flexplan.RAMP_STEPS = {flexplan.RAMP_STEPS} half-hours) "
        f"and the recovery stagger (uniform 0-{DEFAULT_STAGGER_S:.0f} s per household); the ablation patches "
        "event_caps(ramp_steps=0) and ControlCore(recovery_stagger_s=0)",
        "",
        *delivery_lines(results, options),
        "",
        *peak_lines(results, options),
        "",
        "<details><summary>per household</summary>",
        "",
        *household_lines(results),
        "",
        "</details>",
    ]
    write(lines, options.results)
    return 0 if complete else 1
