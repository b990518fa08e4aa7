"""Shelly RPC latency: a command through homeflex's Shelly driver to the plug's reply, beside a raw MQTT
request -> response on the same broker in the same run.

N households, each with a simulated Shelly Plus Plug S (homeflex.sim.protocols.shelly: one MQTT
connection each, answering Switch.Set on ``<src>/rpc`` and notifying the change 0.2 s later) and an
agent's session with the plug's driver (homeflex.drivers.shelly). In each round every driver sends its
plug a command at the same instant (an OFF with ``toggle_after``, then back ON, alternately), timed
from that instant to the driver's return with the reply; then as many raw requests through N plain
aiomqtt pairs (bench/mqtt_reference.py), timed the same way. The goal: driver p99 < 2x raw p99.

    python -m bench shelly_latency [--plugs 100] [--rounds 20] [--mqtt-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bench import mqtt_reference as ref
from bench.control_latency import broker
from bench.report import Conditions, Row, append_section, conditions, factor, markdown_table, ms, table
from bench.stats import Summary, ratio, summarise
from homeflex.core.clock import ScaledClock, perf_seconds
from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DeviceLink
from homeflex.drivers.shelly import ShellyAddress, ShellyPlug
from homeflex.mqtt import MqttSession
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.smart_plug import SmartPlug
from homeflex.sim.physics.weather import LondonWeather
from homeflex.sim.protocols.shelly import ShellyPlugSim

START = datetime(2025, 1, 14, 18, 30, tzinfo=LONDON)
SETTLE_S = 0.5  # between bursts: the plugs' change notifications (0.2 s after a reply) drain
CONNECT_TIMEOUT_S = 120.0
ROUND_TIMEOUT_S = 30.0
TTL = timedelta(minutes=15)


@dataclass(frozen=True, kw_only=True)
class Options:
    plugs: int = 100
    rounds: int = 20
    mqtt_url: str | None = None
    results: Path | None = None

    def check(self) -> None:
        if not 1 <= self.plugs <= 2000 or not 1 <= self.rounds <= 1000:
            raise ValueError("plugs must be 1..2000 and rounds 1..1000")

    def budget_s(self) -> float:
        return 2 * CONNECT_TIMEOUT_S + self.rounds * 2 * (ROUND_TIMEOUT_S + SETTLE_S)


@dataclass(kw_only=True)
class Run:
    plugs: int
    driver_s: list[float] = field(default_factory=list)
    raw_s: list[float] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)


@asynccontextmanager
async def plugs_and_drivers(n: int, url: str) -> AsyncIterator[tuple[ScaledClock, list[ShellyPlug]]]:
    """N households, each with one simulated plug, and one agent session and driver per plug."""
    clock = ScaledClock(START, 1.0)
    households = [
        SimHousehold(
            f"benchhh{i:04d}",
            base_load=BaseLoad(seed=i),
            weather=LondonWeather(seed=1),
            devices={"plug": SmartPlug(seed=i)},
        )
        for i in range(n)
    ]
    for household in households:
        household.advance_to(clock.now())
    async with AsyncExitStack() as stack:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            prefixes = [f"shellyplusplugs-bench{i:04d}" for i in range(n)]
            sims = [
                ShellyPlugSim(h, "plug", clock, url, {"topic_prefix": p})
                for h, p in zip(households, prefixes, strict=True)
            ]
            await asyncio.gather(*(stack.enter_async_context(s) for s in sims))
            sessions = [MqttSession(url, f"bench-agent-{i:04d}") for i in range(n)]
            drivers = [
                ShellyPlug(
                    DeviceLink(
                        household_id=h.id,
                        device_id="plug",
                        kind=DeviceKind.SMART_PLUG,
                        max_power_w=1500,
                        clock=clock,
                        mqtt=s,
                    ),
                    ShellyAddress(topic_prefix=p),
                )
                for h, p, s in zip(households, prefixes, sessions, strict=True)
            ]  # subscribed before connecting, as a household agent's drivers are
            await asyncio.gather(*(stack.enter_async_context(s) for s in sessions))
            await asyncio.gather(*(d.start() for d in drivers))
        yield clock, drivers


async def driver_burst(
    clock: ScaledClock, drivers: Sequence[ShellyPlug], on: bool
) -> tuple[list[float], list[int]]:
    settings = {"on": None if on else False}
    expires = None if on else clock.now() + TTL

    async def one(driver: ShellyPlug, since: float) -> tuple[float, int]:
        attempts = await driver.send(settings, expires)
        return perf_seconds() - since, attempts

    start = perf_seconds()
    async with asyncio.timeout(ROUND_TIMEOUT_S):
        results = await asyncio.gather(*(one(d, start) for d in drivers))
    return [s for s, _ in results], [a for _, a in results]


async def measure(options: Options, url: str) -> Run:
    run = Run(plugs=options.plugs)
    async with (
        plugs_and_drivers(options.plugs, url) as (clock, drivers),
        ref.echo_pairs(url, options.plugs, "shellyref") as pairs,
    ):
        await driver_burst(clock, drivers, on=True)  # warm-up, untimed
        await ref.burst(pairs, len(pairs))
        for index in range(options.rounds):
            await asyncio.sleep(SETTLE_S)
            seconds, attempts = await driver_burst(clock, drivers, on=index % 2 == 1)
            run.driver_s += seconds
            run.attempts += attempts
            await asyncio.sleep(SETTLE_S)
            async with asyncio.timeout(ROUND_TIMEOUT_S):
                run.raw_s += await ref.burst(pairs, len(pairs))
            driver, raw = summarise(seconds), summarise(run.raw_s[-len(pairs) :])
            print(
                f"round {index}: driver p50/p99 {ms(driver.p50_s)}/{ms(driver.p99_s)} ms, "
                f"raw {ms(raw.p50_s)}/{ms(raw.p99_s)} ms",
                file=sys.stderr,
                flush=True,
            )
    return run


def rows(run: Run) -> list[Row]:
    return [
        Row(
            label=f"Shelly driver: Switch.Set -> reply ({run.plugs} plugs at once)",
            summary=summarise(run.driver_s),
        ),
        Row(label=f"raw req->resp, burst ({run.plugs} pairs)", summary=summarise(run.raw_s)),
    ]


def verdict(driver: Summary, raw: Summary) -> str:
    p50, p99 = ratio(driver.p50_s, raw.p50_s), ratio(driver.p99_s, raw.p99_s)
    met = "MET" if p99 < 2 else "MISSED"
    return f"driver / raw  p50 {factor(p50)}  p99 {factor(p99)}; goal p99 < 2x: {met}"


def details(run: Run, options: Options) -> list[str]:
    retried = sum(a > 1 for a in run.attempts)
    return [
        f"{options.rounds} rounds of {run.plugs} commands (OFF with toggle_after 900 s, then ON, "
        f"alternately), {SETTLE_S:g} s apart; each round timed from one instant; commands retried {retried}",
        "one MQTT connection per simulated plug and per household agent; the raw pairs are plain aiomqtt "
        "clients (requester, responder), the same hop count",
    ]


def markdown(run: Run, options: Options, cond: Conditions) -> str:
    r = rows(run)
    command = f"python -m bench shelly_latency --plugs {options.plugs} --rounds {options.rounds}"
    if options.mqtt_url:
        command += f" --mqtt-url {options.mqtt_url}"
    return "\n".join(
        [
            f"## {cond.date} — shelly_latency, {run.plugs} plugs",
            "",
            f"`{command}`",
            "",
            *(f"- {line}" for line in (*cond.lines(), *details(run, options))),
            "",
            markdown_table(r),
            "",
            f"- {verdict(r[0].summary, r[1].summary)}",
        ]
    )


async def main(options: Options) -> int:
    options.check()
    async with asyncio.timeout(options.budget_s()), broker(options.mqtt_url) as url:
        run = await measure(options, url)
        cond = conditions(options.mqtt_url, url)
    r = rows(run)
    print(
        "\n".join(
            [*cond.lines(), *details(run, options), "", table(r), "", verdict(r[0].summary, r[1].summary)]
        )
    )
    if options.results is not None:
        append_section(options.results, markdown(run, options, cond))
        print(f"\nappended to {options.results}")
    return 0


def cli(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench shelly_latency", description=__doc__)
    parser.add_argument("--plugs", type=int, default=100, help="simulated Shelly plugs (default 100)")
    parser.add_argument("--rounds", type=int, default=20, help="bursts of commands (default 20)")
    parser.add_argument("--mqtt-url", default=None, help="this broker (default: a private mosquitto)")
    parser.add_argument("--no-results", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args(argv)
    results = None if args.no_results else Path(__file__).with_name("RESULTS.md")
    options = Options(plugs=args.plugs, rounds=args.rounds, mqtt_url=args.mqtt_url, results=results)
    return asyncio.run(main(options))
