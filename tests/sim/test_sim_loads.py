from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from statistics import mean

import pytest

from homeflex.core.timeutil import LONDON
from homeflex.sim.physics.base_load import BaseLoad, BaseLoadParams
from homeflex.sim.physics.smart_plug import SmartPlug, SmartPlugParams
from homeflex.sim.physics.weather import LondonWeather


def test_plug_runs_follow_a_seeded_daily_schedule_with_an_evening_run() -> None:
    plug = SmartPlug(seed=4)
    for offset in range(20):
        runs = plug.runs_on(date(2026, 11, 1) + timedelta(days=offset))
        assert 1 <= len(runs) <= 2
        assert all(timedelta(hours=1) <= end - start <= timedelta(hours=2) for start, end in runs)
        assert 17 <= runs[0][0].astimezone(LONDON).hour < 21
    assert SmartPlug(seed=4).runs_on(date(2026, 11, 3)) == plug.runs_on(date(2026, 11, 3))


def test_plug_switched_off_draws_nothing() -> None:
    plug = SmartPlug(SmartPlugParams(power_w=1200.0), seed=2)
    start, _ = plug.runs_on(date(2026, 11, 24))[0]
    assert plug.step(start, 60.0) == 1200.0
    assert plug.state() == {"on": True}
    plug.apply({"on": False}, None)
    assert plug.step(start, 60.0) == 0.0
    plug.apply({"on": None}, None)
    assert plug.step(start, 60.0) == 1200.0


def test_base_load_scales_to_the_annual_consumption() -> None:
    load = BaseLoad(BaseLoadParams(annual_kwh=3600.0), seed=9)
    t, energy = datetime(2026, 1, 1, tzinfo=UTC), 0.0
    while t.year == 2026:
        energy += load.power_w(t) / 2000
        t += timedelta(minutes=30)
    assert energy == pytest.approx(3600.0, rel=0.03)


def test_base_load_has_a_uk_daily_shape() -> None:
    load = BaseLoad(BaseLoadParams(annual_kwh=3100.0, noise_sd=0.0))
    weekday = [load.power_w(datetime(2026, 11, 24, h, 30, tzinfo=LONDON)) for h in range(24)]
    weekend = [load.power_w(datetime(2026, 11, 28, h, 30, tzinfo=LONDON)) for h in range(24)]
    assert 150 < min(weekday[1:5]) < 260  # night
    assert max(weekday) == max(weekday[17:20])  # the evening peak is the daily peak
    assert weekday[7] > 1.5 * weekday[3]  # a morning peak
    assert weekend[11] > weekday[11]
    assert weekend[7] < weekday[7]


def test_late_november_london_is_5_to_10_c_on_average() -> None:
    weather = LondonWeather(seed=0)
    start = datetime(2026, 11, 20, tzinfo=UTC)
    temps = [weather(start + timedelta(hours=h)) for h in range(24 * 10)]
    assert 5 <= mean(temps) <= 10
    assert min(temps) > -3
    assert max(temps) < 18
    assert max(abs(a - b) for a, b in itertools.pairwise(temps)) < 2.0  # no jumps at midnight
