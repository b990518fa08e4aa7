"""Real weather and base-load data for the simulators, checked against the facts in shared/domain/data.md.

The wheels come from the README's test command (`pip download --no-deps -d .cache eemeter hisim`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from homeflex.sim.physics.heat_pump import HeatPump
from homeflex.sim.physics.pv import PvInverter, PvParams
from homeflex.sim.physics.solar import PlaneSite, sun_position
from homeflex.sim.physics.weather import LondonWeather
from homeflex.sim.population import build_household, make_population
from homeflex.sim.realdata import (
    EEMETER,
    HISIM,
    HalfHourlySeries,
    MissingWheelError,
    RealBaseLoad,
    RealIrradiance,
    RealTemperature,
    WeatherYear,
    find_wheel,
    household_base_load,
    london_2019,
    parse_half_hourly,
    parse_nsrdb,
    typical_year,
    uk_sample,
    uk_typical_year,
    wheels,
)
from homeflex.sim.realdata.london_weather import LONDON_2019
from homeflex.sim.realdata.uk_base_load import MAX_OFFSET_DAYS, YEAR_DAYS, sample_member

QUARTER_H = 0.25


def _need(wheel: wheels.Wheel) -> None:
    try:
        find_wheel(wheel)
    except MissingWheelError as err:
        if os.environ.get("HOMEFLEX_REQUIRE_SERVICES") == "1":
            pytest.fail(f"HOMEFLEX_REQUIRE_SERVICES=1 but {err}")  # CI must not skip silently
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def weather() -> WeatherYear:
    _need(HISIM)
    return london_2019()


@pytest.fixture(scope="module")
def uk() -> None:
    _need(EEMETER)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def index_2019(t: datetime) -> int:
    """The test's own row number of a 15-min stamp in 2019."""
    return (t.timetuple().tm_yday - 1) * 96 + t.hour * 4 + t.minute // 15


# --- London 2019 weather (data.md §3) ---


def test_london_2019_is_the_file_data_md_describes(weather: WeatherYear) -> None:
    assert (weather.year, weather.step_s, len(weather.temperature_c)) == (2019, 900, 35_040)
    assert (weather.latitude_deg, weather.longitude_deg) == (51.49, -0.1)
    assert weather.ghi_w_m2.sum() * QUARTER_H / 1000 == pytest.approx(796.9, abs=0.05)
    assert weather.temperature_c.min() == pytest.approx(-5.2)
    assert weather.temperature_c.max() == pytest.approx(34.2)
    assert weather.temperature_c.mean() == pytest.approx(11.03, abs=0.005)
    assert not weather.temperature_c.flags.writeable  # shared by every household


def test_the_loader_reads_the_same_rows_as_the_csv(weather: WeatherYear) -> None:
    with zipfile.ZipFile(find_wheel(HISIM)) as archive:
        rows = list(csv.reader(io.StringIO(archive.read(LONDON_2019).decode())))[3:]
    for k in (0, 17_000, 35_039):
        year, month, day, hour, minute, temp, dhi, ghi, dni = rows[k][:9]
        t = utc(int(year), int(month), int(day), int(hour), int(minute))
        assert weather.time(k) == t
        assert (weather.temperature_c[k], weather.dhi_w_m2[k]) == (float(temp), float(dhi))
        assert (weather.ghi_w_m2[k], weather.dni_w_m2[k]) == (float(ghi), float(dni))


def test_a_2026_time_reads_2019_weather_for_the_same_date_and_utc_time(weather: WeatherYear) -> None:
    temperature = RealTemperature(weather)
    for t in (utc(2026, 1, 15, 6, 0), utc(2026, 7, 25, 12, 30), utc(2026, 12, 31, 23, 45)):
        assert temperature(t) == weather.temperature_c[index_2019(t.replace(year=2019))]
    bst = datetime(2026, 7, 25, 13, 30, tzinfo=ZoneInfo("Europe/London"))  # = 12:30 UTC
    assert temperature(bst) == temperature(utc(2026, 7, 25, 12, 30))
    assert temperature(utc(2028, 2, 29, 9, 0)) == temperature(utc(2019, 2, 28, 9, 0))  # leap day
    assert temperature(utc(2028, 3, 1, 9, 0)) == temperature(utc(2019, 3, 1, 9, 0))
    with pytest.raises(ValueError, match="aware"):
        temperature(datetime(2026, 1, 1))


def test_values_are_interpolated_between_the_15_min_points(weather: WeatherYear) -> None:
    temperature = RealTemperature(weather)
    t0 = utc(2026, 3, 10, 14, 0)
    a, b = (weather.temperature_c[index_2019(t0.replace(year=2019)) + k] for k in (0, 1))
    assert temperature(t0 + timedelta(minutes=5)) == pytest.approx(a + (b - a) / 3)
    assert temperature(t0 + timedelta(minutes=7, seconds=30)) == pytest.approx((a + b) / 2)
    # after the last point of the year the series wraps to 1 January 00:00
    last, first = weather.temperature_c[-1], weather.temperature_c[0]
    assert temperature(utc(2026, 12, 31, 23, 50)) == pytest.approx(last + (first - last) / 3)


