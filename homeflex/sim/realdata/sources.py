"""The real sources one simulated household runs on: London 2019 weather and a UK base-load shape."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from homeflex.sim.physics.solar import IrradianceSource, PlaneSite
from homeflex.sim.physics.weather import TemperatureSource
from homeflex.sim.realdata.london_weather import RealIrradiance, RealTemperature, london_2019
from homeflex.sim.realdata.uk_base_load import ECONOMY_7_SHARE, RealBaseLoad, household_base_load


@dataclass(frozen=True, kw_only=True)
class RealSources:
    temperature: TemperatureSource
    irradiance: IrradianceSource  # on the household's PV plane
    base_load: RealBaseLoad


def real_sources(
    *,
    seed: int,
    annual_kwh: float,
    heat_pump: bool,
    site: PlaneSite | None = None,
    cache_dir: Path | None = None,
) -> RealSources:
    """Sources for one household; a heat-pump home never draws the Economy 7 (storage-heated) sample.

    MissingWheelError (a FileNotFoundError) names the `pip download` that fetches a missing wheel.
    """
    weather = london_2019(cache_dir)
    return RealSources(
        temperature=RealTemperature(weather),
        irradiance=RealIrradiance(weather, site),
        base_load=household_base_load(
            seed, annual_kwh, economy_7_share=0.0 if heat_pump else ECONOMY_7_SHARE, cache_dir=cache_dir
        ),
    )
