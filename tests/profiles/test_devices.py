"""Per-technology summaries: EV sessions, PV, battery, and base load net of devices."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from homeflex.core.timeutil import PERIOD
from homeflex.profiles import DeviceSeries, learn_profile
from homeflex.profiles.devices import battery_profile, ev_profile, ev_sessions, pv_profile

T0 = datetime(2026, 1, 5, 23, 0, tzinfo=UTC)  # 23:00 GMT, a Monday


def series(start: datetime, values: list[float]) -> dict[datetime, float]:
    return {start + i * PERIOD: v for i, v in enumerate(values)}


def test_session_across_midnight() -> None:
    (session,) = ev_sessions(series(T0, [0.0, 7.0, 7.0, 7.0, 7.0, 0.0]))
    assert session.plug_in == T0 + PERIOD
    assert session.plug_out == T0 + 5 * PERIOD
    assert session.energy_kwh == pytest.approx(14.0)


@pytest.mark.parametrize("gap", [math.nan, 0.0, 0.01])
def test_nan_or_idle_half_hour_splits_sessions(gap: float) -> None:
    assert len(ev_sessions(series(T0, [7.0, gap, 7.0]))) == 2


def test_missing_half_hour_splits_sessions() -> None:
    values = series(T0, [7.0, 7.0, 7.0])
    del values[T0 + PERIOD]
    assert len(ev_sessions(values)) == 2


def test_typical_plug_in_hour_is_circular() -> None:
    late = series(T0, [7.0])  # 23:00
    early = series(datetime(2026, 1, 7, 1, 0, tzinfo=UTC), [7.0])  # 01:00
    profile = ev_profile(late | early)
    assert profile is not None
    assert min(profile.typical_plug_in_hour, 24 - profile.typical_plug_in_hour) == pytest.approx(0.0)


def test_no_charging_gives_no_ev_profile() -> None:
    assert ev_profile(series(T0, [0.0, 0.0])) is None


def test_pv_daily_generation_and_peak() -> None:
    day1 = series(datetime(2026, 6, 1, 10, 0, tzinfo=UTC), [-2.0, -4.0, -2.0])  # 4 kWh
    day2 = series(datetime(2026, 6, 2, 10, 0, tzinfo=UTC), [-1.0, -1.0])  # 1 kWh
    pv = pv_profile(day1 | day2)
    assert pv is not None
    assert pv.days == 2
    assert pv.mean_daily_generation_kwh == pytest.approx(2.5)
    assert pv.peak_generation_kw == pytest.approx(4.0)


def test_battery_daily_throughput() -> None:
    battery = battery_profile(series(datetime(2026, 6, 1, 10, 0, tzinfo=UTC), [3.0, 3.0, -2.0, -2.0]))
    assert battery is not None
    assert battery.mean_daily_charge_kwh == pytest.approx(3.0)
    assert battery.mean_daily_discharge_kwh == pytest.approx(2.0)
    assert battery.mean_daily_throughput_kwh == pytest.approx(5.0)


def test_base_load_is_net_of_metered_devices() -> None:
    start = datetime(2026, 6, 3, 11, 0, tzinfo=UTC)  # a Wednesday
    pv_kw = series(start, [-3.0, -3.0])
    battery_kw = series(start, [1.0, -1.0])
    energy = {t: 0.4 + (pv_kw[t] + battery_kw[t]) * 0.5 for t in pv_kw}
    profile = learn_profile(
        "h1",
        energy,
        device_series=DeviceSeries(pv_kw=pv_kw, battery_kw=battery_kw),
        as_of=datetime(2026, 7, 1, tzinfo=UTC),
        version=1,
    )
    assert [profile.weekday.mean_kwh[s] for s in (24, 25)] == pytest.approx([0.4, 0.4])  # 12:00 BST
    assert profile.pv is not None and profile.battery is not None
