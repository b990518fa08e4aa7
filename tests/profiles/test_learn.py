"""Stage-1 profile learning from a synthetic household of known shape."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from homeflex.core.calendar_uk import is_bank_holiday
from homeflex.core.timeutil import LONDON, PERIOD, local_date
from homeflex.profiles import (
    DeviceSeries,
    HouseholdProfile,
    ReadinessRule,
    learn_profile,
    readiness,
)

START = datetime(2026, 5, 18, tzinfo=LONDON).astimezone(UTC)  # a Monday; spans the 25 May bank holiday
WEEKDAY_KWH, WEEKEND_KWH = 0.3, 0.5
EV_KW = 7.0
Series = dict[datetime, float]


def _weekend(t: datetime) -> bool:
    day = local_date(t)
    return day.weekday() >= 5 or is_bank_holiday(day)


def _temperature(i: int) -> float:
    return 5.0 + 5.0 * math.sin(i / 7.0)  # 0..10 °C, so the heat pump always runs


def household(days: int = 21, start: datetime = START) -> tuple[Series, DeviceSeries, Series]:
    """Net kWh = base + EV (weekdays 18:00-21:00 local, 7 kW) + heat pump (2.0 - 0.1·T kW)."""
    energy: Series = {}
    ev: Series = {}
    hp: Series = {}
    temp: Series = {}
    start = start.astimezone(UTC)  # step in UTC: wall-clock arithmetic would skip or repeat DST hours
    for i in range(days * 48 + 4):  # UTC half-hours; DST days still end inside the range
        t = start + i * PERIOD
        if local_date(t) >= local_date(start) + timedelta(days=days):
            break
        local = t.astimezone(LONDON)
        ev[t] = EV_KW if not _weekend(t) and 18 <= local.hour < 21 else 0.0
        temp[t] = _temperature(i)
        hp[t] = 2.0 - 0.1 * temp[t]
        base = WEEKEND_KWH if _weekend(t) else WEEKDAY_KWH
        energy[t] = base + (ev[t] + hp[t]) * 0.5
    return energy, DeviceSeries(ev_kw=ev, heat_pump_kw=hp), temp


def learn(
    energy: Series,
    device_series: DeviceSeries | None = None,
    outdoor_c: Series | None = None,
    as_of: datetime = datetime(2027, 1, 1, tzinfo=UTC),
) -> HouseholdProfile:
    return learn_profile(
        "h1", energy, device_series=device_series, outdoor_c=outdoor_c, as_of=as_of, version=3
    )


def test_recovers_known_base_load_by_day_type() -> None:
    energy, devices, temp = household()
    profile = learn(energy, device_series=devices, outdoor_c=temp)
    assert profile.weekday.days == 14
    assert profile.weekend.days == 7  # 3 weekends and the bank holiday
    for load, expected in ((profile.weekday, WEEKDAY_KWH), (profile.weekend, WEEKEND_KWH)):
        assert load.mean_kwh == pytest.approx([expected] * 48)
        assert load.p10_kwh == pytest.approx([expected] * 48)
        assert load.p90_kwh == pytest.approx([expected] * 48)


def test_recovers_ev_sessions() -> None:
    energy, devices, _ = household()
    ev = learn(energy, device_series=devices).ev
    assert ev is not None
    assert len(ev.sessions) == 14
    assert ev.typical_plug_in_hour == pytest.approx(18.0)
    assert ev.typical_duration_h == pytest.approx(3.0)
    assert ev.mean_energy_kwh == pytest.approx(21.0)
    first = ev.sessions[0]
    assert first.plug_in == datetime(2026, 5, 18, 17, 0, tzinfo=UTC)  # 18:00 BST
    assert first.plug_out == datetime(2026, 5, 18, 20, 0, tzinfo=UTC)


def test_recovers_heat_pump_line() -> None:
    energy, devices, temp = household()
    fit = learn(energy, device_series=devices, outdoor_c=temp).heat_pump
    assert fit is not None
    assert fit.intercept_kw == pytest.approx(2.0)
    assert fit.slope_kw_per_c == pytest.approx(-0.1)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.predict_kw(5.0) == pytest.approx(1.5)


def test_heat_pump_needs_temperature() -> None:
    energy, devices, _ = household(days=2)
    assert learn(energy, device_series=devices).heat_pump is None


def test_summer_reading_maps_to_local_slot() -> None:
    summer = learn({datetime(2026, 7, 1, 16, 30, tzinfo=UTC): 1.0})  # 17:30 BST, a Wednesday
    winter = learn({datetime(2026, 1, 7, 17, 30, tzinfo=UTC): 1.0})  # 17:30 GMT, a Wednesday
    for profile in (summer, winter):
        assert profile.weekday.samples[35] == 1
        assert profile.weekday.mean_kwh[35] == 1.0
        assert sum(profile.weekday.samples) == 1


@pytest.mark.parametrize(
    ("day", "periods"),
    [(date(2026, 3, 29), 46), (date(2026, 10, 25), 50), (date(2026, 6, 3), 48)],
)
def test_dst_days_are_whole_days(day: date, periods: int) -> None:
    energy, _, _ = household(days=1, start=datetime(day.year, day.month, day.day, tzinfo=LONDON))
    profile = learn(energy)
    assert profile.coverage.expected_periods == periods
    assert profile.coverage.measured_periods == periods
    assert profile.coverage.fraction == 1.0
    load = profile.weekend  # both transition days are Sundays
    if day.weekday() < 5:
        load = profile.weekday
    assert sum(load.samples) == periods
    assert all(n > 0 for n in load.samples) == (periods != 46)  # 01:00-02:00 local never happens


def test_gaps_lower_coverage_and_readiness_says_why() -> None:
    energy, _, _ = household()
    times = sorted(energy)
    for t in times[::10] + times[1::10] + times[2::10]:
        energy[t] = math.nan  # 30 % NaN
    for t in times[3::10]:
        del energy[t]  # and 10 % missing
    profile = learn(energy)
    assert profile.coverage.fraction == pytest.approx(0.6, abs=0.01)
    result = readiness(profile)
    assert not result.ready
    assert result.reasons == ["coverage 59 % < 80 %"]


def test_too_few_days_is_not_ready() -> None:
    energy, _, _ = household(days=9)
    result = readiness(learn(energy))
    assert not result.ready
    assert "9 of 14 days observed" in result.reasons


def test_enough_data_is_ready() -> None:
    energy, _, _ = household()
    result = readiness(learn(energy), ReadinessRule(min_days=14, min_coverage=0.8))
    assert result.ready
    assert "21 of 14 days observed" in result.reasons
    assert "coverage 100 % >= 80 %" in result.reasons


def test_as_of_cuts_later_data() -> None:
    energy, _, _ = household()
    profile = learn(energy, as_of=datetime(2026, 5, 20, tzinfo=LONDON))
    assert profile.coverage.days_observed == 2
    assert profile.coverage.fraction == 1.0


def test_empty_input_is_clearly_not_ready() -> None:
    profile = learn({})
    assert profile.coverage.days_observed == 0
    assert profile.coverage.fraction == 0.0
    assert profile.ev is None and profile.heat_pump is None
    assert all(math.isnan(v) for v in profile.weekday.mean_kwh)
    result = readiness(profile)
    assert not result.ready
    assert result.reasons == ["no readings", "0 of 14 days observed"]


def test_all_nan_input_is_not_ready() -> None:
    energy, _, _ = household(days=2)
    profile = learn(dict.fromkeys(energy, math.nan))
    assert readiness(profile).reasons[0] == "no readings"


def test_rejects_naive_and_unaligned_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        learn({datetime(2026, 1, 1): 1.0})
    with pytest.raises(ValueError, match="half-hour"):
        learn({datetime(2026, 1, 1, 0, 10, tzinfo=UTC): 1.0})


def test_the_forecast_takes_a_bank_holiday_as_the_profile_learnt_it() -> None:
    from homeflex.control.forecast import ProfileForecast
    from homeflex.core.calendar_uk import DayType, day_type, is_non_working

    energy, _, _ = household()  # base load only: weekday 0.3, weekend and bank holiday 0.5 kWh per HH
    profile = learn({t: WEEKDAY_KWH if not _weekend(t) else WEEKEND_KWH for t in energy})
    forecast = ProfileForecast(profile=profile, outdoor_c=lambda _: 10.0)
    bank_holiday = datetime(2026, 5, 25, tzinfo=LONDON).astimezone(UTC)  # Spring bank holiday, a Monday
    assert day_type(local_date(bank_holiday)) is DayType.BANK_HOLIDAY and is_non_working(date(2026, 5, 25))
    # Before, the forecast ignored bank holidays and planned the weekday's 0.6 kW for it.
    assert forecast.forecast(bank_holiday, 48, 0.5).base_load_kw == pytest.approx([2 * WEEKEND_KWH] * 48)
    tuesday = bank_holiday + timedelta(days=1)
    assert forecast.forecast(tuesday, 48, 0.5).base_load_kw == pytest.approx([2 * WEEKDAY_KWH] * 48)
