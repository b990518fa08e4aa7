"""Every driver against the simulator of a device that speaks its protocol (tests/drivers/rigs): a command
is applied and acknowledged, read back, refused when the device refuses it, and expires back to the
device's own behaviour; an unreachable device is an error that says so (and the device is not lost for
good); junk from the device is logged, never a crash."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from homeflex.core.clock import ScaledClock
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DRIVERS, DeviceError, DeviceRefused, DeviceUnreachable, Expiry
from tests.drivers.rigs import Rig, all_rigs

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)
RIGS = all_rigs()


async def until(predicate: Callable[[], object], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


def test_every_registered_driver_has_a_rig() -> None:
    commandable = [name for name, info in DRIVERS if info.kinds]  # a meter-only driver takes no commands
    assert commandable == [r.protocol for r in RIGS]


@pytest.fixture(params=[pytest.param(r, marks=r.marks, id=r.protocol) for r in RIGS])
def rig(request: pytest.FixtureRequest) -> Rig:
    return request.param  # type: ignore[no-any-return]


async def test_set_ack_and_read_back(rig: Rig, mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    async with rig.start(mqtt_url, uid, clock) as run:
        attempts = await run.driver.send(rig.command, clock.now() + timedelta(minutes=15))
        assert attempts >= 1
        await until(lambda: rig.in_force(run.household), 5)
        await until(lambda: any(rig.read_back(s) for s in run.seen.states), 10)


async def test_a_refused_command_is_a_permanent_error(rig: Rig, mqtt_url: str, uid: str) -> None:
    if rig.refused is None:
        pytest.skip(f"{rig.protocol}: the protocol has no way to refuse a command")
    clock = ScaledClock(START, 1.0)
    async with rig.start(mqtt_url, uid, clock) as run:
        with pytest.raises(DeviceRefused) as err:
            await run.driver.send(rig.refused, clock.now() + timedelta(minutes=15))
        assert not err.value.transient
        assert rig.own(run.household)  # nothing of the refused command was applied


async def test_expiry_returns_the_device_to_its_own_behaviour(rig: Rig, mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 60.0)  # a minute a second: the command below lasts 3 s of wall time
    async with rig.start(mqtt_url, uid, clock) as run:
        await run.driver.send(rig.command, clock.now() + timedelta(minutes=3))
        await until(lambda: rig.in_force(run.household), 5)
        if DRIVERS.get(rig.protocol).expiry is Expiry.NATIVE:
            await run.driver.stop()  # native: the device reverts by itself, with no driver to help
        await until(lambda: rig.own(run.household), 15)


async def test_an_unreachable_device_is_a_transient_error_and_recovers(
    rig: Rig, mqtt_url: str, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ScaledClock(START, 1.0)
    async with rig.start(mqtt_url, uid, clock) as run:
        async with run.device_down():
            with pytest.raises(DeviceError) as err:
                await run.driver.send(rig.command, clock.now() + timedelta(minutes=15))
            assert err.value.transient and isinstance(err.value, DeviceUnreachable)
            await until(lambda: any(not up for up, _ in run.seen.availability), 10)
        await until(lambda: run.seen.availability and run.seen.availability[-1][0], 10)
        await run.driver.send(rig.command, clock.now() + timedelta(minutes=15))
        await until(lambda: rig.in_force(run.household), 5)
        losses = [up for up, _ in run.seen.availability if not up]
        assert len(losses) == 1, run.seen.availability  # said once when lost, not on every attempt


async def test_garbage_from_the_device_is_logged_not_a_crash(
    rig: Rig, mqtt_url: str, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ScaledClock(START, 1.0)
    caplog.set_level(logging.WARNING)
    async with rig.start(mqtt_url, uid, clock) as run:
        await run.garbage()
        await until(lambda: any("unreadable" in r.getMessage() for r in caplog.records), 5)
        await run.driver.send(rig.command, clock.now() + timedelta(minutes=15))  # still works
        await until(lambda: rig.in_force(run.household), 5)