def nsrdb(zone: str, stamps: list[str]) -> str:
    head = "Source,Latitude,Longitude,Time Zone\nNSRDB,51.49,-0.1," + zone + "\n"
    cols = "Year,Month,Day,Hour,Minute,Temperature,DHI,GHI,DNI\n"
    return head + cols + "".join(f"{s},5,0,0,0\n" for s in stamps)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (nsrdb("1", ["2019,1,1,0,0", "2019,1,1,0,15"]), "not in UTC"),
        (nsrdb("0", ["2019,1,1,0,0", "2019,1,1,0,15", "2019,1,1,0,45"]), "row 2 is 2019-01-01 00:45"),
        (nsrdb("0", ["2019,1,1,0,0", "2019,1,1,0,15"]), "do not cover 2019"),
    ],
)
def test_an_nsrdb_file_must_be_one_utc_year_without_gaps(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_nsrdb(text)


def test_irradiance_is_zero_at_night_and_follows_the_measured_sky(weather: WeatherYear) -> None:
    south = RealIrradiance(weather)
    assert south(utc(2026, 6, 21, 0, 0)) == 0.0
    assert south(utc(2026, 1, 15, 20, 0)) == 0.0
    flat = RealIrradiance(weather, PlaneSite(tilt_deg=0.0))
    noon = utc(2026, 6, 21, 12, 0)
    assert flat(noon) == pytest.approx(weather.ghi_w_m2[index_2019(noon.replace(year=2019))], rel=0.03)
    # at the sunniest December noon the beam on a south-facing plane beats the horizontal by far
    noons = [utc(2026, 12, d, 12, 0) for d in range(1, 32)]
    sunny = max(noons, key=lambda t: weather.dni_w_m2[index_2019(t.replace(year=2019))])
    assert south(sunny) > 1.5 * flat(sunny)


def test_flat_plane_reproduces_ghi_from_its_components(weather: WeatherYear) -> None:
    """Closure: DNI cos(zenith) + DHI against the file's GHI over the year's daylight (sun above 5°)."""
    flat = RealIrradiance(weather, PlaneSite(tilt_deg=0.0))
    start = utc(2026, 1, 1)
    total_flat = total_ghi = 0.0
    for k in range(0, 35_040, 4):  # hourly is enough
        t = start + timedelta(minutes=15 * k)
        zenith, _ = sun_position(t.replace(year=2019), 51.49, -0.1)
        if zenith < 85:
            total_flat += flat(t)
            total_ghi += float(weather.ghi_w_m2[k])
    assert total_flat == pytest.approx(total_ghi, rel=0.03)


def test_4_kwp_south_35_on_london_2019_gives_a_plausible_year(weather: WeatherYear) -> None:
    """data.md: about 3,482 kWh/yr DC with pvlib PVWatts; ours is isotropic and NOCT, so a band."""
    params = PvParams(p_dc0_w=4000.0)
    irradiance, temperature = RealIrradiance(weather), RealTemperature(weather)
    inverter = PvInverter(irradiance, params)
    start = utc(2026, 1, 1)
    poa_kwh = dc_kwh = ac_kwh = 0.0
    for k in range(35_040):
        t = start + timedelta(minutes=15 * k)
        g, air = irradiance(t), temperature(t)
        cell = air + (params.noct_c - 20) / 800 * g
        poa_kwh += g * QUARTER_H / 1000
        dc_kwh += g / 1000 * params.p_dc0_w * (1 + params.gamma_per_c * (cell - 25)) * QUARTER_H / 1000
        ac_kwh += -inverter.step(t, 900, air) * QUARTER_H / 1000
    assert 796.9 < poa_kwh < 1000  # the tilt gains on the horizontal
    assert dc_kwh == pytest.approx(3482, rel=0.05)
    assert 0.9 * dc_kwh < ac_kwh <= 0.96 * dc_kwh + 1e-6  # inverter efficiency, the G98 clip


# --- UK half-hourly base load (data.md §1) ---


def as_csv(rows: list[tuple[str, float]]) -> str:
    return "start,value\n" + "".join(f"{s},{v}\n" for s, v in rows)


def two_weeks(skip: set[str], value: float = 1.0) -> list[tuple[str, float]]:
    """Mon 2024-01-01 .. Sun 01-14, each slot's value = day number + slot / 100, minus the `skip` stamps."""
    out = []
    for d in range(14):
        for s in range(48):
            stamp = f"{date(2024, 1, 1) + timedelta(days=d)} {s // 2:02d}:{s % 2 * 30:02d}:00"
            if stamp not in skip:
                out.append((stamp, value * (d + 1) + s / 100))
    return out


def test_cleaning_keeps_the_first_of_a_duplicate_and_counts_it() -> None:
    rows = two_weeks(set())
    rows.insert(10, ("2024-01-01 04:30:00", 99.0))
    series = parse_half_hourly(as_csv(rows))
    assert series.duplicates == 1
    assert series.kwh[0, 9] == pytest.approx(1.09)
    assert not series.filled.any()


def test_gaps_take_the_same_slot_from_the_nearest_day_of_the_same_type() -> None:
    gone = {
        "2024-01-03 07:00:00",  # Wednesday: Tuesday and Thursday are as near; the earlier wins
        "2024-01-06 12:30:00",  # Saturday: from Sunday 7th, not Friday 5th
        "2024-01-13 15:00:00",  # both days of the second weekend: from the first one's Sunday
        "2024-01-14 15:00:00",
    }
    series = parse_half_hourly(as_csv(two_weeks(gone)))
    assert series.days == 14
    assert series.filled.sum() == 4
    assert series.kwh[2, 14] == pytest.approx(2.14)  # Tuesday 2nd's 07:00
    assert series.kwh[5, 25] == pytest.approx(7.25)  # Sunday 7th's 12:30
    assert series.kwh[12, 30] == pytest.approx(7.30)  # Sunday 7th's 15:00 (Saturday 6th is further)
    assert series.kwh[13, 30] == pytest.approx(7.30)
    assert np.isfinite(series.kwh).all()


def test_a_whole_missing_day_is_rebuilt_from_its_neighbours() -> None:
    gone = {f"2024-01-09 {s // 2:02d}:{s % 2 * 30:02d}:00" for s in range(48)}  # Tuesday 9th
    series = parse_half_hourly(as_csv(two_weeks(gone)))
    assert series.filled[8].all()
    np.testing.assert_allclose(series.kwh[8], series.kwh[7])  # Monday 8th (tie with Wed: earlier)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start,value\n2024-01-01 00:15:00,1\n", "half-hour grid"),
        ("start,value\n2024-01-01 00:00:00,nan\n", "not a number"),
        ("start,value\n", "no rows"),
    ],
)
def test_bad_rows_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_half_hourly(text)


