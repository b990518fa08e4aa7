"""A SunSpec device (the simulated one, over real Modbus TCP) that reports a scale factor no device has
(0x7FFF, outside SunSpec's -10..10) in a point a command reads: every way a command goes (124 storage,
123 and 704 output limits, 704 WSet with 802's ratings) refuses it as DeviceRefused, the driver
contract's error, and writes nothing; a good scale factor again and the command takes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from homeflex.core.clock import ScaledClock
from homeflex.drivers import DeviceRefused
from tests.drivers.rigs.sunspec import power, sunspec_device, sunspec_driver
from tests.drivers.test_sunspec_reader import START

JUNK_SF = 0x7FFF

STORAGE, DER = [1, 103, 124], [1, 103, 704, 802]
# (device, models, the scale factor made junk, a command, the point that puts it in force: off, on)
CASES = [
    ("battery", STORAGE, (124, "InOutWRte_SF"), {"power_w": -1000}, (124, "StorCtl_Mod", 0, 3)),
    ("battery", STORAGE, (124, "WChaMax_SF"), {"power_w": 1000}, (124, "StorCtl_Mod", 0, 3)),
    ("battery", DER, (704, "WSet_SF"), {"power_w": -1000}, (704, "WSetEna", 0, 1)),
    ("battery", DER, (802, "WChaDisChaMax_SF"), {"power_w": -1000}, (704, "WSetEna", 0, 1)),
    ("pv", [1, 103, 121, 123], (123, "WMaxLimPct_SF"), {"export_limit_w": 1000}, (123, "WMaxLim_Ena", 0, 1)),
    ("pv", [1, 103, 121, 704], (121, "WMax_SF"), {"export_limit_w": 1000}, (704, "WMaxLimPctEna", 0, 1)),
]


@pytest.mark.parametrize(("device_id", "models", "junk", "command", "force"), CASES)
async def test_a_junk_scale_factor_refuses_the_command(
    mqtt_url: str,
    uid: str,
    device_id: str,
    models: list[int],
    junk: tuple[int, str],
    command: dict[str, float],
    force: tuple[int, str, int, int],
) -> None:
    clock = ScaledClock(START, 1.0)
    async with (
        sunspec_device(mqtt_url, uid, clock, {device_id: {"models": models}}) as device,
        sunspec_driver(device, clock, device_id) as (driver, _seen),
    ):
        endpoint = device.endpoint(device_id)
        index, _ = endpoint.point(*junk)
        good = endpoint.image[index]
        model_id, enable, off, on = force
        endpoint.image[index] = JUNK_SF
        with pytest.raises(DeviceRefused, match="scale factor"):
            await driver.send(command, clock.now() + timedelta(minutes=15))
        assert endpoint.get(model_id, enable) == off  # nothing put in force
        endpoint.image[index] = good
        assert await driver.send(command, clock.now() + timedelta(minutes=15)) == 1
        assert endpoint.get(model_id, enable) == on
        if device_id == "battery":
            assert power(device.household) is not None
