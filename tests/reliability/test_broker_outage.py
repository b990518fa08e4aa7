"""The broker stops mid-event and comes back: the meter keeps the readings it makes meanwhile and sends
them on reconnect, telemetry stores every one with the time it was measured, and every client
(meter, devices, control loop, telemetry) reconnects by itself."""

from __future__ import annotations

from datetime import timedelta

from homeflex.control.loop import ControlSettings, HouseholdController
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, FlexEvent, HouseholdSpec, Stage
from homeflex.metering.ingest import Ingestor
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.weather import LondonWeather
from homeflex.storage import SQLiteStorage
from tests.reliability.brokers import Mosquitto
from tests.reliability.helpers import START, enrol, until

BATTERY = DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000)


def household(hh: str) -> SimHousehold:
    return SimHousehold(
        hh, base_load=BaseLoad(seed=3), weather=LondonWeather(seed=3), devices={"battery": Battery(soc=0.9)}
    )


async def test_readings_made_during_a_broker_outage_are_delivered_afterwards(
    storage: SQLiteStorage, uid: str
) -> None:
    hh = f"out{uid}"
    await enrol(storage, hh)
    broker = Mosquitto()
    await broker.start()
    clock = ScaledClock(START, 60.0)  # a reading every 10 simulated s = every 1/6 wall s
    model = household(hh)
    spec = HouseholdSpec(id=hh, category=Category.B, stage=Stage.FLEX, devices=(BATTERY,))
    settings = ControlSettings(command_ttl_s=600, refresh_s=120, ack_timeout_s=0.3, ack_attempts=1)
    try:
        async with (
            Ingestor(storage, clock, broker.url, persistent=True, identifier=f"ingest-{uid}") as ingestor,
            HouseholdSimulator(model, clock, broker.url, meter_interval_s=10.0) as simulator,
            HouseholdController(spec, clock, broker.url, settings) as controller,
        ):
            await until(lambda: "battery" in controller.states, 5, "the controller sees the battery")
            controller.schedule_event(
                FlexEvent(
                    event_id="e1",
                    modification_number=0,
                    start=clock.now() + timedelta(seconds=30),
                    duration=timedelta(hours=1),
                    reduction_w=3000,
                    price_gbp_per_mwh=1000,
                )
            )
            await until(
                lambda: any(o.phase == "curtail" and o.ok for o in controller.outcomes), 10, "curtail"
            )
            await until(lambda: ingestor.counters.stored >= 5, 10, "readings stored before the outage")

            await broker.stop()
            stopped = clock.now()
            await until(lambda: len(simulator.backlog) >= 10, 10, "the meter keeps readings while away")
            assert not simulator.meter.connected and not controller.session.connected
            await broker.start()
            restarted, before = clock.now(), len(controller.outcomes)

            async def all_stored() -> bool:
                await ingestor.flush()
                return await storage.count_readings(hh) == simulator.readings_measured

            await until(lambda: simulator.meter.connected and controller.session.connected, 20, "reconnect")
            await until(lambda: not simulator.backlog, 10, "the backlog is sent")
            # The control loop carries on commanding the device through the new connection.
            await until(lambda: any(o.ok for o in controller.outcomes[before:]), 30, "a command after")
            await simulator.__aexit__(None, None, None)  # stop measuring, then count
            await until(all_stored, 20, "every reading measured is stored")
    finally:
        await broker.close()
    assert simulator.readings_dropped == 0
    stored = await storage.readings(hh, START, clock.now())
    assert len(stored) == simulator.readings_measured
    kept = [r for r in stored if stopped < r.ts < restarted]
    assert len(kept) >= 10  # measured during the outage ...
    assert all(r.received_at is not None and r.received_at >= restarted for r in kept)  # ... delivered after
    assert [r.ts for r in stored] == sorted({r.ts for r in stored})  # one row per measured time