@pytest.mark.parametrize(("n", "rows", "duplicates"), [(1, 22_536, 15), (2, 35_468, 24)])
@pytest.mark.usefixtures("uk")
def test_real_samples_clean_to_whole_days_without_nan(n: int, rows: int, duplicates: int) -> None:
    series = uk_sample(n)
    assert series.duplicates == duplicates  # data.md: 15 and 24 duplicate stamps
    # every unique stamp lands in the grid; the rest of the grid was filled
    assert series.kwh.size - series.filled.sum() == rows - duplicates
    assert np.isfinite(series.kwh).all()
    assert (series.kwh >= 0).all()


@pytest.mark.usefixtures("uk")
def test_sample_2s_29_day_gap_is_filled_and_the_typical_year_avoids_gaps() -> None:
    series = uk_sample(2)
    whole_days = int(series.filled.all(axis=1).sum())
    assert whole_days >= 29
    for n in (1, 2):
        year = uk_typical_year(n)
        assert (year.days, year.start.weekday()) == (YEAR_DAYS, 0)
        assert year.filled.sum() <= 2
    assert uk_typical_year(1).filled.sum() == 0


def test_typical_year_needs_52_weeks() -> None:
    short = HalfHourlySeries(start=date(2024, 1, 1), kwh=np.ones((300, 48)), filled=np.zeros((300, 48), bool))
    with pytest.raises(ValueError, match="364 days"):
        typical_year(short)


def run_year(load: RealBaseLoad, year: int = 2026) -> float:
    """kWh over a calendar year, stepped on the half-hour boundaries."""
    t, end, wh = utc(year, 1, 1), utc(year + 1, 1, 1), 0.0
    while t < end:
        t += timedelta(minutes=30)
        wh += load.step(t, 1800) * 0.5
    return wh / 1000


@pytest.mark.usefixtures("uk")
@pytest.mark.parametrize("n", [1, 2])
def test_base_load_is_scaled_to_the_households_annual_energy(n: int) -> None:
    for annual_kwh, offset in ((2700.0, 0), (4200.0, -17)):
        load = RealBaseLoad(uk_typical_year(n), annual_kwh=annual_kwh, offset_days=offset)
        assert run_year(load) == pytest.approx(annual_kwh, rel=0.02)


