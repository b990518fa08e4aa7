"""OCPP command latency: N simulated chargers (OCPP 1.6J charge points, homeflex.sim.protocols.ocpp) dial
homeflex's central system; at each event start the N drivers send their SetChargingProfile together, and
each command is timed from that one instant to the charger's Accepted (the driver's ``send`` returning).
Reference in the same run, on the same loop and the same N connections: the bare ``ocpp`` package's
CALL -> CALLRESULT with the same payload, fired together from one instant (burst), and one at a time.

    python -m bench ocpp_latency [--chargers 100] [--events 5]

Everything runs in this one process on loopback. The driver reads each charger's composite schedule
back after its ack (GetCompositeSchedule, off the ack's path but on the same loop): its cost is in the
figures, and its own round trip is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from ocpp.v16 import call

from bench.report import Row, append_section, cpu_description, factor, markdown_table, table
from bench.stats import ratio, summarise
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import LONDON, iso
from homeflex.drivers import DeviceLink
from homeflex.drivers.ocpp import OcppAddress, OcppDriver
from homeflex.drivers.ocpp_central import CentralSettings, CentralSystem
from homeflex.drivers.ocpp_messages import charging_profile
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.ev import EvCharger, Session
from homeflex.sim.physics.weather import LondonWeather
from homeflex.sim.protocols.ocpp import OcppCharger

START = datetime(2025, 1, 14, 18, 30, tzinfo=LONDON)
LIMIT_W = 3000.0
EVENT_S = 1800  # the commands' validTo
SETTLE_S = 1.0  # between bursts: let the drivers' read-backs (0.2 s after each ack) drain
SETUP_TIMEOUT_S = 120.0
PHASE_TIMEOUT_S = 60.0
PASSWORD = "bench"


@dataclass(frozen=True, kw_only=True)
class Options:
    chargers: int = 100
    events: int = 5
    sequential: int = 200
    results: Path | None = None

    def check(self) -> None:
        if (
            not 1 <= self.chargers <= 2000
            or not 1 <= self.events <= 100
            or not 1 <= self.sequential <= 10_000
        ):
            raise ValueError("chargers 1-2000, events 1-100, sequential 1-10000")


@dataclass(kw_only=True)
class Samples:
    command: list[float] = field(default_factory=list)
    clear: list[float] = field(default_factory=list)
    burst: list[float] = field(default_factory=list)
    sequential: list[float] = field(default_factory=list)
    composite: list[float] = field(default_factory=list)
    failed: int = 0


def plugged(now: datetime) -> Session:
    return Session(arrival=START - timedelta(hours=1), departure=now + timedelta(days=1), arrival_soc=0.3)


def household(i: int) -> SimHousehold:
    return SimHousehold(
        f"ocpp{i:04d}",
        base_load=BaseLoad(seed=i),
        weather=LondonWeather(seed=i),
        devices={"ev": EvCharger(sessions=plugged)},
    )


@dataclass(frozen=True, kw_only=True)
class Fleet:
    central: CentralSystem
    drivers: list[OcppDriver]
    chargers: list[OcppCharger]
    clock: ScaledClock


@asynccontextmanager
async def fleet(n: int) -> AsyncIterator[Fleet]:
    """N drivers and N simulated chargers, connected and set up after their boot."""
    clock = ScaledClock(START, 1.0)
    async with AsyncExitStack() as stack:
        central = await stack.enter_async_context(CentralSystem(CentralSettings(port=0), clock))
        drivers, chargers = [], []
        for i in range(n):
            cp_id = f"bench-cp{i:04d}"
            link = DeviceLink(
                household_id=f"ocpp{i:04d}",
                device_id="ev",
                kind=DeviceKind.EV_CHARGER,
                max_power_w=7400,
                clock=clock,
                mqtt=None,  # no broker here: the states stay in this process
                services={"ocpp": central},
            )
            driver = OcppDriver(link, OcppAddress(charge_point_id=cp_id, password=PASSWORD))
            await driver.start()
            stack.push_async_callback(driver.stop)
            drivers.append(driver)
            wiring = {"url": central.url, "charge_point_id": cp_id, "password": PASSWORD}
            chargers.append(
                await stack.enter_async_context(OcppCharger(household(i), "ev", clock, "", wiring))
            )
        await set_up(chargers)
        yield Fleet(central=central, drivers=drivers, chargers=chargers, clock=clock)


async def set_up(chargers: Sequence[OcppCharger]) -> None:
    """Until every charger holds its permanent profile (set after its boot): bounded in time and count."""
    async with asyncio.timeout(SETUP_TIMEOUT_S):
        for _ in range(int(SETUP_TIMEOUT_S / 0.05) + 1):
            if all(any(p.stack_level == 0 for p in c.stack.profiles) for c in chargers):
                return
            await asyncio.sleep(0.05)


async def timed_together(actions: Sequence[Callable[[], Awaitable[Any]]]) -> tuple[list[float], int]:
    """Start every action at one instant; each one's seconds from that instant to its end, and failures."""
    t0 = time.perf_counter()

    async def one(action: Callable[[], Awaitable[Any]]) -> float:
        await action()
        return time.perf_counter() - t0

    async with asyncio.timeout(PHASE_TIMEOUT_S):
        results = await asyncio.gather(*(one(a) for a in actions), return_exceptions=True)
    times = [r for r in results if isinstance(r, float)]
    return times, len(results) - len(times)


