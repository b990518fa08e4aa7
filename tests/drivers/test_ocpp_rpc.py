"""homeflex's central system and OCPP driver against a charge point it did not write: the npm package
ocpp-rpc 2.2.1 (github.com/mikuso/ocpp-rpc, protocols.md [N1]) in strict mode, which checks every CALL
homeflex sends against the OCPP 1.6 and 2.0.1 JSON schemas (tests/drivers/ocpp_rpc_charger.js).

The test installs ocpp-rpc into .cache/ocpp-rpc with npm the first time; it is skipped, saying why, on a
machine without node and npm (CI has both)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from homeflex.core.clock import ScaledClock
from homeflex.core.timeutil import LONDON, iso
from tests.drivers.rigs.ocpp import PASSWORD, central_and_driver, until

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / ".cache" / "ocpp-rpc"
SCRIPT = Path(__file__).with_name("ocpp_rpc_charger.js")
START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the ocpp-rpc charge point (CI has them)")
    modules = PACKAGE / "node_modules"
    if not (modules / "ocpp-rpc" / "package.json").exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PACKAGE), "ocpp-rpc@2.2.1"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return modules


@asynccontextmanager
async def charge_point(
    url: str, identity: str, modules: Path, protocol: str
) -> AsyncIterator[list[dict[str, Any]]]:
    """Run the node charge point; yields the JSON lines it prints, growing as it runs."""
    env = {
        **os.environ,
        "NODE_PATH": str(modules),
        "ENDPOINT": url,
        "IDENTITY": identity,
        "PASSWORD": PASSWORD,
        "BAD_PASSWORD": "not " + PASSWORD,
        "PROTOCOL": protocol,
    }
    process = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    lines: list[dict[str, Any]] = []

    async def read() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            lines.append(json.loads(line))

    reader = asyncio.get_running_loop().create_task(read())
    try:
        yield lines
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
        await reader


def calls(lines: list[dict[str, Any]], method: str) -> list[dict[str, Any]]:
    return [line["params"] for line in lines if line.get("event") == "call" and line["method"] == method]


def seen(lines: list[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]) -> bool:
    assert not [line for line in lines if line["event"] == "error"], lines
    return any(predicate(line) for line in lines)


@dataclass(frozen=True)
class Version:
    """Where each version puts what the test looks at."""

    protocol: str
    status: str  # what the charger reports with a car charging
    configured: Callable[[list[dict[str, Any]]], dict[str, str]]  # the meter set-up it was sent
    interval_key: str
    measurands_key: str
    profile: Callable[[dict[str, Any]], dict[str, Any]]  # SetChargingProfile params -> the profile
    schedule: Callable[[dict[str, Any]], dict[str, Any]]  # the profile -> its (first) schedule
    connector_key: str
    clear: dict[str, Any]


def _changed(lines: list[dict[str, Any]]) -> dict[str, str]:
    return {c["key"]: c["value"] for c in calls(lines, "ChangeConfiguration")}


def _variables(lines: list[dict[str, Any]]) -> dict[str, str]:
    data = [d for c in calls(lines, "SetVariables") for d in c["setVariableData"]]
    return {f"{d['component']['name']}.{d['variable']['name']}": d["attributeValue"] for d in data}


V16 = Version(
    protocol="ocpp1.6",
    status="Charging",
    configured=_changed,
    interval_key="MeterValueSampleInterval",
    measurands_key="MeterValuesSampledData",
    profile=lambda params: params["csChargingProfiles"],
    schedule=lambda profile: profile["chargingSchedule"],
    connector_key="connectorId",
    clear={"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1},
)
V201 = Version(
    protocol="ocpp2.0.1",
    status="Occupied",
    configured=_variables,
    interval_key="AlignedDataCtrlr.Interval",
    measurands_key="SampledDataCtrlr.TxUpdatedMeasurands",
    profile=lambda params: params["chargingProfile"],
    schedule=lambda profile: profile["chargingSchedule"][0],
    connector_key="evseId",
    clear={
        "chargingProfileCriteria": {
            "evseId": 1,
            "chargingProfilePurpose": "TxDefaultProfile",
            "stackLevel": 1,
        }
    },
)


@pytest.mark.parametrize("version", [V16, V201], ids=lambda v: v.protocol)
async def test_an_independent_charge_point_takes_the_drivers_commands_and_its_readings_come_back(
    mqtt_url: str, uid: str, node_modules: Path, version: Version
) -> None:
    clock = ScaledClock(START)
    async with (
        central_and_driver(mqtt_url, uid, clock) as (central, driver, states, _wiring),
        charge_point(central.url, f"cp-{uid}", node_modules, version.protocol) as lines,
    ):
        await until(lambda: seen(lines, lambda line: line["event"] == "readings_sent"), 30)
        assert lines[0] == {"event": "refused", "message": "Unauthorized"}  # HTTP 401
        assert lines[1] == {"event": "connected", "protocol": version.protocol}
        (boot,) = [line for line in lines if line["event"] == "boot"]
        assert boot["response"]["status"] == "Accepted"
        answered = {line["method"]: line["response"] for line in lines if line["event"] == "answered"}
        assert answered == {"DataTransfer": {"status": "UnknownVendorId"}, "FirmwareStatusNotification": {}}
        # the set-up after its boot: meter values, and the permanent profile at full power
        await until(
            lambda: any(version.profile(p)["stackLevel"] == 0 for p in calls(lines, "SetChargingProfile"))
        )
        configured = version.configured(lines)
        assert configured[version.interval_key] == "60"
        assert "Power.Active.Import" in configured[version.measurands_key]
        # its readings are the driver's state
        await until(lambda: any("energy_wh" in s for s in states.states))
        state = next(s for s in reversed(states.states) if "energy_wh" in s)
        assert (state["power_w"], state["energy_wh"], state["soc"]) == (3680, 12345, 0.42)
        assert state["plugged"] is True and state["status"] == version.status

        expires = clock.now() + timedelta(minutes=30)
        assert await driver.send({"max_power_w": 3000}, expires) == 1
        (command,) = [p for p in calls(lines, "SetChargingProfile") if version.profile(p)["stackLevel"] == 1]
        profile = version.profile(command)
        assert command[version.connector_key] == 1
        assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
        assert profile["validTo"] == iso(expires)  # the expiry, handed to the charger
        schedule = version.schedule(profile)
        assert schedule["chargingRateUnit"] == "W"
        assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 3000, "numberPhases": 1}]
        await until(lambda: any(s.get("limit_w") == 3000 for s in states.states))  # its composite schedule

        await driver.send({"max_power_w": None}, None)
        (clear,) = calls(lines, "ClearChargingProfile")
        assert clear == version.clear
