"""The OCPP central system and driver over real websockets on loopback, against the simulated charge point:
who is let in, the set-up after every boot, commands in W and A, refusals, expiry on the charger's own
clock with no central system left, a charger that takes stack level 0 only, reconnection, faults, and the
readings that come back."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ocpp.v16 import call
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from homeflex.core import topics
from homeflex.core.clock import ManualClock, ScaledClock
from homeflex.core.strict import ConfigError
from homeflex.core.timeutil import LONDON
from homeflex.drivers import DRIVERS, DeviceRefused, DeviceUnreachable, driver_services
from homeflex.drivers.ocpp_central import CentralSettings, CentralSystem
from homeflex.mqtt import MqttSession
from homeflex.settings import load_settings
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.ev import EvCharger, Session
from homeflex.sim.physics.weather import LondonWeather
from tests.drivers.rigs.ocpp import (
    PASSWORD,
    Charger,
    base_profile_set,
    central_and_driver,
    ev_household,
    limit,
    plugged_in,
    until,
)
from tests.pki import Pki

START = datetime(2026, 12, 2, 18, 0, tzinfo=LONDON)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def handshake(url: str, headers: dict[str, str], subprotocols: list[str] | None = None) -> int:
    """The HTTP status the central system answers a charger's handshake with (101: let in)."""
    try:
        async with connect(
            url,
            subprotocols=subprotocols or ["ocpp1.6"],
            additional_headers=headers,  # type: ignore[list-item]
            proxy=None,
        ):
            return 101
    except InvalidStatus as err:
        return err.response.status_code


async def test_only_a_registered_charge_point_with_its_password_is_let_in(
    mqtt_url: str, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "homeflex.drivers.ocpp_central")
    async with central_and_driver(mqtt_url, uid, ScaledClock(START)) as (central, _driver, _seen, _wiring):
        me = f"cp-{uid}"
        for _ in range(3):  # a refused charger retries: said once
            assert await handshake(f"{central.url}/stranger", basic("stranger", PASSWORD)) == 404
            assert await handshake(f"{central.url}/{me}", basic(me, "wrong")) == 401
        assert await handshake(f"{central.url}/{me}", {}) == 401
        assert (
            await handshake(f"{central.url}/{me}", basic("stranger", PASSWORD)) == 401
        )  # someone else's name
        assert await handshake(f"{central.url}/{me}", basic(me, PASSWORD), subprotocols=["ocpp1.5"]) == 400
        assert await handshake(f"{central.url}/{me}", basic(me, PASSWORD)) == 101
        refusals = [r.getMessage() for r in caplog.records if "refused charge point" in r.getMessage()]
        assert len([m for m in refusals if "stranger" in m]) == 1, refusals
        assert len([m for m in refusals if me in m]) == 1, refusals


async def test_every_boot_sets_the_charger_up_again_with_the_command_in_force(
    mqtt_url: str, uid: str
) -> None:
    clock = ScaledClock(START)
    async with central_and_driver(mqtt_url, uid, clock, meter_interval_s=30) as (
        _central,
        driver,
        _seen,
        wiring,
    ):
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, wiring)
        endpoint = await charger.start()
        await until(lambda: base_profile_set(endpoint))
        assert endpoint.config["MeterValueSampleInterval"] == "30"
        assert set(endpoint.config["MeterValuesSampledData"].split(",")) == {
            "Power.Active.Import",
            "Energy.Active.Import.Register",
            "SoC",
        }
        await driver.send({"max_power_w": 3000}, clock.now() + timedelta(hours=1))
        await charger.stop()  # a reboot: the charger forgets its profiles and configuration
        rebooted = await charger.start()
        assert rebooted is not endpoint and not rebooted.stack.profiles
        await until(lambda: base_profile_set(rebooted) and limit(charger.household) == 3000)
        assert rebooted.config["MeterValueSampleInterval"] == "30"
        await charger.stop()


async def test_a_command_in_amps_and_the_composite_schedule_read_back(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START)
    async with central_and_driver(mqtt_url, uid, clock, unit="A") as (_central, driver, seen, wiring):
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, wiring)
        endpoint = await charger.start()
        await until(lambda: base_profile_set(endpoint))
        await driver.send({"max_power_w": 3000}, clock.now() + timedelta(hours=1))
        (command,) = [p for p in endpoint.stack.profiles if p.stack_level == 1]
        assert command.unit == "A" and command.periods[0].limit == 13.0  # 13 A x 230 V <= 3000 W
        assert limit(charger.household) == 2990
        await until(lambda: any(s.get("limit_w") == 2990 for s in seen.states))
        await driver.send({"max_power_w": None}, None)  # back to the charger's own behaviour
        assert limit(charger.household) is None
        assert [p.stack_level for p in endpoint.stack.profiles] == [0]
        await charger.stop()


