"""London 2019 weather, NSRDB 15-min (data.md §3), from the hisim 1.2.4 wheel: air temperature and
irradiance (GHI, DHI, DNI) as a `TemperatureSource` and a plane-of-array `IrradianceSource`.

Any time maps onto 2019 by calendar date and UTC time of day (29 February reuses 28 February), so a 2026
simulation sees 2019's weather for the same date. Values are linearly interpolated between the 15-min
points; after 31 December 23:45 the year wraps to 1 January 00:00.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from homeflex.sim.physics.solar import PlaneSite, sun_position
from homeflex.sim.realdata.wheels import HISIM, cache_directory, read_member

FloatArray = npt.NDArray[np.float64]

LONDON_2019 = "hisim/inputs/weather/NSRDB_15min/London/337089_51.49_-0.10_2019.csv"
_STAMP = ("Year", "Month", "Day", "Hour", "Minute")
_VALUES = {"temperature_c": "Temperature", "ghi_w_m2": "GHI", "dhi_w_m2": "DHI", "dni_w_m2": "DNI"}


@dataclass(frozen=True, kw_only=True, eq=False)
class WeatherYear:
    """One calendar year of evenly spaced UTC samples from 1 January 00:00 (arrays are read-only)."""

    year: int
    step_s: int
    latitude_deg: float
    longitude_deg: float
    temperature_c: FloatArray  # air temperature, °C
    ghi_w_m2: FloatArray  # global horizontal irradiance
    dhi_w_m2: FloatArray  # diffuse horizontal irradiance
    dni_w_m2: FloatArray  # direct normal irradiance

    def __post_init__(self) -> None:
        n = len(self.temperature_c)
        if any(len(a) != n for a in (self.ghi_w_m2, self.dhi_w_m2, self.dni_w_m2)):
            raise ValueError("weather year: columns differ in length")
        if n * self.step_s != (datetime(self.year + 1, 1, 1) - datetime(self.year, 1, 1)).total_seconds():
            raise ValueError(f"weather year: {n} samples of {self.step_s} s do not cover {self.year}")
        for a in (self.temperature_c, self.ghi_w_m2, self.dhi_w_m2, self.dni_w_m2):
            a.flags.writeable = False

    def onto_year(self, now: datetime) -> datetime:
        """The time in this year with `now`'s calendar date and UTC time of day."""
        if now.tzinfo is None:
            raise ValueError(f"weather needs an aware time, got naive {now}")
        t = now.astimezone(UTC)
        day = 28 if (t.month, t.day) == (2, 29) else t.day
        return t.replace(year=self.year, day=day)

    def weights(self, now: datetime) -> tuple[int, int, float]:
        """Indices of the samples either side of `now` (mapped onto the year) and the weight of the later."""
        offset = (self.onto_year(now) - datetime(self.year, 1, 1, tzinfo=UTC)).total_seconds()
        position = offset / self.step_s
        i = math.floor(position)
        return i, (i + 1) % len(self.temperature_c), position - i

    def at(self, column: FloatArray, now: datetime) -> float:
        i, j, w = self.weights(now)
        return float(column[i] * (1 - w) + column[j] * w)

    def time(self, index: int) -> datetime:
        """UTC time of sample `index`."""
        return datetime(self.year, 1, 1, tzinfo=UTC) + timedelta(seconds=index * self.step_s)


def _stamp(parts: list[int]) -> datetime:
    year, month, day, hour, minute = parts
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def parse_nsrdb(text: str) -> WeatherYear:
    """An NSRDB CSV as hisim ships it: a metadata header and its values, then the column header and rows.

    ValueError if the rows are not evenly spaced from 1 January 00:00 UTC through the whole year.
    """
    lines = csv.reader(io.StringIO(text))
    meta = dict(zip(next(lines), next(lines), strict=False))
    if meta.get("Time Zone") != "0":
        raise ValueError(f"NSRDB file is not in UTC (Time Zone {meta.get('Time Zone')!r})")
    header = next(lines)
    col = {name: header.index(name) for name in (*_STAMP, *_VALUES.values())}
    rows = [r for r in lines if r]
    stamps = [_stamp([int(r[col[k]]) for k in _STAMP]) for r in rows]
    year = stamps[0].year
    step = stamps[1] - stamps[0]
    for k, stamp in enumerate(stamps):
        if stamp != datetime(year, 1, 1, tzinfo=UTC) + k * step:
            raise ValueError(f"NSRDB rows are not evenly spaced from 1 January: row {k} is {stamp}")
    columns = {
        field: np.array([float(r[col[name]]) for r in rows], dtype=np.float64)
        for field, name in _VALUES.items()
    }
    return WeatherYear(
        year=year,
        step_s=int(step.total_seconds()),
        latitude_deg=float(meta["Latitude"]),
        longitude_deg=float(meta["Longitude"]),
        **columns,
    )


