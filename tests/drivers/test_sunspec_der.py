"""SunSpec's DER models (704 DER AC controls, 802 battery) on the simulated device, built from the
published definitions: pysunspec2 (the SunSpec Alliance's reader) scans and commands the map first, then
homeflex's driver takes the DER way when the device has no 124/123: a battery setpoint is 704's WSet with
the command's expiry in WSetRvrtTms (reverting to disabled, on the device's clock), SoC from 802; a PV
limit is 704's WMaxLimPct; a 704 without its revert timeout, or a battery under local control, is said
before any event."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from homeflex.core.clock import ScaledClock
from homeflex.drivers import DeviceRefused
from tests.drivers.rigs.sunspec import power, sunspec_device, sunspec_driver, until
from tests.drivers.test_sunspec_reader import START, read

DER_BATTERY = {"battery": {"models": [1, 103, 704, 802]}}
DER_PV = {"pv": {"models": [1, 103, 121, 704]}}


async def test_pysunspec2_reads_and_commands_the_der_battery(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    async with sunspec_device(mqtt_url, uid, clock, DER_BATTERY) as device:

        def command(client: Any) -> dict[str, Any]:
            controls, battery = client.models["DERCtlAC"][0], client.models["battery"][0]
            seen = {"models": sorted(m for m in client.models if isinstance(m, int)),
                    "SoC": battery.SoC.cvalue, "WHRtg": battery.WHRtg.cvalue,
                    "LocRemCtl": battery.LocRemCtl.value}  # fmt: skip
            controls.WSetMod.value, controls.WSet.cvalue, controls.WSetRvrtTms.value = 1, -1200, 600
            controls.write()
            controls.WSetEna.value = 1
            controls.write()
            return seen

        seen = await read(device, "battery", command)
        assert device.endpoint("battery").get(704, "WSetRvrtTms") == 600
    assert seen["models"] == [1, 103, 704, 802]
    capacity = device.household.device("battery").params.capacity_wh  # type: ignore[attr-defined]
    assert (
        seen["SoC"] == pytest.approx(50.0, abs=0.5) and seen["WHRtg"] == capacity and seen["LocRemCtl"] == 0
    )
    assert power(device.household) == 1200  # WSet -1200 W: absorbing, the battery charges


async def test_a_der_battery_is_driven_through_704_with_the_expiry_as_its_revert_timeout(
    mqtt_url: str, uid: str
) -> None:
    agent = ScaledClock(START, 60.0)
    device_clock = ScaledClock(START + timedelta(hours=1), 60.0)  # its clock is not the agent's
    async with (
        sunspec_device(mqtt_url, uid, device_clock, DER_BATTERY) as device,
        sunspec_driver(device, agent) as (driver, seen),
    ):
        endpoint = device.endpoint("battery")
        assert driver.control.name == "DER (704, 802)"
        await until(lambda: any(s.get("soc") is not None for s in seen.states))  # from 802's SoC
        await driver.send({"power_w": -2000}, agent.now() + timedelta(minutes=3))
        assert power(device.household) == -2000
        assert (endpoint.get(704, "WSetEna"), endpoint.get(704, "WSetMod"), endpoint.get(704, "WSet")) == (
            1,
            1,
            2000,
        )
        assert endpoint.get(704, "WSetEnaRvrt") == 0  # when the timeout runs out: its own behaviour
        timeout_s = endpoint.get(704, "WSetRvrtTms")
        assert isinstance(timeout_s, int) and 179 <= timeout_s <= 180
        await until(lambda: seen.states and seen.states[-1].get("setpoint_w") == -2000)
        with pytest.raises(DeviceRefused, match="beyond the battery's rating"):  # 802 WDisChaRteMax
            await driver.send({"power_w": -9000}, agent.now() + timedelta(minutes=3))
        assert power(device.household) == -2000
        written = device_clock.now()
        await driver.stop()  # homeflex gone: the device reverts by itself
        await until(lambda: power(device.household) is None, 15)
        (model_id, when), *_ = endpoint.reverted
        assert model_id == 704 and endpoint.get(704, "WSetEna") == 0
        assert (
            written + timedelta(seconds=timeout_s - 60) <= when <= written + timedelta(seconds=timeout_s + 60)
        )


async def test_a_der_pv_limit_and_its_release(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    async with (
        sunspec_device(mqtt_url, uid, clock, DER_PV) as device,
        sunspec_driver(device, clock, "pv") as (driver, seen),
    ):
        pv, endpoint = device.household.device("pv"), device.endpoint("pv")
        await driver.send({"export_limit_w": 1840}, clock.now() + timedelta(minutes=15))
        assert pv.settings.values["export_limit_w"] == 1840  # 50 % of WMax (model 121)
        assert endpoint.get(704, "WMaxLimPctRvrtTms") == 900 and endpoint.get(704, "WMaxLimPctEnaRvrt") == 0
        assert seen.states[-1]["export_limit_pct"] == 50
        await driver.send({"export_limit_w": None}, None)
        assert pv.settings.values["export_limit_w"] is None and endpoint.get(704, "WMaxLimPctEna") == 0


async def test_a_704_without_its_revert_timeout_is_unsupported_at_start(
    mqtt_url: str, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ScaledClock(START, 1.0)
    caplog.set_level(logging.ERROR, logger="homeflex.drivers.sunspec")
    wiring = {"battery": {"models": [1, 103, 704, 802], "unimplemented": ["WSetRvrtTms"]}}
    async with (
        sunspec_device(mqtt_url, uid, clock, wiring) as device,
        sunspec_driver(device, clock) as (driver, _seen),
    ):
        said = [r.getMessage() for r in caplog.records if "unsupported by this device" in r.getMessage()]
        assert len(said) == 1, said  # at start, before any command
        assert "storage (124): model 124" in said[0]
        assert "DER (704, 802): model 704 (DERCtlAC) does not implement WSetRvrtTms" in said[0]
        with pytest.raises(DeviceRefused, match="does not implement WSetRvrtTms"):
            await driver.send({"power_w": -1000}, clock.now() + timedelta(minutes=15))
        assert power(device.household) is None


async def test_a_battery_under_local_control_refuses_a_setpoint(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    wiring = {"battery": {"models": [1, 103, 704, 802], "local": True}}
    async with (
        sunspec_device(mqtt_url, uid, clock, wiring) as device,
        sunspec_driver(device, clock) as (driver, _seen),
    ):
        with pytest.raises(DeviceRefused, match="local control"):
            await driver.send({"power_w": 1000}, clock.now() + timedelta(minutes=15))
        assert power(device.household) is None
        await driver.send({"power_w": None}, None)  # giving it back is always taken
