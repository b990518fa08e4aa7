"""Control latency: from a flex event becoming active to each device's acknowledgement.

N simulated households (HouseholdSimulator, one MQTT connection per device and meter) and one
HouseholdController per household run in this one process on one broker. Every household gets the same
event at the same instant (the realistic worst case), with a reduction large enough that the planner
commands every curtailable device. Beside it, in the same run and through the same broker, the raw
MQTT request -> response floor: sequential round trips, and a burst of as many concurrent round trips as
the event had commands (the like-for-like reference).

    python -m bench control_latency [--households 100] [--events 5] [--mqtt-url URL]
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from bench import mqtt_reference as ref
from bench.population import bench_population
from bench.report import Conditions, Row, append_section, conditions, factor, markdown_table, ms, table
from bench.stats import Summary, ratio, summarise
from homeflex.control.loop import CommandOutcome, ControlSettings, HouseholdController
from homeflex.core.clock import Clock, ScaledClock, sleep_until
from homeflex.core.domain import FlexEvent, HouseholdSpec
from homeflex.core.timeutil import LONDON
from homeflex.mqtt.broker import find_mosquitto, mosquitto
from homeflex.sim.devices import run_population
from homeflex.sim.population import SimHouseholdConfig

START = datetime(2025, 1, 14, 18, 30, tzinfo=LONDON)  # a winter Tuesday evening: EVs plugged, heat pumps on
REDUCTION_W = 50_000.0  # more than any household has: the planner commands every curtailable device
LEAD_S = 2.0  # an event is scheduled at least this long before it starts
TICK_S = 10.0  # the simulators' physics and meter cadence (HouseholdSimulator defaults)
QUIET_OFFSET_S = 5.0  # events start midway between ticks: the simulators all tick together
SETTINGS = ControlSettings(recovery_stagger_s=1.0)
SETTLE_S = 0.3  # after the restores, before the burst: let the devices' state publishes drain
CONNECT_TIMEOUT_S = 120.0
STATES_TIMEOUT_S = 60.0
PHASE_SLACK_S = 30.0
POLL_S = 0.05


@dataclass(frozen=True, kw_only=True)
class Options:
    households: int = 100
    events: int = 5
    mqtt_url: str | None = None
    duration_s: float = 20.0
    sequential: int = 500
    seed: int = 1
    results: Path | None = None

    def check(self) -> None:
        min_duration = SETTINGS.ack_timeout_s * SETTINGS.ack_attempts + 1
        if self.households < 1 or self.events < 1 or self.sequential < 1:
            raise ValueError("households, events and sequential must be at least 1")
        if not min_duration <= self.duration_s <= 600:
            raise ValueError(f"duration must be {min_duration:g}-600 s: curtails must end before restores")

    def budget_s(self) -> float:
        """A bound on the whole run."""
        per_event = self.duration_s + SETTINGS.recovery_stagger_s + TICK_S + 2 * PHASE_SLACK_S
        return 2 * CONNECT_TIMEOUT_S + STATES_TIMEOUT_S + PHASE_SLACK_S + self.events * per_event


@dataclass(frozen=True, kw_only=True)
class Record:
    household_id: str
    outcome: CommandOutcome


class OutcomeLog:
    """Every controller's CommandOutcome, tagged with its household."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def attach(self, controller: HouseholdController) -> None:
        controller.on_outcome = partial(self._add, controller.household.id)

    def _add(self, household_id: str, outcome: CommandOutcome) -> None:
        self.records.append(Record(household_id=household_id, outcome=outcome))

    def select(self, event_id: str, phase: str) -> list[Record]:
        return [r for r in self.records if r.outcome.event_id == event_id and r.outcome.phase == phase]


@dataclass(frozen=True, kw_only=True)
class EventResult:
    index: int
    curtail: list[Record]
    restore: list[Record]
    idle_households: list[str]  # households that sent no command in this event
    burst_s: list[float]

    @property
    def failed(self) -> int:
        return sum(not r.outcome.ok for r in (*self.curtail, *self.restore))

    @property
    def retried(self) -> int:
        return sum(r.outcome.attempts > 1 for r in (*self.curtail, *self.restore))


