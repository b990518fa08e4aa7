from __future__ import annotations

from datetime import UTC, datetime

import pytest

from homeflex.sim.physics.heat_pump import HeatPump, HeatPumpParams, cop, flow_temperature_c

T0 = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    ("outdoor_c", "heat_kwh", "electricity_kwh", "flow_c"),
    [(-2.0, 100.5, 40.0, 45.0), (5.0, 66.9, 19.4, 38.6), (10.0, 42.4, 10.0, 34.1)],
)
def test_reference_day_at_constant_outdoor_temperature(
    outdoor_c: float, heat_kwh: float, electricity_kwh: float, flow_c: float
) -> None:
    hp = HeatPump()
    heat = electricity = 0.0
    for _ in range(24 * 60):
        electricity += hp.step(T0, 60.0, outdoor_c) / 60_000
        heat += hp.heat_w / 60_000
    assert heat == pytest.approx(heat_kwh, rel=0.02)
    assert electricity == pytest.approx(electricity_kwh, rel=0.02)
    assert flow_temperature_c(hp.params, outdoor_c) == pytest.approx(flow_c, abs=0.1)


def test_free_float_three_hours_at_5_c() -> None:
    hp = HeatPump(HeatPumpParams(gains_w=0.0))
    hp.apply({"max_power_w": 0.0}, None)
    for _ in range(180):
        assert hp.step(T0, 60.0, 5.0) == 0.0
    assert hp.indoor_c == pytest.approx(18.92, abs=0.01)


def test_cop_is_staffell_and_clamped_to_its_range() -> None:
    p = HeatPumpParams()
    assert cop(p, 47.0) == pytest.approx(2.515, abs=0.001)
    assert cop(p, 5.0) == cop(p, 15.0)
    assert cop(p, 80.0) == cop(p, 60.0)
    assert p.p_el_max_w == pytest.approx(6000 / cop(p, 60.0))


def test_electrical_cap_and_minimum_modulation() -> None:
    hp = HeatPump()
    hp.apply({"max_power_w": 1000.0}, None)
    assert hp.step(T0, 60.0, -2.0) == pytest.approx(1000.0)
    hp.apply({"max_power_w": 500.0}, None)  # 500 W x COP 2.5 is below 30 % of 6 kW: the unit stops
    assert hp.step(T0, 60.0, -2.0) == 0.0


def test_setpoint_setting_moves_the_demand() -> None:
    warm, cool = HeatPump(), HeatPump()
    cool.apply({"setpoint_c": 17.0}, None)
    assert cool.step(T0, 60.0, 0.0) < warm.step(T0, 60.0, 0.0)
