from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.timeutil import LONDON
from homeflex.sim.physics.ev import DailySessions, EvCharger, EvParams, Session, charge_power_w

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def plugged_at(soc: float) -> EvCharger:
    session = Session(arrival=T0, departure=T0 + timedelta(days=2), arrival_soc=soc)
    return EvCharger(EvParams(random_delay_max_s=0), sessions=lambda now: session)


def test_reference_35_to_80_percent_at_7_4_kw_takes_244_minutes() -> None:
    ev = plugged_at(0.35)
    minutes = 0
    while ev.soc < 0.8 - 1e-9:
        minutes += 1
        assert ev.step(T0 + timedelta(minutes=minutes), 60.0) <= 7400.0
    assert minutes == 244
    assert ev.step(T0 + timedelta(minutes=245), 60.0) == 0.0  # at target: stops


@pytest.mark.parametrize(
    ("limit_w", "expected_w"),
    [(None, 7400.0), (0.0, 0.0), (1000.0, 0.0), (1399.0, 0.0), (1400.0, 1380.0), (3000.0, 2990.0)],
)
def test_setpoint_is_quantised_to_amps_and_pauses_below_6_a(limit_w: float | None, expected_w: float) -> None:
    assert charge_power_w(EvParams(), 0.5, limit_w) == pytest.approx(expected_w)


def test_taper_above_the_knee() -> None:
    p = EvParams(target_soc=1.0)
    assert charge_power_w(p, 0.9, None) == pytest.approx(3700.0)
    assert charge_power_w(p, 1.0, None) == 0.0


def seconds_until_paused(seed: int) -> int:
    session = Session(arrival=T0, departure=T0 + timedelta(days=1), arrival_soc=0.2)
    ev = EvCharger(EvParams(random_delay_max_s=600), seed=seed, sessions=lambda now: session)
    t = T0 + timedelta(minutes=1)
    assert ev.step(t, 60) == 7400.0
    ev.apply({"max_power_w": 0.0}, t)
    assert ev.settings.values["max_power_w"] == 0.0  # acknowledged at once
    seconds = 0
    while ev.step(t + timedelta(seconds=seconds), 1.0) > 0:
        seconds += 1
        assert seconds <= 601
    return seconds


def test_limit_change_waits_for_a_uniform_random_delay_up_to_600_s() -> None:
    delays = [seconds_until_paused(seed) for seed in range(30)]
    assert min(delays) < 150
    assert max(delays) > 450
    assert seconds_until_paused(5) == seconds_until_paused(5)  # seeded


def test_daily_sessions_follow_the_uk_pattern() -> None:
    sessions = DailySessions(EvParams(), seed=3)
    for offset in range(30):
        day = datetime(2026, 11, 1).date() + timedelta(days=offset)
        s = sessions.for_day(day)
        arrive, leave = s.arrival.astimezone(LONDON), s.departure.astimezone(LONDON)
        assert 17 <= arrive.hour + arrive.minute / 60 <= 19
        assert leave.date() == day + timedelta(days=1)
        assert 7 <= leave.hour + leave.minute / 60 <= 8.5
        assert 6_000 <= (0.8 - s.arrival_soc) * 60_000 <= 12_000


def test_unmanaged_car_charges_at_full_power_from_plug_in_to_target() -> None:
    ev = EvCharger(seed=11)
    start = datetime(2026, 11, 24, 12, tzinfo=UTC)
    powers = [ev.step(start + timedelta(minutes=m), 60.0) for m in range(1, 24 * 60)]
    charging = [p for p in powers if p > 0]
    assert charging
    assert all(p == 7400.0 for p in charging[:-1])  # the last minute is partial: it stops at the target
    first = powers.index(7400.0)
    assert 17 <= (start + timedelta(minutes=first + 1)).astimezone(LONDON).hour < 19
    assert ev.soc == pytest.approx(0.8)
    energy_kwh = sum(charging) / 60 / 1000
    assert 6 / 0.9 <= energy_kwh <= 12 / 0.9 + 0.01
