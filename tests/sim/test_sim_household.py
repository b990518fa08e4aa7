from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.timeutil import LONDON
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery, BatteryParams
from homeflex.sim.physics.ev import EvCharger
from homeflex.sim.physics.heat_pump import HeatPump
from homeflex.sim.physics.pv import PvInverter
from homeflex.sim.physics.smart_plug import SmartPlug
from homeflex.sim.physics.solar import CloudyClearSky, PlaneSite
from homeflex.sim.physics.weather import LondonWeather

T0 = datetime(2026, 11, 24, tzinfo=UTC)


def everything(battery: bool = True) -> SimHousehold:
    devices = {
        "ev": EvCharger(seed=1),
        "heat_pump": HeatPump(),
        "pv": PvInverter(CloudyClearSky(PlaneSite(), seed=1)),
        "plug": SmartPlug(seed=1),
    }
    if battery:
        devices["battery"] = Battery()
    return SimHousehold("hh001", base_load=BaseLoad(seed=1), weather=LondonWeather(seed=1), devices=devices)


def test_registers_never_decrease_and_balance_the_net_power() -> None:
    hh = everything(battery=False)
    hh.advance_to(T0)
    last_import = last_export = 0.0
    net_wh = 0.0
    for minute in range(1, 2 * 24 * 60):
        hh.step(T0 + timedelta(minutes=minute), 60.0)
        assert hh.import_wh >= last_import
        assert hh.export_wh >= last_export
        last_import, last_export = hh.import_wh, hh.export_wh
        net_wh += hh.power_w / 60
    assert hh.import_wh - hh.export_wh == pytest.approx(net_wh)
    assert hh.import_wh > 20_000  # two November days with an EV and a heat pump


def test_battery_in_self_consumption_avoids_import_until_its_reserve() -> None:
    battery = Battery(BatteryParams(offpeak_hours=None), soc=0.2)
    hh = SimHousehold("hh001", base_load=BaseLoad(seed=1), weather=LondonWeather(), devices={"b": battery})
    hh.advance_to(T0)
    minute = 0
    while battery.soc > 0.1 + 1e-9:
        minute += 1
        hh.step(T0 + timedelta(minutes=minute), 60.0)
        if battery.soc > 0.1 + 1e-9:
            assert hh.power_w == pytest.approx(0.0, abs=1e-6)
    assert minute > 60  # 1.35 kWh against a few hundred watts of night load
    hh.step(T0 + timedelta(minutes=minute + 1), 60.0)
    assert hh.power_w > 0
    assert battery.power_w == 0.0


def test_battery_charges_on_the_offpeak_rate_by_default() -> None:
    battery = Battery(soc=0.2)
    hh = SimHousehold("hh001", base_load=BaseLoad(seed=1), weather=LondonWeather(), devices={"b": battery})
    night = datetime(2026, 11, 25, 0, 0, tzinfo=LONDON)
    hh.advance_to(night)
    hh.advance_to(night + timedelta(minutes=29))  # before 00:30: self-consumption, nothing to cover
    assert battery.soc < 0.2
    hh.advance_to(night + timedelta(hours=4, minutes=30))
    assert battery.soc == pytest.approx(0.9, abs=0.01)  # charged to its target, then stops
    hh.advance_to(night + timedelta(hours=6))
    assert battery.power_w <= 0  # after the window it covers the house again


def test_meter_reading_and_device_state_are_json_shaped() -> None:
    hh = everything()
    hh.advance_to(T0)
    hh.advance_to(T0 + timedelta(hours=19))
    reading = hh.meter_reading(T0 + timedelta(hours=19))
    assert reading["ts"] == "2026-11-24T19:00:00Z"
    assert set(reading) == {"ts", "import_wh", "export_wh", "power_w"}
    ev = hh.device_state("ev")
    assert ev["kind"] == "ev_charger"
    assert ev["settings"] == {"max_power_w": None}
    assert {"power_w", "plugged", "soc", "target_soc"} <= set(ev)
    assert {"indoor_c", "outdoor_c"} <= set(hh.device_state("heat_pump"))
    assert "soc" in hh.device_state("battery")
    assert hh.device_state("plug")["on"] is True


@pytest.mark.parametrize(
    ("device", "settings", "message"),
    [
        ("ev", {"speed": 3}, "unknown setting 'speed' (valid: max_power_w)"),
        ("ev", {"max_power_w": -1}, "max_power_w must be between 0 and 7400 W"),
        ("ev", {"max_power_w": 9000}, "max_power_w must be between 0 and 7400 W, got 9000"),
        ("ev", {"max_power_w": "fast"}, "max_power_w must be a number"),
        ("ev", {"max_power_w": True}, "max_power_w must be a number"),
        ("battery", {"power_w": -5001}, "power_w must be between -5000 and 5000 W"),
        ("heat_pump", {"setpoint_c": 45}, "setpoint_c must be between 5 and 30"),
        ("heat_pump", {"max_power_w": 4000}, "max_power_w must be between 0 and"),
        ("plug", {"on": 1}, "on must be true, false or null"),
        ("pv", {"export_limit_w": 5000}, "export_limit_w must be between 0 and 3680 W"),
        ("fridge", {}, "hh001 has no device 'fridge'"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(
    device: str, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        everything().apply(device, settings)


def test_settings_apply_all_or_nothing_and_reset_returns_to_default() -> None:
    hh = everything()
    with pytest.raises(ValueError, match="unknown setting"):
        hh.apply("heat_pump", {"setpoint_c": 18, "bogus": 1})
    assert hh.device_state("heat_pump")["settings"] == {"setpoint_c": None, "max_power_w": None}
    hh.apply("heat_pump", {"setpoint_c": 18, "max_power_w": 1500})
    assert hh.device_state("heat_pump")["settings"] == {"setpoint_c": 18.0, "max_power_w": 1500.0}
    hh.apply("heat_pump", {"setpoint_c": None})
    assert hh.device_state("heat_pump")["settings"] == {"setpoint_c": None, "max_power_w": 1500.0}
    hh.reset("heat_pump")
    assert hh.device_state("heat_pump")["settings"] == {"setpoint_c": None, "max_power_w": None}


def test_commanded_battery_power_shows_at_once_on_refresh() -> None:
    hh = everything()
    hh.advance_to(T0)
    hh.apply("battery", {"power_w": 2500})
    hh.refresh()
    assert hh.device_state("battery")["power_w"] == 2500.0
    before = hh.import_wh
    hh.refresh()
    assert hh.import_wh == before  # a refresh moves no energy
