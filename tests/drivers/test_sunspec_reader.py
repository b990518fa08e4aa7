"""The simulated SunSpec device read and written by a reader no one here wrote: pysunspec2 (the SunSpec
Alliance's own Python library, Apache-2.0) scans the map over Modbus TCP, checks each model's length
against its published definition, reads the points with their scale factors and writes controls. This is
what shows the map is conformant before homeflex's driver is tested against it (test_sunspec.py).

Run as a module, it prints homeflex/core/sunspec_models.py's table from pysunspec2's model files."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sunspec2
from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP
from sunspec2.modbus.modbus import ModbusClientException

from homeflex.core.clock import ScaledClock
from homeflex.core.sunspec_models import MODELS
from homeflex.core.timeutil import LONDON
from tests.drivers.rigs.sunspec import Device, power, sunspec_device

START = datetime(2026, 12, 2, 12, 0, tzinfo=LONDON)
JSON_MODELS = Path(sunspec2.__file__).parent / "models" / "json"


def published(model_id: int) -> tuple[str, tuple[tuple[str, str, int, str | None, str], ...]]:
    """The model's points in register order; a group that occurs once (model 704's power factor
    settings) follows the model's own points, its points named ``group.point``."""
    group = json.loads((JSON_MODELS / f"model_{model_id}.json").read_text())["group"]
    points = [(p["name"], p["type"], p["size"], p.get("sf"), p.get("access", "R")) for p in group["points"]]
    for sub in group.get("groups", ()):
        assert sub.get("count", 1) == 1 and not sub.get("groups"), (
            "homeflex's table holds no repeating groups"
        )
        points += [(f"{sub['name']}.{p['name']}", p["type"], p["size"], p.get("sf"), p.get("access", "R"))
                   for p in sub["points"]]  # fmt: skip
    return group["name"], tuple(points)


def test_the_embedded_models_are_the_published_ones() -> None:
    assert {m: published(m) for m in MODELS} == MODELS


async def read(device: Device, device_id: str, work: Callable[[Any], Any], base: int | None = None) -> Any:
    """Run ``work(scanned pysunspec2 device)`` in a thread: pysunspec2 is synchronous, the server is not."""

    def run() -> Any:
        client = SunSpecModbusClientDeviceTCP(
            slave_id=1, ipaddr="127.0.0.1", ipport=device.wiring[device_id]["port"], timeout=5
        )
        try:
            client.scan()
            return work(client)
        finally:
            client.close()

    return await asyncio.to_thread(run)


@pytest.mark.parametrize("base", [40000, 0, 50000])
async def test_pysunspec2_scans_the_battery_at_each_base(mqtt_url: str, uid: str, base: int) -> None:
    clock = ScaledClock(START, 1.0)
    async with sunspec_device(mqtt_url, uid, clock, {"battery": {"base": base}}) as device:
        battery = device.household.device("battery")

        def look(client: Any) -> dict[str, Any]:
            common, inverter, storage = client.models[1][0], client.models[103][0], client.models[124][0]
            return {
                "base": client.base_addr,
                "models": sorted(k for k in client.models if isinstance(k, int)),
                "Mn": common.Mn.value,
                "SN": common.SN.value,
                "W": inverter.W.cvalue,
                "WH": inverter.WH.cvalue,
                "WChaMax": storage.WChaMax.cvalue,
                "ChaState": storage.ChaState.cvalue,
                "StorCtl_Mod": storage.StorCtl_Mod.value,
            }

        seen = await read(device, "battery", look)
    assert seen["base"] == base
    assert seen["models"] == [1, 103, 124]
    assert seen["Mn"] == "homeflex"
    assert seen["SN"] == f"{device.household.id}-battery"
    assert seen["W"] == pytest.approx(-battery.power_w, abs=1)  # + into the grid
    assert seen["WH"] > 0
    assert seen["WChaMax"] == 5000  # 500 x 10^1: a scale factor pysunspec2 applied
    assert seen["ChaState"] == pytest.approx(50.0, abs=0.5)  # 0.1 % steps
    assert seen["StorCtl_Mod"] == 0


async def test_pysunspec2_commands_the_battery_and_a_bad_rate_is_refused(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    async with sunspec_device(mqtt_url, uid, clock, {"battery": {}}) as device:

        def hold(client: Any) -> None:
            storage = client.models["storage_basic"][0]
            storage.InWRte.cvalue, storage.OutWRte.cvalue = 30.0, -30.0  # charge at 30 % of WChaMax
            storage.InOutWRte_RvrtTms.value = 600
            storage.write()
            storage.StorCtl_Mod.value = 3
            storage.write()

        await read(device, "battery", hold)
        assert power(device.household) == 1500
        endpoint = device.endpoint("battery")
        assert endpoint.get(124, "InOutWRte_RvrtTms") == 600

        def too_much(client: Any) -> None:
            storage = client.models["storage_basic"][0]
            storage.InWRte.cvalue = 150.0  # beyond 100 %: the device answers ILLEGAL_VALUE
            storage.write()

        with pytest.raises(ModbusClientException, match="exception: 3"):
            await read(device, "battery", too_much)
        assert power(device.household) == 1500  # unchanged

        def release(client: Any) -> None:
            storage = client.models["storage_basic"][0]
            storage.StorCtl_Mod.value = 0
            storage.write()

        await read(device, "battery", release)
        assert power(device.household) is None


async def test_pysunspec2_limits_the_pv_inverter(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START, 1.0)
    async with sunspec_device(mqtt_url, uid, clock, {"pv": {}}) as device:

        def limit(client: Any) -> tuple[list[int], float, float]:
            controls = client.models["controls"][0]
            controls.WMaxLimPct.cvalue = 50.0
            controls.WMaxLimPct_RvrtTms.value = 900
            controls.WMaxLim_Ena.value = 1
            controls.write()
            inverter = client.models[103][0]
            inverter.read()
            models = sorted(k for k in client.models if isinstance(k, int))
            return models, client.models["settings"][0].WMax.cvalue, inverter.W.cvalue

        models, wmax, watts = await read(device, "pv", limit)
    assert models == [1, 103, 121, 123]
    assert wmax == 3680
    assert device.household.device("pv").settings.values["export_limit_w"] == 1840
    assert watts == pytest.approx(1840, abs=1)  # the sun gives more: the limit holds the output


if __name__ == "__main__":
    print("MODELS = {")
    for model_id in MODELS:
        print(f"    {model_id}: {published(model_id)!r},")
    print("}")