def bare_call(f: Fleet, cp_id: str, expires: datetime) -> Callable[[], Awaitable[Any]]:
    """The same SetChargingProfile the driver sends, straight through the ocpp package."""
    rate = f.drivers[0].address.rate
    profile = charging_profile(rate, stack_level=1, limit=LIMIT_W, now=f.clock.now(), valid_to=expires)
    session = f.central.sessions[cp_id]
    return lambda: session.call(call.SetChargingProfile(connector_id=1, cs_charging_profiles=profile))


async def driver_commands(
    f: Fleet, settings: dict[str, Any], expires: datetime | None
) -> tuple[list[float], int]:
    return await timed_together([partial(d.send, settings, expires) for d in f.drivers])


async def run_events(options: Options, f: Fleet, out: Samples) -> None:
    """Each event: the drivers' commands and the bare burst, in turn (the order alternates: whichever
    comes first after the clears runs on a busier loop), then the drivers' clears."""
    n = len(f.drivers)
    await driver_commands(f, {"max_power_w": LIMIT_W}, f.clock.now() + timedelta(seconds=EVENT_S))  # warm-up
    await driver_commands(f, {"max_power_w": None}, None)
    await asyncio.sleep(SETTLE_S)
    for index in range(options.events):
        expires = f.clock.now() + timedelta(seconds=EVENT_S)
        for phase in ("driver", "bare") if index % 2 == 0 else ("bare", "driver"):
            if phase == "driver":
                times, failed = await driver_commands(f, {"max_power_w": LIMIT_W}, expires)
                out.command += times
            else:
                times, failed = await timed_together([bare_call(f, d.cp, expires) for d in f.drivers])
                out.burst += times
            out.failed += failed
            await asyncio.sleep(SETTLE_S)
        times, failed = await driver_commands(f, {"max_power_w": None}, None)
        out.clear += times
        out.failed += failed
        await asyncio.sleep(SETTLE_S)
        print(
            f"event {index}: driver p50 {summarise(out.command[-n:]).p50_s * 1000:.2f} ms, "
            f"bare p50 {summarise(out.burst[-n:]).p50_s * 1000:.2f} ms",
            file=sys.stderr,
            flush=True,
        )


async def run_sequential(options: Options, f: Fleet, out: Samples) -> None:
    cp = f.drivers[0].cp
    expires = f.clock.now() + timedelta(seconds=EVENT_S)
    session = f.central.sessions[cp]
    composite = call.GetCompositeSchedule(connector_id=1, duration=900, charging_rate_unit="W")
    for _ in range(options.sequential):
        times, failed = await timed_together([bare_call(f, cp, expires)])
        out.sequential += times
        times, failed = await timed_together([lambda: session.call(composite)])
        out.composite += times
        out.failed += failed


