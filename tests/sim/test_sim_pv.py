from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from homeflex.sim.physics.pv import PvInverter, PvParams, ac_output_w
from homeflex.sim.physics.solar import CloudyClearSky, PlaneSite, clear_sky_poa, sun_position
from homeflex.sim.physics.weather import LondonWeather

MIDSUMMER_NOON = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def test_sun_is_south_and_high_at_midsummer_noon_in_london() -> None:
    zenith, azimuth = sun_position(MIDSUMMER_NOON, 51.49, -0.10)
    assert zenith == pytest.approx(51.49 - 23.44, abs=0.5)
    assert azimuth == pytest.approx(180, abs=3)


def test_clear_sky_peak_ghi_is_near_pvlib_for_london() -> None:
    flat = PlaneSite(tilt_deg=0.0)
    day = [clear_sky_poa(MIDSUMMER_NOON.replace(hour=0) + timedelta(minutes=m), flat) for m in range(1440)]
    assert max(day) == pytest.approx(825.5, rel=0.05)
    assert sum(day) / 60_000 == pytest.approx(7.45, rel=0.05)  # kWh/m² on 21 June
    assert clear_sky_poa(MIDSUMMER_NOON.replace(hour=1), flat) == 0.0


def test_pvwatts_dc_temperature_derating_and_clip() -> None:
    p = PvParams()
    assert ac_output_w(p, 0.0, 10.0) == 0.0
    # 500 W/m² at 25 °C air: cell 40.625 °C, DC 2000 x (1 - 0.004 x 15.625)
    assert ac_output_w(p, 500.0, 25.0) == pytest.approx(0.96 * 2000 * (1 - 0.004 * 15.625))
    assert ac_output_w(p, 1100.0, 0.0) == 3680.0


def test_generation_is_negative_and_export_limit_curtails() -> None:
    pv = PvInverter(lambda now: 800.0)
    assert pv.step(MIDSUMMER_NOON, 60.0, 20.0) < -2500.0
    pv.apply({"export_limit_w": 1000.0}, None)
    assert pv.step(MIDSUMMER_NOON, 60.0, 20.0) == -1000.0


def test_annual_yield_is_plausible_for_a_4_kwp_london_array() -> None:
    pv = PvInverter(CloudyClearSky(PlaneSite(), seed=1))
    weather = LondonWeather(seed=1)
    t, energy_kwh = datetime(2026, 1, 1, tzinfo=UTC), 0.0
    while t.year == 2026:
        energy_kwh -= pv.step(t, 1800.0, weather(t)) / 2000
        t += timedelta(minutes=30)
    assert 3000 < energy_kwh < 3800  # PVWatts on London 2019 weather: about 3,480 kWh DC