async def test_a_profile_the_charger_rejects_is_refused(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START)
    async with central_and_driver(mqtt_url, uid, clock, stack_level=9) as (_central, driver, _seen, wiring):
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, wiring)
        endpoint = await charger.start()
        await until(lambda: base_profile_set(endpoint))
        with pytest.raises(DeviceRefused, match="Rejected"):  # above its ChargeProfileMaxStackLevel (8)
            await driver.send({"max_power_w": 3000}, clock.now() + timedelta(hours=1))
        assert limit(charger.household) is None
        await charger.stop()


async def test_the_command_expires_on_the_chargers_clock_with_no_central_system(
    mqtt_url: str, uid: str
) -> None:
    clock = ManualClock(START)
    async with central_and_driver(mqtt_url, uid, clock) as (_central, driver, _seen, wiring):
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, wiring)
        endpoint = await charger.start()
        await until(lambda: base_profile_set(endpoint))
        await driver.send({"max_power_w": 3000}, clock.now() + timedelta(minutes=15))
        assert limit(charger.household) == 3000
    # the central system and the driver are gone; the charger keeps its profiles and its own clock
    await clock.advance(14 * 60)
    assert limit(charger.household) == 3000
    await clock.advance(61)
    await until(lambda: limit(charger.household) is None)
    assert [p.stack_level for p in endpoint.stack.profiles] == [0]  # the permanent one stays
    await charger.stop()


async def test_a_charger_that_takes_stack_level_0_only(mqtt_url: str, uid: str) -> None:
    """ABB Terra AC, Wallbox FW5: anything above level 0 is rejected, so the driver's usual command (at
    level 1, over a permanent profile at 0) cannot be written; with ``stack_level_0_only`` the command
    goes at level 0 with its expiry, and when it runs out the charger is back to its own full power."""
    clock = ManualClock(START)
    async with central_and_driver(mqtt_url, uid, clock) as (_central, driver, _seen, wiring):
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, {**wiring, "max_stack_level": 0})
        endpoint = await charger.start()
        await until(lambda: base_profile_set(endpoint))
        with pytest.raises(DeviceRefused, match="Rejected"):
            await driver.send({"max_power_w": 3000}, clock.now() + timedelta(minutes=15))
        assert limit(charger.household) is None
        await charger.stop()
    async with central_and_driver(mqtt_url, uid, clock, stack_level_0_only=True, meter_interval_s=30) as (
        _central,
        driver,
        seen,
        wiring,
    ):
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, {**wiring, "max_stack_level": 0})
        endpoint = await charger.start()
        await until(lambda: endpoint.config["MeterValueSampleInterval"] == "30")  # set up after its boot
        assert not endpoint.stack.profiles  # no permanent profile: it would be replaced by each command
        await driver.send({"max_power_w": 3000}, clock.now() + timedelta(minutes=15))
        (command,) = endpoint.stack.profiles
        assert command.stack_level == 0 and command.valid_to == clock.now() + timedelta(minutes=15)
        assert limit(charger.household) == 3000
        await until(lambda: any(s.get("limit_w") == 3000 for s in seen.states))
        await driver.send({"max_power_w": None}, None)  # back to its own behaviour: nothing left
        assert not endpoint.stack.profiles and limit(charger.household) is None
        await driver.send({"max_power_w": 2000}, clock.now() + timedelta(minutes=15))
    # The central system and the driver are gone: the command expires on the charger's own clock.
    await clock.advance(14 * 60)
    assert limit(charger.household) == 2000
    await clock.advance(61)
    await until(lambda: limit(charger.household) is None)
    assert not endpoint.stack.profiles  # the fail-safe: no profile, the charger's own full power
    await charger.stop()