def rows(n: int, s: Samples) -> list[Row]:
    return [
        Row(
            label=f"driver: event start -> SetChargingProfile Accepted ({n} chargers)",
            summary=summarise(s.command),
        ),
        Row(
            label=f"driver: restore -> ClearChargingProfile answered ({n} chargers)",
            summary=summarise(s.clear),
        ),
        Row(label=f"bare ocpp CALL->CALLRESULT, burst ({n} connections)", summary=summarise(s.burst)),
        Row(label="bare ocpp SetChargingProfile, sequential (1 connection)", summary=summarise(s.sequential)),
        Row(
            label="bare ocpp GetCompositeSchedule (the read-back), sequential", summary=summarise(s.composite)
        ),
    ]


def verdict(s: Samples) -> str:
    driver, bare = summarise(s.command), summarise(s.burst)
    p50, p99 = ratio(driver.p50_s, bare.p50_s), ratio(driver.p99_s, bare.p99_s)
    met = "MET" if p99 < 2 else "MISSED"
    return f"driver / bare burst p50 {factor(p50)}  p99 {factor(p99)}; goal p99 < 2x: {met}"


def conditions(options: Options) -> list[str]:
    return [
        f"date: {iso(datetime.now(LONDON).replace(microsecond=0))}",
        f"cpu: {cpu_description()}, load average {os.getloadavg()[0]:.1f} at the end (a shared machine)",
        f"python: {sys.version.split()[0]}, ocpp {metadata.version('ocpp')}, "
        f"websockets {metadata.version('websockets')}",
        f"{options.chargers} simulated OCPP 1.6J chargers, the central system and {options.chargers} drivers "
        "in one process on one asyncio loop, loopback websockets (ws://, no compression); chargers meter "
        "every 60 s and beat every 300 s meanwhile (ScaledClock speed 1.0)",
        f"one warm-up round, then {options.events} events: the drivers' SetChargingProfile together and the "
        "same payload bare together (order alternating per event), then the drivers' ClearChargingProfile; "
        f"{SETTLE_S:g} s between; each driver command is followed by its GetCompositeSchedule read-back "
        "(off the ack's path, same loop)",
        f"failed calls: {0}",
    ]


async def measure(options: Options) -> Samples:
    samples = Samples()
    async with fleet(options.chargers) as f:
        await run_events(options, f, samples)
        await run_sequential(options, f, samples)
    return samples


def main(options: Options) -> int:
    options.check()
    samples = asyncio.run(measure(options))
    lines = conditions(options)  # after the run: the load average is the run's
    lines[-1] = f"failed calls: {samples.failed}"
    found = rows(options.chargers, samples)
    print(
        "\n".join(
            [
                f"ocpp_latency: {options.chargers} chargers, {options.events} events",
                *lines,
                "",
                table(found),
                "",
                verdict(samples),
            ]
        )
    )
    if options.results is not None:
        command = f"python -m bench ocpp_latency --chargers {options.chargers} --events {options.events}"
        section = "\n".join(
            [
                f"## {lines[0].removeprefix('date: ')} — ocpp_latency, {options.chargers} OCPP chargers",
                "",
                f"`{command}`",
                "",
                *(f"- {line}" for line in lines),
                "",
                markdown_table(found),
                "",
                f"- {verdict(samples)}",
            ]
        )
        append_section(options.results, section)
        print(f"\nappended to {options.results}")
    return 1 if samples.failed else 0


def cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench ocpp_latency", description=__doc__)
    p.add_argument("--chargers", type=int, default=100, help="simulated chargers (default 100)")
    p.add_argument("--events", type=int, default=5, help="events, one after another (default 5)")
    p.add_argument("--sequential", type=int, default=200, help="sequential bare round trips (default 200)")
    p.add_argument("--no-results", action="store_true", help="print only; do not append to RESULTS.md")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    results = None if a.no_results else Path(__file__).with_name("RESULTS.md")
    return main(Options(chargers=a.chargers, events=a.events, sequential=a.sequential, results=results))
