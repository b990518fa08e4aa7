"""`homeflex ven`, the household agent, as a user runs it: its configuration from the broker or a file,
a clear error (exit 2, no traceback) when there is none or it is invalid, and never the simulator."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from homeflex.control.setup import HouseholdSetup
from homeflex.core import topics
from homeflex.household import load_config_file
from homeflex.mqtt import MqttSession

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "household.example.toml"

# Runs `homeflex ...` with an import guard: any import of homeflex.sim ends the process with code 3.
GUARDED = """
import os, sys
class Guard:
    def find_spec(self, name, path=None, target=None):
        if name == "homeflex.sim" or name.startswith("homeflex.sim."):
            sys.stderr.write(f"IMPORTED {name}\\n")
            sys.stderr.flush()
            os._exit(3)
        return None
sys.meta_path.insert(0, Guard())
from homeflex.cli import main
sys.exit(main(sys.argv[1:]))
"""


async def _homeflex(mqtt_url: str, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "HOMEFLEX_MQTT_URL": mqtt_url, "HOMEFLEX_VTN_URL": "http://127.0.0.1:9"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        GUARDED,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _finished(mqtt_url: str, *args: str) -> tuple[int, str]:
    proc = await _homeflex(mqtt_url, *args)
    async with asyncio.timeout(60):
        _, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, err.decode()


def test_the_example_file_for_self_installers_parses() -> None:
    config = load_config_file(EXAMPLE)
    assert config.household_id == "hh-self-1" and [d.id for d in config.devices] == ["ev", "washer", "dryer"]
    assert [d.protocol for d in config.devices] == ["ocpp", "shelly", "homeflex"]
    assert config.device("ev").address.charge_point_id == "WB-12345"
    assert config.device("dryer").address.device == "plug-kitchen"
    assert config.meter.protocol == "shelly_pro3em"
    assert config.preferences.ev_ready_by_h == 7.5 and HouseholdSetup.of(config).tariff.name == "two_rate"


async def test_no_configuration_on_the_broker_is_a_clear_error(mqtt_url: str, uid: str) -> None:
    code, err = await _finished(mqtt_url, "ven", "--household", f"hh-none-{uid}")
    assert code == 2, err
    assert (
        f"no configuration for household hh-none-{uid} on the broker: finish the smart energy profile in"
        " the portal, or give --config FILE"
    ) in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            'household_id = "h"\n[[devices]]\nid = "ev"\nkind = "ev_charger"\nmax_power_w = -1\n',
            "devices[0].max_power_w: must be a number of watts",
        ),
        (
            'household_id = "h"\n[[devices]]\nid = "ev"\nkind = "ev_charger"\nmax_power_w = 7400\n'
            'protocol = "telepathy"\n',
            "devices[0].protocol: unknown device protocol 'telepathy'",
        ),
        ('household_id = "h"\ncolour = "red"\n', "unknown keys ['colour']"),
        ('household_id = "h\n', "is not valid TOML"),
    ],
)
async def test_an_invalid_file_names_its_field(mqtt_url: str, tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "home.toml"
    path.write_text(text)
    code, err = await _finished(mqtt_url, "ven", "--config", str(path))
    assert code == 2, err
    assert "invalid household configuration" in err and says in err
    assert "Traceback" not in err


async def test_a_household_id_that_is_not_one_topic_level_is_refused(mqtt_url: str) -> None:
    code, err = await _finished(mqtt_url, "ven", "--household", "hh/#")
    assert code == 2 and "household id 'hh/#' must be" in err and "Traceback" not in err


@pytest.fixture
async def status(mqtt_url: str, uid: str) -> AsyncIterator[asyncio.Queue[bytes]]:
    """The status topic of household hh-self-<uid> (its control loop says "online" there)."""
    seen: asyncio.Queue[bytes] = asyncio.Queue()
    session = MqttSession(mqtt_url, f"watch-{uid}")
    session.subscribe(topics.status(f"hh-self-{uid}"), lambda _t, payload: seen.put_nowait(payload))
    async with session:
        yield seen
        await session.publish(topics.status(f"hh-self-{uid}"), b"", retain=True)  # a shared broker


async def test_the_agent_runs_from_a_file_without_importing_the_simulator(
    mqtt_url: str, status: asyncio.Queue[bytes], tmp_path: Path, uid: str
) -> None:
    path = tmp_path / "household.toml"
    path.write_text(EXAMPLE.read_text().replace('"hh-self-1"', f'"hh-self-{uid}"'))
    proc = await _homeflex(mqtt_url, "ven", "--config", str(path))
    try:
        async with asyncio.timeout(60):
            while await status.get() != b"online":
                pass
        assert proc.returncode is None  # running, its loop online: nothing imported homeflex.sim
    finally:
        if proc.returncode is None:
            proc.kill()
        _, err = await proc.communicate()
    assert "IMPORTED homeflex.sim" not in err.decode()
