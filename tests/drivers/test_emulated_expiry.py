"""The drivers whose protocol has no timer for an OFF (Tasmota, Zigbee2MQTT) revert it themselves: a
later command replaces the pending revert, and a driver that stops reverts nothing (what DriverInfo
says: with the agent gone, the last command stays)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from homeflex.core.clock import ScaledClock, sleep_until
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DRIVERS, Expiry
from tests.drivers.rigs.plugs import running_plug, switched

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)
ADDRESSES = {"tasmota": {"topic": "pow-{uid}"}, "zigbee2mqtt": {"friendly_name": "plug-{uid}"}}


def address(protocol: str, uid: str) -> dict[str, str]:
    return {k: v.format(uid=uid) for k, v in ADDRESSES[protocol].items()}


@pytest.mark.parametrize("protocol", sorted(ADDRESSES))
async def test_a_later_command_replaces_the_pending_revert(mqtt_url: str, uid: str, protocol: str) -> None:
    assert DRIVERS.get(protocol).expiry is Expiry.EMULATED
    clock = ScaledClock(START, 60.0)
    async with running_plug(protocol, mqtt_url, f"exp{uid}", clock, address(protocol, uid), {}) as run:
        await run.driver.send({"on": False}, clock.now() + timedelta(minutes=2))
        await run.driver.send({"on": False}, clock.now() + timedelta(minutes=30))
        await sleep_until(clock, clock.now() + timedelta(minutes=4))
        assert switched(run.household) is False  # the first command's expiry no longer applies


@pytest.mark.parametrize("protocol", sorted(ADDRESSES))
async def test_a_stopped_driver_reverts_nothing(mqtt_url: str, uid: str, protocol: str) -> None:
    clock = ScaledClock(START, 60.0)
    async with running_plug(protocol, mqtt_url, f"exp{uid}", clock, address(protocol, uid), {}) as run:
        await run.driver.send({"on": False}, clock.now() + timedelta(minutes=2))
        await run.driver.stop()
        await sleep_until(clock, clock.now() + timedelta(minutes=4))
        await asyncio.sleep(0.3)
        assert switched(run.household) is False
