"""Shared builders and hypothesis strategies for the household control core tests: random device mixes,
vulnerable or not, random device states and random tariffs (flat, two-rate, three-rate, dynamic)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import strategies as st

from homeflex.control.dispatch import max_draw_w
from homeflex.control.forecast import Forecast, ProfileForecast
from homeflex.control.planner.thermal import cop_series
from homeflex.control.schedule import (
    STEP_H,
    Schedule,
    build_problem,
    horizon_start,
    make_schedule,
    max_import_kw,
    n_steps,
)
from homeflex.control.setup import HouseholdSetup
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, FlexEvent, HouseholdSpec, Stage
from homeflex.core.household import Equipment, Preferences
from homeflex.core.timeutil import PERIOD
from homeflex.tariffs import tariff_from_config

States = dict[str, dict[str, Any]]
WINTER_EVENING = datetime(2026, 1, 14, 18, 10, tzinfo=UTC)
# Clock-change Sundays in the UK, 2026: 29 March (23 h) and 25 October (25 h).
SPRING_FORWARD = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
FALL_BACK = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)

EV = DeviceSpec(id="ev", kind=DeviceKind.EV_CHARGER, max_power_w=7400)
HP = DeviceSpec(id="hp", kind=DeviceKind.HEAT_PUMP, max_power_w=3000)
BATTERY = DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000)
PV = DeviceSpec(id="pv", kind=DeviceKind.PV, max_power_w=4000)
PLUG = DeviceSpec(id="plug", kind=DeviceKind.SMART_PLUG, max_power_w=2000)
ALL = (EV, HP, BATTERY, PV, PLUG)


def household(
    *devices: DeviceSpec, vulnerable: bool = False, max_import_w: float = 23_000.0, stage: Stage = Stage.FLEX
) -> HouseholdSpec:
    return HouseholdSpec(
        id="hh1",
        category=Category.B,
        stage=stage,
        devices=devices,
        vulnerable=vulnerable,
        max_import_w=max_import_w,
    )


def setup(tariff: Mapping[str, Any] | None = None, **prefs: Any) -> HouseholdSetup:
    return HouseholdSetup.from_config({"preferences": prefs, "tariff": tariff or {"type": "flat"}})


def states(
    *,
    plugged: bool = True,
    ev_soc: float = 0.3,
    target_soc: float = 0.8,
    indoor_c: float = 20.0,
    outdoor_c: float = 3.0,
    battery_soc: float = 0.5,
    meter_w: float = 500.0,
) -> States:
    return {
        "ev": {"plugged": plugged, "soc": ev_soc, "target_soc": target_soc, "power_w": 0.0},
        "hp": {"indoor_c": indoor_c, "outdoor_c": outdoor_c, "power_w": 0.0},
        "battery": {"soc": battery_soc, "power_w": 0.0},
        "meter": {"power_w": meter_w},
    }


def constant_weather(outdoor_c: float, pv_kw: float = 0.0) -> ProfileForecast:
    return ProfileForecast(profile=None, outdoor_c=lambda _: outdoor_c, pv_kw=lambda _: pv_kw)


def forecast_at(source: ProfileForecast, now: datetime) -> Forecast:
    return source.forecast(horizon_start(now), n_steps(), STEP_H)


def schedule_for(
    spec: HouseholdSpec,
    hs: HouseholdSetup,
    st_: Mapping[str, Mapping[str, Any]],
    now: datetime,
    weather: ProfileForecast | None = None,
) -> Schedule:
    fc = forecast_at(weather or constant_weather(3.0), now)
    return make_schedule(build_problem(spec, hs, fc, st_, now))


def flex_event(
    start: datetime, minutes: float = 60, reduction_w: float = 1500, event_id: str = "e1"
) -> FlexEvent:
    return FlexEvent(
        event_id=event_id,
        modification_number=0,
        start=start,
        duration=timedelta(minutes=minutes),
        reduction_w=reduction_w,
        price_gbp_per_mwh=1000.0,
    )


def limit_w(spec: HouseholdSpec, hs: HouseholdSetup) -> float:
    return 1000 * max_import_kw(spec, hs)


def flexible_draw_w(spec: HouseholdSpec, settings: Mapping[str, dict[str, Any]]) -> float:
    """What the EV and battery charging may draw: the loads the import limit can cut."""
    flexible = tuple(d for d in spec.devices if d.kind in (DeviceKind.EV_CHARGER, DeviceKind.BATTERY))
    return max_draw_w(household(*flexible), settings)


# --- strategies ------------------------------------------------------------------------------------


price = st.floats(0.02, 0.6, allow_nan=False)
hour = st.integers(0, 47).map(lambda h: h / 2)


@st.composite
def tariff_configs(draw: st.DrawFn, now: datetime = WINTER_EVENING) -> dict[str, Any]:
    """A random tariff of every registered type, with random prices (export may exceed import)."""
    kind = draw(st.sampled_from(["flat", "two_rate", "three_rate", "dynamic"]))
    export = draw(st.floats(0.0, 0.4))
    if kind == "flat":
        return {"type": kind, "import_gbp_per_kwh": draw(price), "export_gbp_per_kwh": export}
    if kind == "dynamic":
        first = horizon_start(now) - timedelta(hours=draw(st.integers(0, 12)))
        count = draw(st.integers(1, 96))
        values = draw(st.lists(st.floats(-0.2, 1.0), min_size=count, max_size=count))
        prices = {first + i * PERIOD: v for i, v in enumerate(values)}
        return {"type": kind, "prices": prices, "export_gbp_per_kwh": export}
    night = draw(hour)
    config: dict[str, Any] = {
        "type": kind,
        "day_gbp_per_kwh": draw(price),
        "night_gbp_per_kwh": draw(price),
        "night_hours": (night, (night + draw(st.integers(1, 16)) / 2) % 24),
        "export_gbp_per_kwh": export,
    }
    if kind == "three_rate":
        peak = draw(hour)
        config |= {"peak_gbp_per_kwh": draw(price), "peak_hours": (peak, (peak + 3) % 24)}
    return config


@dataclass(frozen=True, kw_only=True)
class Case:
    """One random household at one moment: what the control core is given."""

    spec: HouseholdSpec
    setup: HouseholdSetup
    weather: ProfileForecast
    states: States
    now: datetime
    outdoor_c: float = 5.0

    def schedule(self) -> Schedule:
        return schedule_for(self.spec, self.setup, self.states, self.now, self.weather)


def sized_heat_pump_w(hs: HouseholdSetup, outdoor_c: float) -> float:
    """A heat pump just able to hold the top of the comfort band in this weather (W)."""
    b = hs.equipment.building
    worst = b.htc_w_per_k / 1000 * (hs.preferences.comfort_max_c + 1 - outdoor_c)
    cop = float(cop_series(hs.equipment.heat_pump, np.array([outdoor_c]))[0])
    return 1000 * max(0.5, 1.2 * worst / cop)


@st.composite
def cases(
    draw: st.DrawFn,
    *,
    kinds: tuple[DeviceKind, ...] | None = None,
    vulnerable: bool | None = None,
    indoor_in_band: bool = False,
    hp_able: bool = False,
    low_import: bool | None = None,
) -> Case:
    """A random household: device mix, vulnerability, preferences, tariff, weather, states and time.

    ``indoor_in_band``: the house starts inside its (vulnerable) comfort band. ``hp_able``: the heat
    pump can hold the band in this weather and the supply can carry it."""
    now = draw(st.sampled_from([WINTER_EVENING, SPRING_FORWARD, FALL_BACK]))
    now += timedelta(minutes=draw(st.integers(0, 24 * 60 - 1)))
    outdoor = draw(st.floats(-5.0, 15.0))
    if kinds is None:
        kinds = tuple(k for k in DeviceKind if draw(st.booleans()))
    vuln = draw(st.booleans()) if vulnerable is None else vulnerable
    comfort_min = draw(st.floats(17.0, 20.0))
    prefs: dict[str, Any] = {
        "ev_ready_by_h": draw(st.integers(0, 95)) / 4,
        "ev_target_soc": draw(st.floats(0.5, 1.0)),
        "comfort_min_c": comfort_min,
        "comfort_max_c": comfort_min + draw(st.floats(1.0, 4.0)),
        "battery_reserve_soc": draw(st.floats(0.0, 0.3)),
        "vulnerable_margin_c": draw(st.floats(0.0, 1.0)),
    }
    low = draw(st.booleans()) if low_import is None else low_import
    if low:
        prefs["max_import_kw"] = draw(st.floats(1.0, 8.0))
    hs = HouseholdSetup(
        preferences=Preferences(**prefs),
        equipment=Equipment(),
        tariff=tariff_from_config(draw(tariff_configs(now))),
    )
    hp_w = sized_heat_pump_w(hs, outdoor) if hp_able else draw(st.floats(800, 5000))
    limits = {
        DeviceKind.EV_CHARGER: draw(st.sampled_from([3680.0, 7400.0, 11000.0])),
        DeviceKind.HEAT_PUMP: hp_w,
        DeviceKind.BATTERY: draw(st.floats(2500, 5000)),
        DeviceKind.PV: draw(st.floats(1000, 5000)),
        DeviceKind.SMART_PLUG: draw(st.floats(300, 3000)),
    }
    ids = {DeviceKind.EV_CHARGER: "ev", DeviceKind.HEAT_PUMP: "hp", DeviceKind.BATTERY: "battery"}
    devices = tuple(DeviceSpec(id=ids.get(k, k.value), kind=k, max_power_w=round(limits[k])) for k in kinds)
    spec = household(*devices, vulnerable=vuln)
    floor = hs.preferences.comfort_min_c + (hs.preferences.vulnerable_margin_c if vuln else 0.0)
    ceiling = max(hs.preferences.comfort_max_c, floor + 0.5)
    indoor = draw(st.floats(floor + 0.05, ceiling - 0.05) if indoor_in_band else st.floats(12.0, 24.0))
    sts: States = {
        "ev": {
            "plugged": draw(st.booleans()),
            "soc": draw(st.floats(0.0, 1.0)),
            "target_soc": draw(st.sampled_from([0.8, 1.0, 0.6])),
            "power_w": 0.0,
        },
        "hp": {"indoor_c": indoor, "outdoor_c": outdoor, "power_w": draw(st.floats(0, 3000))},
        "battery": {"soc": draw(st.floats(0.0, 1.0)), "power_w": draw(st.floats(-3000, 3000))},
        "meter": {"power_w": draw(st.floats(-3000, 8000))},
    }
    pv_peak = draw(st.floats(0.0, 4.0))
    weather = ProfileForecast(
        profile=None,
        outdoor_c=lambda t: outdoor + 2.0 * math.sin(2 * math.pi * (t.hour - 9) / 24),
        pv_kw=lambda t: (
            pv_peak * max(0.0, math.sin(math.pi * (t.hour - 7) / 10)) if 7 <= t.hour < 17 else 0.0
        ),
    )
    return Case(spec=spec, setup=hs, weather=weather, states=sts, now=now, outdoor_c=outdoor)


def random_events(now: datetime) -> st.SearchStrategy[FlexEvent]:
    """An event starting within the next few hours, 30 min to 3 h long, up to 8 kW."""
    return st.builds(
        flex_event,
        start=st.integers(1, 12).map(lambda k: horizon_start(now) + k * PERIOD),
        minutes=st.sampled_from([30, 60, 90, 120, 180]),
        reduction_w=st.floats(200, 8000),
    )


# --- checks ---------------------------------------------------------------------------------------


def check_settings(case: Case, schedule: Schedule, got: dict[str, dict[str, Any]]) -> None:
    spec = case.spec
    assert set(got) == {d.id for d in spec.devices}  # one command per device
    for device in spec.devices:
        s, limit = got[device.id], device.max_power_w
        if device.kind is DeviceKind.EV_CHARGER:
            assert s["max_power_w"] is None or 0 <= s["max_power_w"] <= limit
        elif device.kind is DeviceKind.BATTERY:
            assert s["power_w"] is None or abs(s["power_w"]) <= limit
        elif device.kind is DeviceKind.PV:
            assert s["export_limit_w"] is None or 0 <= s["export_limit_w"] <= limit
        elif device.kind is DeviceKind.SMART_PLUG:
            assert s["on"] in (None, False)
        elif device.kind is DeviceKind.HEAT_PUMP:
            check_heat_pump(case, schedule, s)
    # The import limit: the devices together fit, or every load it can cut is cut.
    assert max_draw_w(spec, got) <= limit_w(spec, case.setup) + 1 or flexible_draw_w(spec, got) == 0


def check_heat_pump(case: Case, schedule: Schedule, s: dict[str, Any]) -> None:
    hp = case.spec.device(DeviceKind.HEAT_PUMP)
    assert hp is not None
    cap = s["max_power_w"]
    assert cap is None or 0 <= cap <= hp.max_power_w
    if case.spec.vulnerable:
        assert cap is None  # never capped
    heating = schedule.problem.heating if schedule.ok else None
    if heating is None:  # left to its own thermostat
        assert s == {"setpoint_c": None, "max_power_w": None}
        return
    floor, ceiling = heating.comfort.min_c, heating.comfort.max_c
    # 1e-9: a band of 17.999999999999996-18.999999999999996 °C sets 19.0 at the thermostat's 0.1 °C
    assert floor - 1e-9 <= s["setpoint_c"] <= ceiling + 1e-9
    if case.states["hp"]["indoor_c"] < floor:  # below the floor: heat, whatever the plan
        assert s["setpoint_c"] > floor
        assert cap is None
