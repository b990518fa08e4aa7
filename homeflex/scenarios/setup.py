"""What the platform would know of a simulated household: its setup (preferences, equipment, tariff as
entered in the smart energy profile) and a weather forecast. The forecast is the simulator's own weather
and sky (a perfect forecast); base load comes from the learned profile, never from the simulator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from homeflex.control.forecast import ProfileForecast
from homeflex.control.planner import Building, HeatPump
from homeflex.control.setup import Equipment, HouseholdSetup, Preferences
from homeflex.control.tariffs import TariffSource, tariff_from_config
from homeflex.control.tariffs.dynamic import agile_like_prices
from homeflex.core.timeutil import local_date
from homeflex.drivers import DRIVERS
from homeflex.household import DeviceConfig, HouseholdConfig, MeterConfig
from homeflex.profiles import HouseholdProfile
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.pv import PvInverter, ac_output_w
from homeflex.sim.population import SimHouseholdConfig

SETPOINT_MARGIN_C = 0.5  # the comfort band's floor sits this far below the thermostat's default


def tariff_for(config: SimHouseholdConfig, household: SimHousehold | None = None) -> TariffSource:
    """Households choose the tariff that suits their devices, as UK households do: an EV tariff for
    EV owners, a heat-pump tariff with a peak for heat pumps, Agile for PV and battery (its prices from
    the household's simulated day), else flat."""
    return tariff_at(config, household.time if household is not None else None)


def tariff_at(config: SimHouseholdConfig, now: datetime | None) -> TariffSource:
    """``tariff_for`` a household whose simulation stands at ``now`` (None: not started)."""
    return tariff_from_config(tariff_config_at(config, now))


def tariff_config_at(config: SimHouseholdConfig, now: datetime | None) -> dict[str, Any]:
    """The tariff as the household's configuration document holds it."""
    if config.ev is not None:
        return {"type": "two_rate"}
    if config.heat_pump is not None:
        return {"type": "three_rate", "night_hours": (4.0, 7.0)}
    if config.battery is not None and config.pv is not None and now is not None:
        return {"type": "dynamic", "prices": agile_like_prices(local_date(now), 14, seed=config.seed)}
    return {"type": "flat"}


def setup_for(
    config: SimHouseholdConfig, household: SimHousehold | None = None, *, now: datetime | None = None
) -> HouseholdSetup:
    """What the platform knows of the household; ``now`` (else the household's time) dates the tariff."""
    equipment, prefs = Equipment(), Preferences()
    if config.ev is not None:
        ev = config.ev
        equipment = replace(equipment, ev_capacity_kwh=ev.capacity_wh / 1000, ev_efficiency=ev.eta)
        prefs = replace(prefs, ev_ready_by_h=ev.departure_h[0], ev_target_soc=ev.target_soc)
    if config.battery is not None:
        b = config.battery
        equipment = replace(equipment, battery_capacity_kwh=b.capacity_wh / 1000, battery_round_trip=b.eta_rt)
    if config.heat_pump is not None:
        hp = config.heat_pump
        (cold, flow_cold), (mild, flow_mild) = hp.flow_curve
        building = Building(
            htc_w_per_k=hp.htc_w_per_k,
            capacity_kwh_per_k=hp.htc_w_per_k * hp.tau_h / 1000,
            internal_gains_kw=hp.gains_w / 1000,
        )
        pump = HeatPump(
            max_thermal_kw=hp.q_max_w / 1000,
            min_thermal_kw=hp.q_min_fraction * hp.q_max_w / 1000,
            flow_c_at_cold=flow_cold,
            cold_outdoor_c=cold,
            flow_c_at_mild=flow_mild,
            mild_outdoor_c=mild,
        )
        equipment = replace(equipment, building=building, heat_pump=pump)
        floor = hp.setpoint_c - SETPOINT_MARGIN_C
        prefs = replace(prefs, comfort_min_c=floor, comfort_max_c=floor + 3.0)
    return HouseholdSetup(
        preferences=prefs,
        equipment=equipment,
        tariff=tariff_at(config, now or (household.time if household is not None else None)),
    )


def household_config_for(
    config: SimHouseholdConfig,
    household: SimHousehold | None = None,
    *,
    now: datetime | None = None,
    wiring: Mapping[str, Mapping[str, Any]] | None = None,
) -> HouseholdConfig:
    """The configuration document of a simulated household, as the portal would hold it for a real one:
    its devices reached as ``wiring`` says (device id -> {"protocol", "address", "product"}; default
    homeflex's own dialect; ``"meter"``: the household's meter), its equipment, preferences and tariff."""
    setup = setup_for(config, household, now=now)
    wiring = wiring or {}
    devices = []
    for spec in config.spec.devices:
        wire = dict(wiring.get(spec.id, {}))
        info = DRIVERS.get(str(wire.get("protocol", "homeflex")))
        devices.append(
            DeviceConfig(
                id=spec.id,
                kind=spec.kind,
                max_power_w=spec.max_power_w,
                protocol=info.protocol,
                address=info.parse(wire.get("address", {})),
                product=wire.get("product"),
            )
        )
    return HouseholdConfig.from_spec(
        config.spec,
        devices=tuple(devices),
        meter=_meter(wiring.get("meter", {})),
        equipment=setup.equipment,
        preferences=setup.preferences,
        tariff=tariff_config_at(config, now or (household.time if household is not None else None)),
    )


def _meter(wire: Mapping[str, Any]) -> MeterConfig:
    info = DRIVERS.get(str(wire.get("protocol", "homeflex")))
    return MeterConfig(
        protocol=info.protocol, address=info.parse(wire.get("address", {})), product=wire.get("product")
    )


def forecast_for(household: SimHousehold, profile: HouseholdProfile | None) -> ProfileForecast:
    pv = household.devices.get("pv")
    known: dict[datetime, float] = {}  # successive horizons overlap: each half-hour is worked out once

    def pv_kw(when: datetime) -> float:
        if not isinstance(pv, PvInverter):
            return 0.0
        kw = known.get(when)
        if kw is None:
            kw = known[when] = ac_output_w(pv.params, pv.irradiance(when), household.weather(when)) / 1000
        return kw

    return ProfileForecast(profile=profile, outdoor_c=household.weather, pv_kw=pv_kw)
