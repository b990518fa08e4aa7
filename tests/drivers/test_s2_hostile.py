"""The S2 CEM endpoint and driver against a hostile or broken resource manager, with a raw `websockets`
client speaking S2 JSON: deeply nested JSON, non-finite numbers (JSON's NaN/Infinity, which Python's
parser takes), and messages out of turn. The session goes on, the endpoint stays up, and nothing that is
not a finite number reaches the household agent as a reading."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator

import pytest
from s2python.common import ReceptionStatusValues
from s2python.frbc import FRBCActuatorStatus, FRBCTimerStatus

from homeflex.core.clock import ManualClock
from homeflex.drivers.s2_cem import Cem, CemSettings
from tests.drivers.s2_rm import ACTUATOR, DISCHARGE, IDLE, NOW, connected

STORM = 1500  # statuses, each naming a new actuator or timer
KEPT = 64  # at most, of each: a device has a few actuators, each with a few timers


@pytest.fixture
async def cem() -> AsyncIterator[Cem]:
    async with Cem(CemSettings(port=0, response_timeout_s=2.0)) as server:
        yield server


def finite(states: list[dict[str, object]]) -> bool:
    return all(not isinstance(v, float) or math.isfinite(v) for s in states for v in s.values())


async def test_deeply_nested_json_is_junk_not_a_crash(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock) as (driver, _seen, rm):
        assert rm.ws is not None
        depth = 100_000  # under the 1 MiB limit, far beyond Python's recursion limit
        await rm.ws.send("[" * depth + "]" * depth)
        await rm.ws.send('{"a":' * depth + "1" + "}" * depth)
        marked = str(uuid.uuid4())
        await rm.ws.send(json.dumps({"message_id": marked}))
        await rm.until(lambda: any(str(r.subject_message_id) == marked for r in rm.receptions))
        assert cem.is_connected("hhs2", driver.rid)
        assert await driver.send({"power_w": 0}, None) == 1  # the session goes on


async def test_non_finite_readings_do_not_reach_the_agent(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock) as (driver, seen, rm):
        assert rm.ws is not None
        before = len(seen.states)
        for level in ("NaN", "Infinity", "-Infinity", "1e999"):
            storage = {"message_type": "FRBC.StorageStatus", "message_id": str(uuid.uuid4()),
                       "present_fill_level": "X"}  # fmt: skip
            values = [{"commodity_quantity": "ELECTRIC.POWER.L1", "value": "X"}]
            power = {"message_type": "PowerMeasurement", "message_id": str(uuid.uuid4()),
                     "measurement_timestamp": "2026-01-15T17:00:00Z", "values": values}  # fmt: skip
            for body in (storage, power):  # the number as the RM writes it, not as JSON allows
                await rm.ws.send(json.dumps(body).replace('"X"', level))
        marked = str(uuid.uuid4())
        await rm.ws.send(json.dumps({"message_id": marked}))
        await rm.until(lambda: any(str(r.subject_message_id) == marked for r in rm.receptions))
        assert finite(seen.states[before:]), seen.states[before:]
        assert driver.fill is not None and math.isfinite(driver.fill)
        statuses = [r.status for r in rm.receptions]
        assert ReceptionStatusValues.INVALID_DATA in statuses
        assert await driver.send({"power_w": -1000}, None) == 1


async def test_statuses_for_ever_new_actuators_and_timers_do_not_grow_the_driver(cem: Cem) -> None:
    """An RM (broken, or hostile with the household's token) names a new actuator or timer in every
    status: what the driver keeps stays bounded, and the real actuator is still driven."""
    clock = ManualClock(NOW)
    async with connected(cem, clock) as (driver, _seen, rm):
        sent: set[uuid.UUID] = set()
        for _ in range(STORM):
            timer = FRBCTimerStatus(
                message_id=uuid.uuid4(), timer_id=uuid.uuid4(), actuator_id=ACTUATOR, finished_at=NOW
            )
            actuator = FRBCActuatorStatus(
                message_id=uuid.uuid4(),
                actuator_id=uuid.uuid4(),
                active_operation_mode_id=IDLE,
                operation_mode_factor=0.0,
            )
            for status in (timer, actuator):
                await rm.send(status)
                sent.add(status.message_id)
        await rm.until(lambda: sent <= {r.subject_message_id for r in rm.receptions})
        assert len(driver.actuators) <= KEPT
        assert all(len(a.timers or {}) <= KEPT for a in driver.actuators.values())
        assert await driver.send({"power_w": -1000}, None) == 1
        assert rm.instructions[-1].operation_mode == DISCHARGE
