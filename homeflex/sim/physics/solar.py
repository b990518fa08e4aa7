"""Sun position and a simple clear-sky irradiance on a tilted plane.

A stand-in until real irradiance arrives: PV takes any `IrradianceSource`, so swapping it touches nothing
else. Clear sky: Meinel beam model with the atmospheric transmittance tuned so London's June peak GHI is
about pvlib's 825 W/m² (data.md), a diffuse share of the beam, and isotropic-sky transposition.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from homeflex.core.timeutil import local_date
from homeflex.sim.physics.calendar import DailyDraw

IrradianceSource = Callable[[datetime], float]  # plane-of-array irradiance in W/m² at a time


@dataclass(frozen=True, kw_only=True)
class PlaneSite:
    latitude_deg: float = 51.49  # London
    longitude_deg: float = -0.10
    tilt_deg: float = 35.0
    azimuth_deg: float = 180.0  # from north, clockwise: 180 = south
    albedo: float = 0.2


def sun_position(now: datetime, latitude_deg: float, longitude_deg: float) -> tuple[float, float]:
    """(zenith, azimuth from north) in degrees, NOAA's low-precision formulae (about 0.5° accuracy)."""
    t = now.astimezone(UTC)
    hours = t.hour + t.minute / 60 + t.second / 3600
    g = 2 * math.pi / 365 * (t.timetuple().tm_yday - 1 + (hours - 12) / 24)
    eq_time_min = 229.18 * (
        0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g)
    )  # fmt: skip
    decl = (
        0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g) - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g) - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g)
    )  # fmt: skip
    solar_min = hours * 60 + eq_time_min + 4 * longitude_deg
    hour_angle = math.radians(solar_min / 4 - 180)
    lat = math.radians(latitude_deg)
    cos_zenith = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(hour_angle)
    zenith = math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))
    azimuth = math.degrees(
        math.atan2(
            math.sin(hour_angle), math.cos(hour_angle) * math.sin(lat) - math.tan(decl) * math.cos(lat)
        )
    )
    return zenith, (azimuth + 180) % 360


def clear_sky_poa(now: datetime, site: PlaneSite, transmittance: float = 0.64) -> float:
    """Clear-sky plane-of-array irradiance in W/m²."""
    zenith, azimuth = sun_position(now, site.latitude_deg, site.longitude_deg)
    if zenith >= 90:
        return 0.0
    cos_z = math.cos(math.radians(zenith))
    air_mass = 1 / (cos_z + 0.50572 * (96.07995 - zenith) ** -1.6364)  # Kasten & Young 1989
    dni = 1353 * transmittance ** (air_mass**0.678)  # Meinel
    dhi = 0.12 * dni
    ghi = dni * cos_z + dhi
    tilt = math.radians(site.tilt_deg)
    cos_aoi = cos_z * math.cos(tilt) + math.sin(math.radians(zenith)) * math.sin(tilt) * math.cos(
        math.radians(azimuth - site.azimuth_deg)
    )
    sky = (1 + math.cos(tilt)) / 2
    return dni * max(cos_aoi, 0.0) + dhi * sky + ghi * site.albedo * (1 - sky)


class CloudyClearSky:
    """Clear sky times a seeded daily clearness (one draw per local day, shared by all panels of a seed)."""

    def __init__(self, site: PlaneSite, seed: int, clearness: tuple[float, float] = (0.1, 1.0)) -> None:
        self.site = site
        self.seed = seed
        low, high = clearness
        # Beta(1.3, 1.7), mean 0.49: UK skies are more often grey than bright; this gives about
        # 850 kWh/kWp a year, near PVWatts on London 2019 weather (data.md).
        self._clearness: DailyDraw[float] = DailyDraw(
            seed, "sky", lambda rng, _: low + (high - low) * rng.betavariate(1.3, 1.7)
        )

    def day_clearness(self, now: datetime) -> float:
        return self._clearness(local_date(now))

    def __call__(self, now: datetime) -> float:
        return clear_sky_poa(now, self.site) * self.day_clearness(now)