async def test_a_wallbox_takes_relative_profiles_at_level_0_only(mqtt_url: str, uid: str) -> None:
    """Wallbox FW5 also rejects Absolute profiles: ``profile_kind = "Relative"`` sends the same limit
    as a Relative profile (no startSchedule), in force at once and read back."""
    clock = ScaledClock(START)
    wallbox = {"max_stack_level": 0, "relative_only": True}
    async with central_and_driver(mqtt_url, uid, clock, stack_level_0_only=True, meter_interval_s=30) as (
        _central,
        driver,
        _seen,
        wiring,
    ):
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, {**wiring, **wallbox})
        endpoint = await charger.start()
        await until(lambda: endpoint.config["MeterValueSampleInterval"] == "30")
        with pytest.raises(DeviceRefused, match="Rejected"):
            await driver.send({"max_power_w": 3000}, clock.now() + timedelta(minutes=15))
        await charger.stop()
    async with central_and_driver(
        mqtt_url, uid, clock, stack_level_0_only=True, profile_kind="Relative", meter_interval_s=30
    ) as (_central, driver, seen, wiring):
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, {**wiring, **wallbox})
        endpoint = await charger.start()
        await until(lambda: endpoint.config["MeterValueSampleInterval"] == "30")
        await driver.send({"max_power_w": 3000}, clock.now() + timedelta(minutes=15))
        (command,) = endpoint.stack.profiles
        assert command.stack_level == 0 and limit(charger.household) == 3000
        await until(lambda: any(s.get("limit_w") == 3000 for s in seen.states))
        await charger.stop()


async def test_the_charger_reconnects_when_the_central_system_comes_back(
    mqtt_url: str, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ScaledClock(START)
    caplog.set_level(logging.INFO, "homeflex.sim.protocols.ocpp")
    async with central_and_driver(mqtt_url, uid, clock) as (central, _driver, seen, wiring):
        port = central.port
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, wiring)
        endpoint = await charger.start()
        await until(lambda: endpoint.boots == 1)
    assert seen.availability == [(True, "connected")]  # a stopped driver hears no more
    await until(lambda: not endpoint.connected.is_set())
    settings = CentralSettings(port=port, response_timeout_s=2.0)
    async with central_and_driver(mqtt_url, uid, clock, settings=settings) as (_c, _d, seen_again, _w):
        await until(lambda: endpoint.boots == 2 and base_profile_set(endpoint), 20)
        assert seen_again.availability == [(True, "connected")]
        lost = [r for r in caplog.records if "no central system" in r.getMessage()]
        assert len(lost) == 1  # said once, however many tries it took
        assert any("connected to the central system again" in r.getMessage() for r in caplog.records)
    await charger.stop()


async def test_a_fault_makes_the_charger_unavailable_once_and_readings_come_back(
    mqtt_url: str, uid: str
) -> None:
    clock = ScaledClock(START, 60.0)  # meter values every 60 s of its clock: one a second
    async with (
        central_and_driver(mqtt_url, uid, clock) as (_central, _driver, seen, wiring),
        MqttSession(mqtt_url, f"watch-{uid}") as watcher,
    ):
        retained: list[dict[str, object]] = []
        watcher.subscribe(topics.state(f"ocpp{uid}", "ev"), lambda _t, p: retained.append(json.loads(p)))
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, wiring)
        endpoint = await charger.start()
        await until(lambda: any("energy_wh" in s and "soc" in s for s in seen.states))
        state = next(s for s in reversed(seen.states) if "energy_wh" in s)
        assert state["plugged"] is True and state["status"] == "Charging" and state["power_w"] > 0
        assert 0 < state["soc"] < 1
        await until(lambda: any("energy_wh" in s for s in retained))  # the device state, retained
        assert endpoint._cp is not None
        for status in ("Faulted", "Faulted", "Charging"):
            await endpoint._cp.call(
                call.StatusNotification(connector_id=1, error_code="GroundFailure", status=status)
            )
        assert [up for up, _ in seen.availability] == [True, False, True]
        await charger.stop()


async def test_the_central_system_is_the_ocpp_drivers_service() -> None:
    settings = load_settings(path=None, env={}, ocpp_port=0)
    async with driver_services(["ocpp", "homeflex"], settings) as services:
        central = services["ocpp"]
        assert isinstance(central, CentralSystem) and central.port > 0
        assert await handshake(f"{central.url}/nobody", {}) == 404


