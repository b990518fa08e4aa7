"""learn_profile: a household profile from stage-1 (manual mode) metered data. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from homeflex.profiles.baseload import base_energy, coverage, day_type_loads
from homeflex.profiles.devices import battery_profile, ev_profile, heat_pump_fit, pv_profile
from homeflex.profiles.model import HouseholdProfile
from homeflex.profiles.series import Series, before


@dataclass(frozen=True, kw_only=True)
class DeviceSeries:
    """Measured device power, kW per UTC half-hour (keyed by period start), + consumption.

    PV generation is negative; battery charge positive, discharge negative. None: no such device metered.
    """

    ev_kw: Series | None = None
    heat_pump_kw: Series | None = None
    pv_kw: Series | None = None
    battery_kw: Series | None = None


def learn_profile(
    household_id: str,
    energy: Series,
    *,
    device_series: DeviceSeries | None = None,
    outdoor_c: Series | None = None,
    as_of: datetime,
    version: int,
) -> HouseholdProfile:
    """Learn a profile from net kWh per UTC half-hour (NaN = missing) and optional device series.

    Only periods starting before `as_of` are used. Base load is the net energy less every metered
    device, so it is what the household uses regardless of the flexible devices.
    """
    devices = device_series or DeviceSeries()
    net = before(energy, as_of)
    ev, hp, pv, battery = (
        before(s, as_of) for s in (devices.ev_kw, devices.heat_pump_kw, devices.pv_kw, devices.battery_kw)
    )
    weekday, weekend = day_type_loads(base_energy(net, (ev, hp, pv, battery)))
    return HouseholdProfile(
        household_id=household_id,
        version=version,
        as_of=as_of,
        coverage=coverage(net, as_of),
        weekday=weekday,
        weekend=weekend,
        ev=ev_profile(ev),
        heat_pump=heat_pump_fit(hp, before(outdoor_c, as_of)),
        pv=pv_profile(pv),
        battery=battery_profile(battery),
    )
