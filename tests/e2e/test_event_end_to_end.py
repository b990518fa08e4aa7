"""One flex event end to end: operator API -> VTN -> openleadr VENs -> control loops -> MQTT devices,
meter readings -> telemetry -> settlement -> ledger.

The test is the households' meters: it publishes every reading itself (three weeks of history and
the live readings), so it can compute each household's settlement on its own and compare.

openleadr's VEN judges by the wall clock whether an event is over (tests/dates.py), so the event is on
the next working day, in the evening peak; the simulated weather and base load replay one fixed winter
evening whatever that day is, so the devices behave the same on every run.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp

from homeflex.control.loop import ControlSettings, HouseholdController
from homeflex.control.setup import HouseholdSetup, Preferences
from homeflex.core import topics
from homeflex.core.clock import ScaledClock, sleep_until
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, HouseholdSpec, Stage
from homeflex.core.timeutil import LONDON, iso
from homeflex.metering.ingest import Ingestor
from homeflex.mqtt import MqttSession
from homeflex.settlement.settler import settle_event
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.heat_pump import HeatPump
from homeflex.sim.physics.weather import LondonWeather, TemperatureSource
from homeflex.storage import SQLiteStorage
from homeflex.ven.agent import VenAgent
from homeflex.vtn.service import VtnService
from tests.dates import is_working_day, london, next_working_day

REFERENCE_EVENT = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # the winter evening the physics replays
EVENT = london(next_working_day(), 17, 30).astimezone(UTC)
START = (EVENT - timedelta(minutes=10)).astimezone(LONDON)
SHIFT = EVENT - REFERENCE_EVENT
SPEED = 120.0
PRICE = 1812.0
REDUCTION_KW = 2.0


def history_kw(index: int, day: int) -> float:
    """The test's meter: import power on day `day` before START (constant within the day)."""
    return (3.0, 1.1, 1.4)[index] + 0.05 * (day % 7)


def live_kw(index: int, t: datetime) -> float:
    """Live import: household 0 sheds to 0.3 kW in the event, household 1 to half, household 2 not."""
    base = history_kw(index, 0)
    if EVENT <= t < EVENT + timedelta(minutes=30):
        return (0.3, base / 2, base)[index]
    return base


class Meter:
    """Cumulative registers the test keeps itself."""

    def __init__(self, household_id: str) -> None:
        self.household_id = household_id
        self.import_wh = 0.0
        self.readings: list[dict[str, Any]] = []

    def advance(self, t: datetime, kw: float, hours: float) -> dict[str, Any]:
        self.import_wh += kw * 1000 * hours
        reading = {
            "ts": iso(t),
            "import_wh": round(self.import_wh, 3),
            "export_wh": 0.0,
            "power_w": kw * 1000,
        }
        self.readings.append(reading)
        return reading


class ReplayedBaseLoad(BaseLoad):
    """The base load of the reference evening, shifted to the event's day."""

    def power_w(self, now: datetime) -> float:
        return super().power_w(now - SHIFT)


def replayed_weather(weather: LondonWeather) -> TemperatureSource:
    return lambda now: weather(now - SHIFT)


def expected_settlement(index: int, opted_in: bool) -> tuple[float, float, float, Decimal]:
    """Baseline kW, actual kW, delivered kWh and payment, computed from the test's own readings: the
    baseline is the mean of the working days (bank holidays are not) in the 21 days before the event."""
    weekdays = [d for d in range(1, 22) if is_working_day((START - timedelta(days=d)).date())]
    baseline_kwh = sum(history_kw(index, d) * 0.5 for d in weekdays) / len(weekdays)
    actual_kwh = live_kw(index, EVENT) * 0.5
    delivered = min(REDUCTION_KW * 0.5, max(0.0, baseline_kwh - actual_kwh)) if opted_in else 0.0
    payment = Decimal(repr(delivered / 1000 * PRICE)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return baseline_kwh * 2, actual_kwh * 2, delivered, payment


def household(index: int, uid: str) -> tuple[HouseholdSpec, SimHousehold]:
    """0: a full battery; 1: a heat pump keeping a cold house warm; 2: stage 2, not in flex."""
    hh = f"e2e{uid}-{index}"
    models: dict[str, Any]
    if index == 0:
        devices = (DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000),)
        models = {"battery": Battery(soc=0.95)}
    else:
        devices = (DeviceSpec(id="heat_pump", kind=DeviceKind.HEAT_PUMP, max_power_w=3000),)
        models = {"heat_pump": HeatPump(indoor_c=19.8)}
    spec = HouseholdSpec(
        id=hh, category=Category.B, stage=Stage.AUTOMATIC if index == 2 else Stage.FLEX, devices=devices
    )
    sim = SimHousehold(
        hh,
        base_load=ReplayedBaseLoad(seed=index),
        weather=replayed_weather(LondonWeather(seed=1)),
        devices=models,
    )
    return spec, sim