@dataclass(kw_only=True)
class Run:
    households: int
    devices: int
    topped_up: list[str]
    pairs: int
    sequential_s: list[float] = field(default_factory=list)
    events: list[EventResult] = field(default_factory=list)

    def control(self, phase: str) -> list[float]:
        records = [r for e in self.events for r in (e.curtail if phase == "curtail" else e.restore)]
        return [r.outcome.latency_s for r in records if r.outcome.ok]

    def burst(self) -> list[float]:
        return [s for e in self.events for s in e.burst_s]

    @property
    def failed(self) -> int:
        return sum(e.failed for e in self.events)


# --- the population and its controllers ---------------------------------------------------------------


@asynccontextmanager
async def run_controllers(
    specs: Sequence[HouseholdSpec], clock: Clock, url: str, log: OutcomeLog
) -> AsyncIterator[list[HouseholdController]]:
    """One connected HouseholdController per household, entered concurrently, closed on exit."""
    controllers = [HouseholdController(s, clock, url, SETTINGS, seed=i) for i, s in enumerate(specs)]
    for controller in controllers:
        log.attach(controller)
    async with AsyncExitStack() as stack:
        results = await asyncio.gather(
            *(stack.enter_async_context(c) for c in controllers), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        yield controllers


def has_states(controller: HouseholdController) -> bool:
    return {d.id for d in controller.household.devices} <= controller.states.keys()


async def poll(done: Callable[[], bool], timeout_s: float) -> None:
    """Until `done()`, checking every POLL_S; bounded in count and in time (TimeoutError)."""
    async with asyncio.timeout(timeout_s):
        for _ in range(math.ceil(timeout_s / POLL_S) + 1):
            if done():
                return
            await asyncio.sleep(POLL_S)
    raise TimeoutError


@dataclass(frozen=True, kw_only=True)
class Rig:
    """Everything connected for a run: households, their controllers and the reference clients."""

    clock: Clock
    ticks_from: datetime  # HouseholdSimulator's loops tick on a grid from their start, i.e. from here
    controllers: list[HouseholdController]
    log: OutcomeLog
    sequential_pair: ref.EchoPair
    burst_pairs: list[ref.EchoPair]


@asynccontextmanager
async def rig(configs: Sequence[SimHouseholdConfig], url: str) -> AsyncIterator[Rig]:
    clock = ScaledClock(START, speed=1.0)
    log = OutcomeLog()
    ticks_from = clock.now()
    async with AsyncExitStack() as stack:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await stack.enter_async_context(run_population(configs, clock, url))
            controllers = await stack.enter_async_context(
                run_controllers([c.spec for c in configs], clock, url, log)
            )
            (sequential_pair,) = await stack.enter_async_context(ref.echo_pairs(url, 1, "seq"))
            burst_pairs = await stack.enter_async_context(ref.echo_pairs(url, len(configs), "burst"))
        await poll(lambda: all(has_states(c) for c in controllers), STATES_TIMEOUT_S)
        yield Rig(
            clock=clock,
            ticks_from=ticks_from,
            controllers=controllers,
            log=log,
            sequential_pair=sequential_pair,
            burst_pairs=burst_pairs,
        )


# --- events --------------------------------------------------------------------------------------------


def next_quiet(clock: Clock, ticks_from: datetime) -> datetime:
    """The first instant midway between two simulator ticks that is at least LEAD_S from now."""
    earliest = clock.now() + timedelta(seconds=LEAD_S)
    ticks = (earliest - ticks_from).total_seconds() // TICK_S
    candidate = ticks_from + timedelta(seconds=ticks * TICK_S + QUIET_OFFSET_S)
    return candidate if candidate >= earliest else candidate + timedelta(seconds=TICK_S)


def flex_event(index: int, start: datetime, duration_s: float) -> FlexEvent:
    return FlexEvent(
        event_id=f"bench-{index}",
        modification_number=0,
        start=start,
        duration=timedelta(seconds=duration_s),
        reduction_w=REDUCTION_W,
        price_gbp_per_mwh=100.0,
    )


async def run_event(r: Rig, event: FlexEvent) -> tuple[list[Record], list[Record]]:
    """Schedule `event` everywhere at once; its curtail and restore outcomes once every restore is acked."""
    for controller in r.controllers:
        controller.schedule_event(event)
    restored_by = event.end + timedelta(seconds=SETTINGS.recovery_stagger_s)
    async with asyncio.timeout(
        r.clock.wall_seconds((restored_by - r.clock.now()).total_seconds()) + PHASE_SLACK_S
    ):
        await sleep_until(r.clock, restored_by)
    curtail = r.log.select(event.event_id, "curtail")  # final: every curtail ended before its restore
    await poll(lambda: len(r.log.select(event.event_id, "restore")) >= len(curtail), PHASE_SLACK_S)
    return curtail, r.log.select(event.event_id, "restore")


async def timed_burst(pairs: Sequence[ref.EchoPair], count: int) -> list[float]:
    await asyncio.sleep(SETTLE_S)
    async with asyncio.timeout(PHASE_SLACK_S):
        return await ref.burst(pairs, count)


async def run_events(options: Options, run: Run, r: Rig) -> None:
    everyone = [c.household.id for c in r.controllers]
    for index in range(options.events):
        event = flex_event(index, next_quiet(r.clock, r.ticks_from), options.duration_s)
        curtail, restore = await run_event(r, event)
        commanded = {rec.household_id for rec in curtail}
        burst_s = await timed_burst(r.burst_pairs, len(curtail))
        run.events.append(
            EventResult(
                index=index,
                curtail=curtail,
                restore=restore,
                burst_s=burst_s,
                idle_households=[h for h in everyone if h not in commanded],
            )
        )
        p50 = summarise([rec.outcome.latency_s for rec in curtail]).p50_s
        print(
            f"event {index}: {len(curtail)} commands, control p50 {ms(p50)} ms, "
            f"burst p50 {ms(summarise(burst_s).p50_s)} ms",
            file=sys.stderr,
            flush=True,
        )


async def measure(
    options: Options, configs: Sequence[SimHouseholdConfig], topped_up: list[str], url: str
) -> Run:
    run = Run(
        households=len(configs),
        devices=sum(len(c.spec.devices) for c in configs),
        topped_up=topped_up,
        pairs=len(configs),
    )
    async with rig(configs, url) as r:
        await sleep_until(r.clock, next_quiet(r.clock, r.ticks_from))
        async with asyncio.timeout(PHASE_SLACK_S):
            run.sequential_s = await ref.sequential(r.sequential_pair, options.sequential)
        await run_events(options, run, r)
    return run


# --- report --------------------------------------------------------------------------------------------


def rows(run: Run) -> list[Row]:
    return [
        Row(label="control: event start -> device ack", summary=summarise(run.control("curtail"))),
        Row(label="control: restore start -> device ack", summary=summarise(run.control("restore"))),
        Row(label="raw req->resp, sequential (1 pair)", summary=summarise(run.sequential_s)),
        Row(label=f"raw req->resp, burst ({run.pairs} pairs)", summary=summarise(run.burst())),
    ]


def event_rows(run: Run) -> list[Row]:
    out = []
    for e in run.events:
        control = summarise([r.outcome.latency_s for r in e.curtail if r.outcome.ok])
        out.append(Row(label=f"event {e.index}: control", summary=control))
        out.append(Row(label=f"event {e.index}: burst", summary=summarise(e.burst_s)))
    return out


NAGLE_SUSPECT_S = 0.02  # a QoS 1 round trip this slow on loopback means a delayed ACK (mqtt.md §3)


def ratios(control: Summary, sequential: Summary, burst: Summary) -> list[str]:
    like = (ratio(control.p50_s, burst.p50_s), ratio(control.p99_s, burst.p99_s))
    floor = (ratio(control.p50_s, sequential.p50_s), ratio(control.p99_s, sequential.p99_s))
    verdict = "MET" if max(like) < 2 else "MISSED"
    lines = [
        f"control / burst      p50 {factor(like[0])}  p99 {factor(like[1])}  <- like-for-like (as many "
        f"concurrent requests, fired together, timed from one instant); goal < 2x: {verdict}",
        f"control / sequential p50 {factor(floor[0])}  p99 {factor(floor[1])}  "
        "<- against one unloaded round trip",
    ]
    if sequential.p50_s > NAGLE_SUSPECT_S:
        lines.append(
            "WARNING: a sequential round trip over 20 ms on loopback: the broker or a client runs "
            "without TCP_NODELAY (mosquitto: set_tcp_nodelay true)"
        )
    return lines


def conditions_line() -> str:
    return (
        f"simulated start {START:%A %Y-%m-%d %H:%M} Europe/London (ScaledClock speed 1.0); reduction "
        f"{REDUCTION_W:g} W per household; events start together, midway between the simulators' "
        f"{TICK_S:g} s ticks; recovery stagger {SETTINGS.recovery_stagger_s:g} s"
    )


def command_line(options: Options) -> str:
    defaults = Options()
    args = [f"--households {options.households}", f"--events {options.events}"]
    if options.duration_s != defaults.duration_s:
        args.append(f"--duration-s {options.duration_s:g}")
    if options.sequential != defaults.sequential:
        args.append(f"--sequential {options.sequential}")
    if options.seed != defaults.seed:
        args.append(f"--seed {options.seed}")
    if options.mqtt_url:
        args.append(f"--mqtt-url {options.mqtt_url}")
    return "python -m bench control_latency " + " ".join(args)


def counts(run: Run) -> list[str]:
    commands = [len(e.curtail) for e in run.events]
    idle = sorted({h for e in run.events for h in e.idle_households})
    return [
        f"households {run.households}, devices {run.devices} "
        f"({len(run.topped_up)} households given a running smart plug so that each has something to curtail)",
        f"events {len(run.events)}, curtail commands per event {commands}, total {sum(commands)}",
        f"failed commands {run.failed}, retried {sum(e.retried for e in run.events)}, "
        f"households without a command in some event {len(idle)}{': ' + ', '.join(idle) if idle else ''}",
    ]


def summary_text(run: Run, options: Options, cond: Conditions) -> str:
    main_rows = rows(run)
    lines = [
        f"control_latency: {run.households} households, {options.events} events of {options.duration_s:g} s",
        *cond.lines(),
        *counts(run),
        conditions_line(),
        "",
        table(main_rows),
        "",
        *ratios(*(r.summary for r in (main_rows[0], main_rows[2], main_rows[3]))),
        "",
        table(event_rows(run)),
    ]
    return "\n".join(lines)


def markdown(run: Run, options: Options, cond: Conditions) -> str:
    main_rows = rows(run)
    return "\n".join(
        [
            f"## {cond.date} — control_latency, {run.households} households",
            "",
            f"`{command_line(options)}`",
            "",
            *(f"- {line}" for line in (*cond.lines(), *counts(run), conditions_line())),
            "",
            markdown_table(main_rows),
            "",
            *(
                f"- {line}"
                for line in ratios(*(r.summary for r in (main_rows[0], main_rows[2], main_rows[3])))
            ),
            "",
            "<details><summary>per event</summary>",
            "",
            markdown_table(event_rows(run)),
            "",
            "</details>",
        ]
    )


# --- entry point -----------------------------------------------------------------------------------------


@asynccontextmanager
async def broker(mqtt_url: str | None) -> AsyncIterator[str]:
    if mqtt_url:
        yield mqtt_url
        return
    binary = find_mosquitto()
    if binary is None:
        raise RuntimeError("mosquitto is not installed (apt-get install mosquitto); or pass --mqtt-url")
    async with mosquitto(binary) as url:
        yield url


async def main(options: Options) -> int:
    options.check()
    configs, topped_up = bench_population(
        options.households, options.seed, START + timedelta(minutes=1), REDUCTION_W
    )
    async with asyncio.timeout(options.budget_s()), broker(options.mqtt_url) as url:
        run = await measure(options, configs, topped_up, url)
        cond = conditions(options.mqtt_url, url)
    print(summary_text(run, options, cond))
    if options.results is not None:
        append_section(options.results, markdown(run, options, cond))
        print(f"\nappended to {options.results}")
    return 1 if run.failed else 0
