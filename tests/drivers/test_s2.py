"""The S2 driver (homeflex as the CEM) against a resource manager built in the tests from s2-python's own
message models (tests/drivers/s2_rm.py, not homeflex's code), connecting over a real WebSocket to the
driver's CEM endpoint: an FRBC battery with three operation modes (charge 0..3000 W, idle, discharge
-3000..0 W)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from s2python.common import ControlType, ReceptionStatusValues

from homeflex.core.clock import ManualClock
from homeflex.drivers import DeviceRefused, DeviceUnreachable, DriverServices
from homeflex.drivers.s2 import INFO
from homeflex.drivers.s2_cem import Cem, CemSettings
from homeflex.settings import load_settings
from tests.drivers.s2_rm import (
    ACTUATOR,
    CHARGE,
    DISCHARGE,
    IDLE,
    NOW,
    ResourceManager,
    S2Driver,
    Seen,
    battery,
    connected,
    driven,
    mode,
    token,
)


@pytest.fixture
async def cem() -> AsyncIterator[Cem]:
    async with Cem(CemSettings(port=0, response_timeout_s=1.0)) as server:
        yield server


@pytest.fixture
async def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def rig(cem: Cem, clock: ManualClock) -> AsyncIterator[tuple[S2Driver, Seen, ResourceManager]]:
    async with connected(cem, clock) as running:
        yield running


async def test_a_command_becomes_the_frbc_instruction_nearest_the_power(rig: Any, clock: ManualClock) -> None:
    driver, seen, rm = rig
    assert seen.availability[0] == (True, "RM connected")
    # Each S2 message says part of the state; the agent is told the whole of it every time.
    assert seen.states[-1] == {"fill_level": 4.0, "soc": 0.4, "power_w": -120.0}
    assert await driver.send({"power_w": -2000}, None) == 1
    sent = rm.instructions[-1]
    assert (sent.actuator_id, sent.operation_mode) == (ACTUATOR, DISCHARGE)
    assert sent.operation_mode_factor == pytest.approx(1 / 3)  # S2: factor 0 is the range start
    assert sent.execution_time == NOW and not sent.abnormal_condition
    await driver.send({"power_w": 1500}, None)
    assert (rm.instructions[-1].operation_mode, rm.instructions[-1].operation_mode_factor) == (CHARGE, 0.5)
    assert seen.states[-1] == {"fill_level": 4.0, "soc": 0.4, "power_w": -120.0, "setpoint_w": 1500}
    # every message of the RM was answered OK
    assert rm.receptions and all(r.status is ReceptionStatusValues.OK for r in rm.receptions)


async def test_expiry_is_emulated_back_to_the_rms_own_mode(rig: Any, clock: ManualClock) -> None:
    driver, _seen, rm = rig
    assert INFO.expiry.value == "emulated"
    await driver.send({"power_w": -3000}, NOW + timedelta(minutes=30))
    assert rm.instructions[-1].operation_mode == DISCHARGE
    await clock.advance(30 * 60)
    await rm.until(lambda: len(rm.instructions) == 2)
    back = rm.instructions[-1]
    assert (back.operation_mode, back.operation_mode_factor) == (IDLE, 0.0)  # its ActuatorStatus before


async def test_a_rejected_instruction_is_refused(rig: Any) -> None:
    driver, _seen, _rm = rig
    with pytest.raises(DeviceRefused, match="REJECTED"):
        await driver.send({"power_w": 5000}, None)  # factor 1 of the charge mode: derated, rejected
    with pytest.raises(DeviceRefused, match="power_w"):
        await driver.send({"power_w": "lots"}, None)


async def test_no_rm_or_no_status_is_unreachable(cem: Cem, clock: ManualClock) -> None:
    async with driven(clock, cem) as (driver, _seen):
        with pytest.raises(DeviceUnreachable, match="not connected"):
            await driver.send({"power_w": 1000}, None)
    async with connected(cem, clock) as (driver, seen, rm):
        rm.answer = False
        with pytest.raises(DeviceUnreachable, match="did not answer"):
            await driver.send({"power_w": 1000}, None)
        await rm.stop()
        await rm.until(lambda: seen.availability[-1] == (False, "RM disconnected"))


async def test_an_unknown_resource_is_let_go_and_garbage_is_answered(cem: Cem, clock: ManualClock) -> None:
    async with driven(clock, cem):  # the household is known, the resource is not
        stranger = ResourceManager(cem.url_for("hhs2"), uuid.uuid4(), token("hhs2"), clock=clock)
        await stranger.start()
        await stranger.until(lambda: stranger._task is not None and stranger._task.done())
    assert stranger.receptions[-1].status is ReceptionStatusValues.PERMANENT_ERROR
    async with connected(cem, clock) as (driver, _seen, rm):
        assert rm.ws is not None
        bad = str(uuid.uuid4())
        await rm.ws.send('{"message_type": "FRBC.StorageStatus", "message_id": "' + bad + '"}')
        await rm.ws.send("not json at all")
        await rm.until(lambda: any(str(r.subject_message_id) == bad for r in rm.receptions))
        assert [r.status for r in rm.receptions if str(r.subject_message_id) == bad] == [
            ReceptionStatusValues.INVALID_DATA
        ]
        assert await driver.send({"power_w": 0}, None) == 1  # the session goes on


async def test_the_endpoint_starts_from_settings() -> None:
    assert INFO.service is not None  # what driver_services starts once the driver is registered
    async with INFO.service(load_settings(path=None, env={}, s2_port=0)) as cem:
        assert isinstance(cem, Cem) and cem.port > 0


async def test_the_endpoint_follows_the_households_configuration() -> None:
    """A version that adds an S2 device starts the CEM endpoint in the running agent; one that drops
    the last S2 device stops it (the port then refuses connections)."""
    async with DriverServices(load_settings(path=None, env={}, s2_port=0), ["homeflex"]) as services:
        assert services.running == {}
        assert await services.need(["homeflex", "s2"]) == ["s2"]
        cem = services.running["s2"]
        assert isinstance(cem, Cem)
        port = cem.port
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        await writer.wait_closed()
        assert await services.need(["s2"]) == []  # already running: not started twice
        assert await services.keep_only(["homeflex"]) == ["s2"] and services.running == {}
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)


def test_a_heat_pump_ceiling_picks_the_mode_that_stays_under_it() -> None:
    """Pure: a heat pump's max_power_w is a ceiling; a mode that cannot go under it ranks last."""
    from homeflex.drivers.s2_modes import choose

    system = battery()
    system.actuators[0].operation_modes = [mode(CHARGE, 1500, 3000, "compressor"), mode(IDLE, 0, 0, "off")]
    assert choose(system, 2000, 4.0, ceiling=True).mode_id == str(CHARGE)  # type: ignore[union-attr]
    under = choose(system, 1000, 4.0, ceiling=True)
    assert under is not None and (under.mode_id, under.power_w) == (str(IDLE), 0)  # not 1500 W over it
    assert choose(system, 1000, 4.0) is not None and choose(system, 1000, 4.0).mode_id == str(CHARGE)  # type: ignore[union-attr]


async def test_an_rm_without_frbc_is_told_so(cem: Cem, clock: ManualClock) -> None:
    """FRBC is the one control type homeflex drives: an RM offering only OMBC is refused at once."""
    async with driven(clock, cem) as (driver, seen):
        rid = uuid.UUID(driver.rid)
        rm = ResourceManager(cem.url_for("hhs2"), rid, token("hhs2"), clock=clock,
                             control_types=(ControlType.OPERATION_MODE_BASED_CONTROL,))  # fmt: skip
        await rm.start()
        try:
            await rm.until(lambda: any(r.status is not ReceptionStatusValues.OK for r in rm.receptions))
            refusal = next(r for r in rm.receptions if r.status is not ReceptionStatusValues.OK)
            assert (refusal.status, refusal.diagnostic_label) == (
                ReceptionStatusValues.PERMANENT_ERROR,
                "FRBC needed",
            )
            assert driver.description is None and seen.availability == []
        finally:
            await rm.stop()