@pytest.mark.usefixtures("uk")
def test_a_simulated_day_plays_a_real_day_of_the_same_weekday_and_season() -> None:
    year = uk_typical_year(1)
    load = RealBaseLoad(year, annual_kwh=3000.0, offset_days=0)
    day = date(2026, 1, 1)
    for _ in range(365):
        row = load.day_index(day)
        source = year.start + timedelta(days=row)
        assert source.weekday() == day.weekday()
        gap = abs((source.replace(year=day.year) - day).days)
        assert min(gap, 365 - gap) <= 4  # 3 days to the weekday, one where 52 weeks miss a day
        day += timedelta(days=1)
    # the half-hour's value, scaled: mean power in W over that half-hour
    t = utc(2026, 2, 3, 18, 10)
    expected = year.kwh[load.day_index(t.date()), 36] * 2000 * load.scale
    assert load.power_w(t) == pytest.approx(expected)
    assert load.step(utc(2026, 2, 3, 18, 30), 1800) == pytest.approx(expected)  # the step's own slot


@pytest.mark.usefixtures("uk")
def test_households_differ_by_seed_and_are_reproducible() -> None:
    loads = [household_base_load(seed, 3000.0) for seed in range(40)]
    assert all(abs(b.offset_days) <= MAX_OFFSET_DAYS for b in loads)
    assert len({(b.year.start, b.offset_days) for b in loads}) > 20
    again = household_base_load(7, 3000.0)
    assert (again.year.start, again.offset_days) == (loads[7].year.start, loads[7].offset_days)
    never = [household_base_load(seed, 3000.0, economy_7_share=0.0) for seed in range(40)]
    assert {b.year.start for b in never} == {uk_typical_year(1).start}
    with pytest.raises(ValueError, match="economy_7_share"):
        household_base_load(1, 3000.0, economy_7_share=1.5)


# --- missing wheels ---


def test_a_missing_wheel_says_which_pip_download_fetches_it(tmp_path: Path) -> None:
    with pytest.raises(MissingWheelError, match=r"pip download -q --no-deps -d \.cache hisim==1\.2\.4"):
        london_2019(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"eemeter==4\.1\.1"):
        uk_sample(1, tmp_path)
    with pytest.raises(ValueError, match="one of"):
        sample_member(0)


@pytest.fixture
def no_wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(wheels, "DEFAULT_CACHE", tmp_path)
    return tmp_path


def test_a_realistic_household_without_the_wheels_fails_clearly(no_wheels: Path) -> None:
    config = make_population(1, seed=3, realistic=True)[0]
    with pytest.raises(MissingWheelError, match="pip download") as caught:
        build_household(config)
    assert str(no_wheels) in str(caught.value)


# --- the population on real data ---


def test_realistic_is_off_by_default_and_changes_no_draw() -> None:
    synthetic = make_population(20, seed=42)
    assert not any(c.realistic for c in synthetic)
    realistic = make_population(20, seed=42, realistic=True)
    assert [replace(c, realistic=False) for c in realistic] == synthetic
    assert isinstance(build_household(synthetic[0]).weather, LondonWeather)


@pytest.mark.usefixtures("uk")
def test_a_realistic_heat_pump_home_runs_a_january_day_on_londons_weather(weather: WeatherYear) -> None:
    config = next(c for c in make_population(20, seed=42, realistic=True) if c.heat_pump and c.pv)
    house = build_household(config)
    assert isinstance(house.base_load, RealBaseLoad)
    assert house.base_load.year.start == uk_typical_year(1).start  # a heat-pump home is not Economy 7
    pv = house.devices["pv"]
    assert isinstance(pv, PvInverter)
    assert isinstance(pv.irradiance, RealIrradiance)
    pump = house.devices["heat_pump"]
    assert isinstance(pump, HeatPump)

    start = utc(2026, 1, 22)
    house.advance_to(start)
    hourly: list[tuple[float, float, float]] = []  # (outdoor °C, heat pump W, indoor °C)
    for hour in range(1, 25):
        t = start + timedelta(hours=hour)
        house.advance_to(t, 60.0)
        row = index_2019(t.replace(year=2019))
        assert pump.outdoor_c == pytest.approx(weather.temperature_c[row])  # the file's own value
        hourly.append((pump.outdoor_c, pump.power_w, pump.indoor_c))
    outdoor = [h[0] for h in hourly]
    synthetic = LondonWeather(seed=config.weather_seed)
    assert any(abs(o - synthetic(start + timedelta(hours=h + 1))) > 0.5 for h, o in enumerate(outdoor))
    assert all(19.0 < h[2] < 21.0 for h in hourly)  # the controller holds the room
    coldest, warmest = min(hourly), max(hourly)
    assert coldest[1] > warmest[1] > 0  # more electricity when it is colder, and heating all day
    assert house.import_wh > 0
    assert math.isfinite(house.power_w)
