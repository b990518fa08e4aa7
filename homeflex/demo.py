"""`homeflex demo`: a whole community on one machine, one flex event end to end.

Broker, VTN, telemetry and 20 simulated households start; three weeks of meter history are
backfilled over MQTT; the DSO issues an event through the operator API; VENs get it over OpenADR,
opt in or out, control loops command devices over MQTT; settlement runs on the stored readings.
Simulated time runs `speed` times faster than wall time, so the half-hour event takes 30 s.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from homeflex.control.loop import HouseholdController
from homeflex.core.clock import Clock, ScaledClock
from homeflex.core.timeutil import LONDON, PERIOD, iso, period_start
from homeflex.drivers import DRIVERS, driver_services
from homeflex.metering.ingest import Ingestor
from homeflex.mqtt.broker import mqtt_broker
from homeflex.profiles.job import learn_all, publish_profiles
from homeflex.scenarios.mix import Wire, wires_for
from homeflex.scenarios.setup import forecast_for, household_config_for
from homeflex.settings import Settings
from homeflex.settlement.settler import settle_event
from homeflex.sim.devices import publish_history, run_population
from homeflex.sim.history import generate_history
from homeflex.sim.population import SimHouseholdConfig, build_household, make_population
from homeflex.storage import Storage, open_storage
from homeflex.ven.agent import VenAgent
from homeflex.vtn.posture import loopback_only
from homeflex.vtn.service import VtnService

log = logging.getLogger(__name__)
HISTORY = timedelta(days=21)
STAGGER_S = 300.0


def demo_start(wall_now: datetime) -> datetime:
    """17:15 London time on the next weekday: the evening peak is when flexibility is worth most."""
    day = wall_now.astimezone(LONDON).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 17, 15, tzinfo=LONDON)


@dataclass
class Household:
    config: SimHouseholdConfig
    controller: HouseholdController
    ven: VenAgent | None = None


async def wait_for(predicate: Any, timeout_s: float, what: str, poll_s: float = 0.1) -> None:
    async with asyncio.timeout(timeout_s):
        while not await predicate():
            await asyncio.sleep(poll_s)
    log.info("ready: %s", what)


async def ingest_settled(ingestor: Ingestor, expected: int) -> bool:
    c = ingestor.counters
    if c.received < expected:
        return False
    await ingestor.flush()
    return c.stored + c.duplicates + c.rejected >= c.received


def demo_services_settings(settings: Settings) -> Settings:
    """The protocols' servers listen on loopback, on free ports: the demo's devices are on this machine."""
    here: dict[str, Any] = {"ocpp_host": "127.0.0.1", "ocpp_port": 0, "s2_host": "127.0.0.1", "s2_port": 0}
    return replace(settings, **{k: v for k, v in here.items() if hasattr(settings, k)})


def demo_vtn(storage: Storage, clock: Clock, settle: Any, settings: Settings) -> VtnService:
    loopback_only().announce()  # the demo's explicit choice: its VTN listens on 127.0.0.1 only
    return VtnService(
        storage,
        clock,
        settle,
        host="127.0.0.1",
        port=0,
        poll_interval=timedelta(seconds=1),
        report_interval=timedelta(seconds=settings.report_interval_s),
    )


async def run_demo(settings: Settings, *, wall_now: datetime, database: Path | None = None) -> dict[str, Any]:
    """Run the demo; returns the event status as the VTN's operator API reports it."""
    population = make_population(settings.households, settings.seed, realistic=settings.realistic)
    start = demo_start(wall_now)
    models = [(c.spec.id, build_household(c)) for c in population]
    history = generate_history(models, start - HISTORY, start)
    clock: Clock = ScaledClock(start, settings.speed)
    async with AsyncExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="homeflex-demo-"))
        db_path = database or Path(tmp) / "homeflex.db"
        mqtt_url = await stack.enter_async_context(mqtt_broker(settings.mqtt_url, settings.mqtt_broker))
        storage = await open_storage(f"sqlite:///{db_path}")
        stack.push_async_callback(storage.close)

        async def settle(event_id: str) -> Any:
            return await settle_event(storage, event_id, clock.now())

        vtn = await stack.enter_async_context(demo_vtn(storage, clock, settle, settings))
        http = await stack.enter_async_context(aiohttp.ClientSession(base_url=vtn.url))
        for c in population:
            async with http.put(
                f"/api/households/{c.spec.id}",
                json={
                    "group": c.spec.group,
                    "category": c.spec.category.value,
                    "vulnerable": c.spec.vulnerable,
                },
            ) as resp:
                resp.raise_for_status()
        ingestor = await stack.enter_async_context(Ingestor(storage, clock, mqtt_url))

        # Backfill: each meter uploads its backlog over MQTT, as a meter does after being offline.
        expected = sum(len(r) for r in history.values())
        await asyncio.gather(*(publish_history(mqtt_url, hh, readings) for hh, readings in history.items()))
        await wait_for(lambda: ingest_settled(ingestor, expected), 120, f"{expected} history readings stored")

        profiles = await learn_profiles(storage, start, mqtt_url)
        households, wires = await start_households(stack, population, models, clock, mqtt_url, settings)

        async def states_known() -> bool:
            return all(len(h.controller.states) >= len(h.config.spec.devices) for h in households)

        await wait_for(states_known, 30, "device states known to every control loop")
        for h in households:
            h.ven = await stack.enter_async_context(VenAgent(h.controller, clock, vtn.openadr_url))

        event_start = period_start(clock.now() + timedelta(minutes=3)) + PERIOD
        async with http.post(
            "/api/events",
            json={
                "group": "community",
                "start": iso(event_start),
                "duration_minutes": 30,
                "reduction_kw": 2.0,
                "price_gbp_per_mwh": 1812.0,
            },
        ) as resp:
            resp.raise_for_status()
            event = await resp.json()
        event_id = event["event_id"]
        log.info("DSO event %s: %s to %s, 2.0 kW per household", event_id, event["start"], event["end"])

        async def all_answered() -> bool:
            async with http.get(f"/api/events/{event_id}") as r:
                return bool((await r.json())["totals"]["no_response"] == 0)

        await wait_for(all_answered, 60, "every VEN answered the event", poll_s=0.5)
        # Run through the event and the staggered recovery, plus two readings' worth of margin.
        end = event_start + timedelta(minutes=30, seconds=STAGGER_S + 60)
        while clock.now() < end:
            await clock.sleep(min(60.0, (end - clock.now()).total_seconds()))
        await ingestor.flush()
        async with http.post(f"/api/events/{event_id}/settle") as resp:
            resp.raise_for_status()
            status: dict[str, Any] = await resp.json()
        status["reasons"] = {
            h.config.spec.id: h.ven.decisions[event_id].reason
            for h in households
            if h.ven and event_id in h.ven.decisions
        }
        status["categories"] = {c.spec.id: c.spec.category.value for c in population}
        status["vulnerable"] = {c.spec.id: c.spec.vulnerable for c in population}
        status["devices"] = {
            hh: " ".join(f"{d}:{w.protocol}" for d, w in sorted(ws.items())) for hh, ws in wires.items()
        }
        status["acks"] = sum(
            1 for h in households for o in h.controller.outcomes if o.ok and o.event_id == event_id
        )
        status["ingest"] = ingestor.counters.__dict__.copy()
        status["profiles"] = {
            **profiles,
            "received": sum(h.controller.readiness is not None for h in households),
        }
        return status