def london_2019(cache_dir: Path | None = None) -> WeatherYear:
    """London 2019 from the hisim wheel in `cache_dir` (default the project's .cache/), parsed once.

    MissingWheelError (a FileNotFoundError) says which `pip download` fetches the wheel.
    """
    return _london_2019(cache_directory(cache_dir))


@functools.cache
def _london_2019(cache_dir: Path) -> WeatherYear:
    return parse_nsrdb(read_member(HISIM, LONDON_2019, cache_dir).decode())


# Every household of a community simulation asks for the same minutes: interpolate each minute once.
_MEMO_SIZE = 1 << 16


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _interpolated(weather: WeatherYear, timestamp: float) -> tuple[float, float, float, float]:
    """(temperature, GHI, DHI, DNI) at a POSIX time."""
    i, j, f = weather.weights(datetime.fromtimestamp(timestamp, UTC))
    columns = (weather.temperature_c, weather.ghi_w_m2, weather.dhi_w_m2, weather.dni_w_m2)
    t, ghi, dhi, dni = (float(a[i] * (1 - f) + a[j] * f) for a in columns)
    return t, ghi, dhi, dni


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _sun(
    weather: WeatherYear, timestamp: float, latitude_deg: float, longitude_deg: float
) -> tuple[float, float]:
    return sun_position(
        weather.onto_year(datetime.fromtimestamp(timestamp, UTC)), latitude_deg, longitude_deg
    )


class RealTemperature:
    """`TemperatureSource`: the weather year's air temperature, °C."""

    def __init__(self, weather: WeatherYear) -> None:
        self.weather = weather

    def __call__(self, now: datetime) -> float:
        if now.tzinfo is None:
            raise ValueError(f"weather needs an aware time, got naive {now}")
        return _interpolated(self.weather, now.timestamp())[0]


def isotropic_poa(
    site: PlaneSite, *, zenith_deg: float, azimuth_deg: float, ghi: float, dhi: float, dni: float
) -> float:
    """Plane-of-array irradiance, W/m²: beam on the plane, isotropic sky diffuse, ground reflection."""
    tilt = math.radians(site.tilt_deg)
    z = math.radians(zenith_deg)
    cos_aoi = math.cos(z) * math.cos(tilt) + math.sin(z) * math.sin(tilt) * math.cos(
        math.radians(azimuth_deg - site.azimuth_deg)
    )
    beam = dni * max(cos_aoi, 0.0) if zenith_deg < 90 else 0.0
    sky = (1 + math.cos(tilt)) / 2
    return beam + dhi * sky + ghi * site.albedo * (1 - sky)


class RealIrradiance:
    """`IrradianceSource`: the weather year's GHI/DHI/DNI, interpolated, transposed onto `site`.

    The sun is placed at the mapped time in the weather year, so the beam lines up with the data.
    """

    def __init__(self, weather: WeatherYear, site: PlaneSite | None = None) -> None:
        self.weather = weather
        self.site = site or PlaneSite(latitude_deg=weather.latitude_deg, longitude_deg=weather.longitude_deg)

    def __call__(self, now: datetime) -> float:
        if now.tzinfo is None:
            raise ValueError(f"weather needs an aware time, got naive {now}")
        timestamp = now.timestamp()
        _, ghi, dhi, dni = _interpolated(self.weather, timestamp)
        if ghi <= 0 and dni <= 0 and dhi <= 0:
            return 0.0
        zenith, azimuth = _sun(self.weather, timestamp, self.site.latitude_deg, self.site.longitude_deg)
        return isotropic_poa(self.site, zenith_deg=zenith, azimuth_deg=azimuth, ghi=ghi, dhi=dhi, dni=dni)