def setup(index: int) -> HouseholdSetup:
    """Household 1 keeps its house at 19.7 °C or more and offers part of a request (a tenth or more)."""
    if index != 1:
        return HouseholdSetup()
    return HouseholdSetup(
        preferences=Preferences(comfort_min_c=19.7, comfort_max_c=22.7, min_event_share=0.1)
    )


async def publish_history(session: MqttSession, meters: list[Meter]) -> None:
    first = (START - timedelta(days=21)).astimezone(UTC)  # steps in UTC: the window may span a clock change
    for i, meter in enumerate(meters):
        t = first
        meter.advance(t, 0.0, 0.0)
        batch: list[dict[str, Any]] = [meter.readings[-1]]
        while t < START:
            day = (START.date() - t.astimezone(LONDON).date()).days
            nxt = t + timedelta(minutes=30)
            batch.append(meter.advance(nxt, history_kw(i, day), 0.5))
            t = nxt
        for k in range(0, len(batch), 300):
            await session.publish(topics.meter_history(meter.household_id), batch[k : k + 300])


async def publish_live(
    session: MqttSession, clock: ScaledClock, meters: list[Meter], until: datetime
) -> None:
    """One reading a minute on the exact minute, as a smart meter's register would be read."""
    t = START
    while t < until:
        t += timedelta(minutes=1)
        await sleep_until(clock, t)
        for i, meter in enumerate(meters):
            reading = meter.advance(t, live_kw(i, t - timedelta(minutes=1)), 1 / 60)
            await session.publish(topics.meter_reading(meter.household_id), reading)