async def start_households(
    stack: AsyncExitStack,
    population: list[SimHouseholdConfig],
    models: list[tuple[str, Any]],
    clock: Clock,
    mqtt_url: str,
    settings: Settings,
) -> tuple[list[Household], dict[str, dict[str, Wire]]]:
    """Every household's simulated devices and its control loop (driver per device, as configured)."""
    # Each household's devices stand for products that speak their own protocols (scenarios.mix);
    # the protocols' servers (an OCPP central system, an S2 CEM endpoint) start once for the whole
    # community; an S2 endpoint still binds each resource manager to its own household (path and token).
    wires = {
        c.spec.id: wires_for(i, c.spec.id, [d.id for d in c.spec.devices], DRIVERS.names().__contains__)
        for i, c in enumerate(population)
    }
    used = {w.protocol for ws in wires.values() for w in ws.values()}
    services = await stack.enter_async_context(driver_services(used, demo_services_settings(settings)))
    servers = {name: str(service.url) for name, service in services.items()}
    sim_wiring = {hh: {d: w.sim_options(servers) for d, w in ws.items()} for hh, ws in wires.items()}
    await stack.enter_async_context(run_population([m for _, m in models], clock, mqtt_url, sim_wiring))
    households = [
        Household(
            c,
            HouseholdController(
                household_config_for(c, model, wiring={d: w.config() for d, w in wires[c.spec.id].items()}),
                clock,
                mqtt_url,
                forecast=forecast_for(model, profile=None),
                seed=settings.seed,
                services=services,
            ),
        )
        for c, (_, model) in zip(population, models, strict=True)
    ]
    for h in households:
        await stack.enter_async_context(h.controller)
    return households, wires