def test_the_address_is_strict() -> None:
    info = DRIVERS.get("ocpp")
    address = info.parse({"charge_point_id": "CP1", "password_env": "CP1_KEY", "unit": "A", "phases": 3})
    assert address.unit == "A" and address.connector_id == 1
    with pytest.raises(ConfigError, match=r"valid: .*charge_point_id"):
        info.parse({"charge_point_id": "CP1", "password": "x", "amps": 16})
    with pytest.raises(ConfigError, match="one of password and password_env"):
        info.parse({"charge_point_id": "CP1", "password": "x", "password_env": "Y"})
    with pytest.raises(ConfigError, match="unit"):
        info.parse({"charge_point_id": "CP1", "password": "x", "unit": "kW"})
    with pytest.raises(ConfigError, match="charge_point_id"):
        info.parse({"charge_point_id": "a/b", "password": "x"})
    with pytest.raises(ConfigError, match="stack_level"):
        info.parse({"charge_point_id": "CP1", "password": "x", "stack_level": 0})
    with pytest.raises(ConfigError, match="profile_kind"):
        info.parse({"charge_point_id": "CP1", "password": "x", "profile_kind": "Recurring"})
    with pytest.raises(ConfigError, match="stack_level_0_only puts the commands at level 0"):
        info.parse({"charge_point_id": "CP1", "password": "x", "stack_level_0_only": True, "stack_level": 2})


async def test_security_profile_2_is_basic_auth_over_tls(mqtt_url: str, uid: str, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    tls = CentralSettings(
        port=0, response_timeout_s=2.0, tls_cert=str(pki.vtn_tls.cert), tls_key=str(pki.vtn_tls.key)
    )
    clock = ScaledClock(START)
    async with central_and_driver(mqtt_url, uid, clock, settings=tls) as (central, _driver, seen, wiring):
        assert central.url.startswith("wss://127.0.0.1:")
        charger = Charger(ev_household(f"ocpp{uid}"), clock, mqtt_url, {**wiring, "ca": str(pki.ca_file)})
        endpoint = await charger.start()
        await until(lambda: base_profile_set(endpoint))
        assert seen.availability == [(True, "connected")]
        plain = central.url.replace("wss://", "ws://")
        with pytest.raises((InvalidMessage, OSError)):  # no TLS, no handshake
            await handshake(f"{plain}/cp-{uid}", basic(f"cp-{uid}", PASSWORD))
        await charger.stop()


async def test_the_car_coming_and_going_is_a_status_notification(mqtt_url: str, uid: str) -> None:
    clock = ScaledClock(START)
    here = {"car": True}

    def sessions(now: datetime) -> Session | None:
        return plugged_in(now) if here["car"] else None

    household = SimHousehold(
        f"ocpp{uid}",
        base_load=BaseLoad(seed=5),
        weather=LondonWeather(seed=5),
        devices={"ev": EvCharger(sessions=sessions)},
    )
    async with central_and_driver(mqtt_url, uid, clock) as (_central, _driver, seen, wiring):
        charger = Charger(household, clock, mqtt_url, wiring)
        endpoint = await charger.start()
        await until(lambda: seen.states and seen.states[-1]["plugged"])
        here["car"] = False
        household.advance_to(clock.now() + timedelta(seconds=1))
        await endpoint.publish_state()  # the simulator's state tick
        await until(lambda: seen.states[-1]["status"] == "Available")
        assert seen.states[-1]["plugged"] is False
        here["car"] = True
        household.advance_to(clock.now() + timedelta(seconds=2))
        await endpoint.publish_state()
        await until(lambda: seen.states[-1]["plugged"])
        assert seen.states[-1]["status"] in ("Charging", "SuspendedEV")
        await charger.stop()


async def test_a_charger_that_does_not_answer_is_unreachable_and_a_call_error_is_a_refusal(
    mqtt_url: str, uid: str
) -> None:
    """A bare websocket client as the charger: first silent, then answering every CALL with a CALLERROR."""
    clock = ScaledClock(START)
    quick = CentralSettings(port=0, response_timeout_s=0.5)
    async with central_and_driver(mqtt_url, uid, clock, settings=quick) as (central, driver, _seen, _wiring):
        me = f"cp-{uid}"
        async with connect(
            f"{central.url}/{me}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic(me, PASSWORD),
            proxy=None,
        ) as charger:
            await until(lambda: central.is_connected(me))
            with pytest.raises(DeviceUnreachable, match="did not answer"):
                await driver.send({"max_power_w": 3000}, clock.now() + timedelta(hours=1))
            [_, _, action, _] = json.loads(await charger.recv())  # it got the CALL, and kept quiet
            assert action == "SetChargingProfile"

            async def refuse() -> None:
                _, call_id, _, _ = json.loads(await charger.recv())
                await charger.send(json.dumps([4, call_id, "NotSupported", "no smart charging here", {}]))

            refusing = asyncio.get_running_loop().create_task(refuse())
            with pytest.raises(DeviceRefused, match="no smart charging here"):
                await driver.send({"max_power_w": 3000}, clock.now() + timedelta(hours=1))
            await refusing
