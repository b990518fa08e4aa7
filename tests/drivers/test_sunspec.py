"""The SunSpec driver against the simulated SunSpec devices (their map checked by pysunspec2 in
test_sunspec_reader.py): discovery at each base, what a device does not implement, scale factors, the PV
limit, and the revert timeout counted on the device's own clock."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from homeflex.core.clock import ScaledClock
from homeflex.core.strict import ConfigError
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DRIVERS, DeviceRefused, DeviceUnreachable
from homeflex.drivers.sunspec import SunSpecAddress
from tests.drivers.rigs.sunspec import power, sunspec_device, sunspec_driver, until

START = datetime(2026, 12, 2, 12, 0, tzinfo=LONDON)


@pytest.mark.parametrize("base", [40000, 0, 50000])
async def test_the_map_is_found_at_each_base(mqtt_url: str, uid: str, base: int) -> None:
    clock = ScaledClock(START, 1.0)
    async with (
        sunspec_device(mqtt_url, uid, clock, {"battery": {"base": base}}) as device,
        sunspec_driver(device, clock) as (driver, seen),
    ):
        assert driver.map is not None
        assert driver.map.base == base
        assert sorted(driver.map.models) == [1, 103, 124]
        assert driver.map.models[1] == base + 2  # the first model right after "SunS"
        await driver.send({"power_w": 1000}, clock.now() + timedelta(minutes=15))
        assert power(device.household) == 1000
        assert any(s.get("setpoint_w") == 1000 for s in seen.states)
        assert device.endpoint("battery").get(124, "ChaGriSet") == 1  # a charge may come from the grid


async def test_a_configured_base_is_the_only_one_tried(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    async with (
        sunspec_device(mqtt_url, uid, clock, {"battery": {"base": 50000}}) as device,
        sunspec_driver(device, clock, base=40000) as (driver, _seen),
    ):
        with pytest.raises(DeviceRefused, match=r"unsupported by this device: no SunSpec map .* at 40000$"):
            await driver.send({"power_w": 1000}, clock.now() + timedelta(minutes=15))
        assert power(device.household) is None


async def test_a_missing_model_is_said_once_at_start_and_commands_are_refused(
    mqtt_url: str, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ScaledClock(START, 1.0)
    caplog.set_level(logging.ERROR, logger="homeflex.drivers.sunspec")
    wiring = {"battery": {"models": [1, 103]}}  # an inverter without the storage model
    async with (
        sunspec_device(mqtt_url, uid, clock, wiring) as device,
        sunspec_driver(device, clock) as (driver, seen),
    ):
        said = [r.getMessage() for r in caplog.records if "unsupported by this device" in r.getMessage()]
        assert len(said) == 1 and "model 124" in said[0], said  # at start, before any command
        for _ in range(2):
            lacks = r"storage \(124\): model 124; DER \(704, 802\): model 704, model 802"  # each way it lacks
            with pytest.raises(DeviceRefused, match="unsupported by this device: " + lacks):
                await driver.send({"power_w": -1000}, clock.now() + timedelta(minutes=15))
        await until(lambda: any(s.get("power_w") is not None for s in seen.states))  # still read
        assert power(device.household) is None
    assert len([r for r in caplog.records if "unsupported" in r.getMessage()]) == 1


async def test_an_unimplemented_point_is_unsupported(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    wiring = {"battery": {"unimplemented": ["InOutWRte_RvrtTms"]}}  # no way to say the expiry
    async with (
        sunspec_device(mqtt_url, uid, clock, wiring) as device,
        sunspec_driver(device, clock) as (driver, _seen),
    ):
        with pytest.raises(DeviceRefused, match="does not implement InOutWRte_RvrtTms"):
            await driver.send({"power_w": -1000}, clock.now() + timedelta(minutes=15))
        assert power(device.household) is None


@pytest.mark.parametrize(
    "scale",
    [
        {"W_SF": 1, "WH_SF": 2, "WChaMax_SF": 0, "InOutWRte_SF": -1, "ChaState_SF": 0},
        {"W_SF": -1, "WH_SF": 3, "WChaMax_SF": 2, "InOutWRte_SF": 0, "ChaState_SF": -2},
    ],
)
async def test_scale_factors_are_applied_both_ways(mqtt_url: str, uid: str, scale: dict[str, int]) -> None:
    clock = ScaledClock(START, 1.0)
    async with (
        sunspec_device(mqtt_url, uid, clock, {"battery": {"scale": scale}}) as device,
        sunspec_driver(device, clock) as (driver, seen),
    ):
        await driver.send({"power_w": -2000}, clock.now() + timedelta(minutes=15))
        assert power(device.household) == -2000  # 40 % of WChaMax, whatever the scale
        battery = device.household.device("battery")
        state = seen.states[-1]
        assert state["setpoint_w"] == -2000
        step_w = 10.0 ** scale["W_SF"]
        assert state["power_w"] == pytest.approx(battery.power_w, abs=step_w)
        assert state["soc"] == pytest.approx(battery.soc, abs=10.0 ** scale["ChaState_SF"] / 100)
        assert state["energy_wh"] == pytest.approx(2_000_000, abs=10.0 ** scale["WH_SF"])


async def test_the_revert_timeout_runs_on_the_device_clock(mqtt_url: str, uid: str) -> None:
    """The device's clock is an hour ahead of the agent's: the command still lasts its 3 minutes there,
    because the driver writes a duration, not a time; and the device reverts with no driver left."""
    agent = ScaledClock(START, 60.0)
    device_clock = ScaledClock(START + timedelta(hours=1), 60.0)
    async with (
        sunspec_device(mqtt_url, uid, device_clock, {"battery": {}}) as device,
        sunspec_driver(device, agent) as (driver, _seen),
    ):
        endpoint = device.endpoint("battery")
        written = device_clock.now()
        await driver.send({"power_w": -2000}, agent.now() + timedelta(minutes=3))
        assert power(device.household) == -2000
        timeout_s = endpoint.get(124, "InOutWRte_RvrtTms")
        assert isinstance(timeout_s, int) and 179 <= timeout_s <= 180
        await driver.stop()
        await until(lambda: power(device.household) is None, 15)
        (model_id, when), *_ = endpoint.reverted
        assert model_id == 124
        assert written + timedelta(seconds=timeout_s) <= when <= written + timedelta(seconds=timeout_s + 60)
        assert endpoint.get(124, "StorCtl_Mod") == 0


async def test_a_pv_limit_and_its_release(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    async with (
        sunspec_device(mqtt_url, uid, clock, {"pv": {}}) as device,
        sunspec_driver(device, clock, "pv") as (driver, seen),
    ):
        pv = device.household.device("pv")
        await driver.send({"export_limit_w": 1840}, clock.now() + timedelta(minutes=15))
        assert pv.settings.values["export_limit_w"] == 1840  # 50 % of WMax (model 121)
        endpoint = device.endpoint("pv")
        assert endpoint.get(123, "WMaxLimPct_RvrtTms") == 900
        assert seen.states[-1]["export_limit_pct"] == 50
        assert seen.states[-1]["power_w"] == pytest.approx(-1840, abs=1)
        await driver.send({"export_limit_w": None}, None)
        assert pv.settings.values["export_limit_w"] is None
        with pytest.raises(DeviceRefused, match="takes only 'export_limit_w'"):
            await driver.send({"power_w": 0}, None)


async def test_pv_without_model_121_uses_the_configured_rating(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    async with (
        sunspec_device(mqtt_url, uid, clock, {"pv": {"models": [1, 103, 123]}}) as device,
        sunspec_driver(device, clock, "pv") as (driver, _seen),
    ):
        await driver.send({"export_limit_w": 920}, clock.now() + timedelta(minutes=15))
        # 25 % of the configured 3680 W; the device applies it to its own WMax (the same here)
        assert device.household.device("pv").settings.values["export_limit_w"] == 920


async def test_a_device_that_is_not_there_at_start(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    async with sunspec_device(mqtt_url, uid, clock, {"battery": {}}) as device:
        await device.stop()  # its port is known, nothing listens on it
        async with sunspec_driver(device, clock) as (driver, seen):
            with pytest.raises(DeviceUnreachable):
                await driver.send({"power_w": 1000}, clock.now() + timedelta(minutes=15))
            assert [up for up, _ in seen.availability] == [False]  # said once
            await device.start()
            await until(lambda: seen.availability[-1][0])
            await driver.send({"power_w": 1000}, clock.now() + timedelta(minutes=15))
            assert power(device.household) == 1000


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"host": "inverter.local", "port": 0}, "port must be in 1..65535"),
        ({"host": ""}, "host must be"),
        ({"host": "10.0.0.5", "base": 70000}, "base must be"),
        ({"host": "10.0.0.5", "slave": 1}, "unknown keys ['slave']"),
        ({"host": "10.0.0.5", "port": "502"}, "port must be a whole number, got '502'"),
        ({"host": "10.0.0.5", "timeout_s": 0}, "must be positive"),
    ],
)
def test_the_address_is_strict(raw: dict[str, object], error: str) -> None:
    with pytest.raises(ConfigError, match=error.replace("[", r"\[").replace("]", r"\]")):
        DRIVERS.get("sunspec").parse(raw)
    assert SunSpecAddress(host="10.0.0.5").port == 502
