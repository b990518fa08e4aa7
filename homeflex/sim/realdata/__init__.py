"""Real profiles and weather for the simulators, read from PyPI wheels downloaded to .cache/ (data.md).

- `london_weather`: London 2019 NSRDB 15-min weather (hisim 1.2.4): temperature and plane-of-array sources.
- `uk_base_load`: UK half-hourly smart-meter samples (eemeter 4.1.1), cleaned, as a household base load.
- `wheels`: finding a downloaded wheel and reading one file out of it.

Loaders are pure and return numpy arrays in small frozen dataclasses; each file is parsed once per process.
"""

from homeflex.sim.realdata.london_weather import (
    RealIrradiance,
    RealTemperature,
    WeatherYear,
    london_2019,
    parse_nsrdb,
)
from homeflex.sim.realdata.sources import RealSources, real_sources
from homeflex.sim.realdata.uk_base_load import (
    HalfHourlySeries,
    RealBaseLoad,
    household_base_load,
    parse_half_hourly,
    typical_year,
    uk_sample,
    uk_typical_year,
)
from homeflex.sim.realdata.wheels import EEMETER, HISIM, MissingWheelError, Wheel, find_wheel

__all__ = [
    "EEMETER",
    "HISIM",
    "HalfHourlySeries",
    "MissingWheelError",
    "RealBaseLoad",
    "RealIrradiance",
    "RealSources",
    "RealTemperature",
    "WeatherYear",
    "Wheel",
    "find_wheel",
    "household_base_load",
    "london_2019",
    "parse_half_hourly",
    "parse_nsrdb",
    "real_sources",
    "typical_year",
    "uk_sample",
    "uk_typical_year",
]