async def test_flex_event_end_to_end(mqtt_url: str, storage: SQLiteStorage, uid: str) -> None:
    clock = ScaledClock(START, SPEED)
    households = [household(i, uid) for i in range(3)]
    meters = [Meter(spec.id) for spec, _ in households]

    async def settle(event_id: str) -> Any:
        return await settle_event(storage, event_id, clock.now())

    async with AsyncExitStack() as stack:
        vtn = await stack.enter_async_context(
            VtnService(
                storage,
                clock,
                settle,
                port=0,
                poll_interval=timedelta(seconds=0.5),
                report_interval=timedelta(seconds=1),
            )
        )
        http = await stack.enter_async_context(aiohttp.ClientSession(base_url=vtn.url))
        for spec, _ in households:
            async with http.put(
                f"/api/households/{spec.id}", json={"group": f"g{uid}", "category": "B"}
            ) as r:
                assert r.status == 200
        ingestor = await stack.enter_async_context(Ingestor(storage, clock, mqtt_url))
        meter_session = await stack.enter_async_context(MqttSession(mqtt_url, f"test-meters-{uid}"))
        await publish_history(meter_session, meters)
        # The simulators play the devices only: their own meter is silenced, the test is the meter.
        for _, sim in households:
            await stack.enter_async_context(HouseholdSimulator(sim, clock, mqtt_url, meter_interval_s=1e9))
        settings = ControlSettings(recovery_stagger_s=60)
        controllers = [
            await stack.enter_async_context(
                HouseholdController(spec, clock, mqtt_url, settings, setup=setup(index))
            )
            for index, (spec, _) in enumerate(households)
        ]
        async with asyncio.timeout(10):
            while not all(len(c.states) == 1 for c in controllers):
                await asyncio.sleep(0.05)
        vens = [
            await stack.enter_async_context(
                VenAgent(c, clock, vtn.openadr_url, report_interval=timedelta(seconds=1))
            )
            for c in controllers
        ]
        live = asyncio.create_task(publish_live(meter_session, clock, meters, EVENT + timedelta(minutes=34)))
        stack.callback(live.cancel)

        async with http.post(
            "/api/events",
            json={
                "group": f"g{uid}",
                "start": iso(EVENT),
                "duration_minutes": 30,
                "reduction_kw": REDUCTION_KW,
                "price_gbp_per_mwh": PRICE,
            },
        ) as r:
            assert r.status == 201, await r.text()
            event_id = (await r.json())["event_id"]

        await asyncio.wait_for(live, timeout=60)
        # Recovery comes a random stagger (under a minute) after the event: give a loaded machine time
        # to deliver the acks before the control loops stop.
        async with asyncio.timeout(15):
            while not all(any(o.phase == "restore" for o in c.outcomes) for c in controllers[:2]):
                await asyncio.sleep(0.1)
        await ingestor.flush()
        async with http.post(f"/api/events/{event_id}/settle") as r:
            assert r.status == 200, await r.text()
            status = await r.json()

    # Every VEN got the event and answered; the two stage-3 households opted in.
    assert [t["opt_type"] for t in status["targets"]] == ["optIn", "optIn", "optOut"]
    assert "stage 2" in vens[2].decisions[event_id].reason
    # Devices acknowledged the curtailment and the restore.
    for controller in controllers[:2]:
        phases = {(o.phase, o.ok) for o in controller.outcomes}
        assert ("curtail", True) in phases
        assert ("restore", True) in phases
        assert all(o.ok for o in controller.outcomes)
    # Stage 2 runs its plan but takes no part in the event.
    assert {o.phase for o in controllers[2].outcomes} == {"plan"}
    assert all(o.event_id == "" for o in controllers[2].outcomes)
    await check_settlement(storage, status, meters, ingestor)
    # The ledger pays DSO -> community -> household, and settling again changes nothing.
    ledger = await storage.ledger(event_id)
    assert {(e.debit_account, e.credit_account) for e in ledger} == {
        ("dso", "community"),
        ("community", f"household:{households[0][0].id}"),
        ("community", f"household:{households[1][0].id}"),
    }
    assert await settle_event(storage, event_id, clock.now()) == []
    assert len(await storage.ledger(event_id)) == len(ledger)
    await check_reports(storage, meters)


async def check_settlement(
    storage: SQLiteStorage, status: dict[str, Any], meters: list[Meter], ingestor: Ingestor
) -> None:
    # Telemetry stored every reading the test published, and settlement matches the test's own sums.
    # None of ours rejected (the shared broker may carry other runs' meters, which telemetry rejects).
    own = {m.household_id for m in meters}
    assert [r for r in await storage.rejected_readings() if r.household_id in own] == []
    for meter in meters:
        assert await storage.count_readings(meter.household_id) == len(meter.readings)
    for i, target in enumerate(status["targets"]):
        baseline_kw, actual_kw, delivered, payment = expected_settlement(i, opted_in=i < 2)
        s = target["settlement"]
        assert abs(s["baseline_kw"] - baseline_kw) < 1e-9
        assert abs(s["actual_kw"] - actual_kw) < 1e-9
        assert abs(s["delivered_kwh"] - delivered) < 1e-9
        assert Decimal(s["payment_gbp"]) == payment
    assert status["targets"][0]["settlement"]["delivered_kwh"] == REDUCTION_KW * 0.5  # capped at the request


async def check_reports(storage: SQLiteStorage, meters: list[Meter]) -> None:
    # Each VEN reported its metered power to the VTN over OpenADR; the VTN stored what the meters said.
    for meter in meters:
        reported = await storage.ven_reports(f"ven-{meter.household_id}")
        assert len(reported) >= 5
        published = {r["power_w"] for r in meter.readings}
        assert {value for _, _, value in reported} <= published | {0.0}
