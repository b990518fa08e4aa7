from __future__ import annotations

from datetime import UTC, datetime

import pytest

from homeflex.sim.physics.battery import Battery

T0 = datetime(2026, 11, 24, tzinfo=UTC)


def test_reference_full_to_reserve_at_5_kw_delivers_11_53_kwh() -> None:
    battery = Battery(soc=1.0)
    battery.apply({"power_w": -5000.0}, None)
    delivered = 0.0
    for _ in range(10_000):
        p = battery.step(T0, 60.0, 0.0)
        if p == 0:
            break
        assert p >= -5000.0
        delivered -= p / 60_000
    assert delivered == pytest.approx(11.53, abs=0.01)
    assert battery.soc == pytest.approx(0.1)


def test_self_consumption_cancels_the_site_net_load() -> None:
    battery = Battery(soc=0.5)
    assert battery.step(T0, 60.0, 800.0) == pytest.approx(-800.0)  # import covered by discharge
    assert battery.step(T0, 60.0, -1200.0) == pytest.approx(1200.0)  # PV surplus charged
    assert battery.step(T0, 60.0, 9000.0) == pytest.approx(-5000.0)  # within P_max


def test_full_and_empty_stop_the_flow() -> None:
    full, empty = Battery(soc=1.0), Battery(soc=0.1)
    assert full.step(T0, 60.0, -2000.0) == 0.0
    assert empty.step(T0, 60.0, 2000.0) == 0.0
    assert empty.step(T0, 0.0, 2000.0) == 0.0  # an instant look too


def test_charging_stores_sqrt_of_round_trip() -> None:
    battery = Battery(soc=0.5)
    battery.apply({"power_w": 1000.0}, None)
    battery.step(T0, 3600.0, 0.0)
    assert battery.soc == pytest.approx(0.5 + 1000 * 0.9**0.5 / 13_500)