async def learn_profiles(storage: Storage, as_of: datetime, mqtt_url: str) -> dict[str, int]:
    """Stage 1's product: each household's profile learned from its stored history, versioned, and sent
    to its control loop with the readiness for stage 2 (and the reasons)."""
    learned = await learn_all(storage, as_of)
    await publish_profiles(mqtt_url, learned.records)
    return {"learned": len(learned.records), "ready": sum(r.ready for r in learned.records)}


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_report(status: dict[str, Any]) -> str:
    width = max([41, *(len(d) for d in status.get("devices", {}).values())])  # the devices column
    lines = [
        f"Event {status['event_id']}  {status['start']} -> {status['end']}  "
        f"{status['reduction_kw']} kW per household at £{status['price_gbp_per_mwh']:.0f}/MWh",
        "",
        f"{'household':<10}{'cat':<5}{'vuln':<6}{'devices':<{width + 1}}{'opt':<5}{'baseline kW':>12}"
        f"{'actual kW':>11}"
        f"{'delivered kWh':>15}{'payment £':>11}  reason",
    ]
    for t in status["targets"]:
        s = t["settlement"] or {}
        hh = t["household_id"]
        lines.append(
            f"{hh:<10}{status['categories'].get(hh, '?'):<5}"
            f"{'yes' if status['vulnerable'].get(hh) else '':<6}"
            f"{status.get('devices', {}).get(hh, ''):<{width}} "
            f"{'in' if t['opt_type'] == 'optIn' else 'out':<5}{_num(s.get('baseline_kw'), '.2f'):>12}"
            f"{_num(s.get('actual_kw'), '.2f'):>11}{_num(s.get('delivered_kwh'), '.3f'):>15}"
            f"{s.get('payment_gbp', '-'):>11}  {status['reasons'].get(hh, '')}"
        )
    totals = status["totals"]
    lines += [
        "",
        f"Totals: {totals['opted_in']} opted in, {totals['opted_out']} opted out, "
        f"{totals['no_response']} no response; delivered {totals['delivered_kwh']:.3f} kWh; "
        f"paid £{totals['payment_gbp']}",
        f"Device commands acknowledged: {status['acks']}. Readings ingested: {status['ingest']['stored']} "
        f"stored, {status['ingest']['duplicates']} duplicates, {status['ingest']['rejected']} rejected.",
        f"Stage 1: {status['profiles']['learned']} profiles learned from the stored history, "
        f"{status['profiles']['ready']} ready for stage 2; {status['profiles']['received']} control loops "
        "got theirs.",
        "Figures are computed from the readings stored by telemetry (same-day-type baseline, 3 weeks).",
    ]
    return "\n".join(lines)
