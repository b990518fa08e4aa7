"""Stage-2 planner: table-driven cases and property tests over random households and tariffs.

Physics is re-implemented here independently (Staffell COP, exact 1R1C step, battery energy) so the
checks do not share code with the model they check.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homeflex.control.planner import (
    Battery,
    Building,
    Comfort,
    EvSession,
    Heating,
    HeatPump,
    Plan,
    PlanningProblem,
    PlanStatus,
    Tariff,
    cap_from_reduction,
    plan,
    unmanaged,
)

START = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)  # horizon starts at noon; step t is 12:00 + t/2 h
DT = 0.5
TOL = 1e-5


def hour_of(n: int) -> np.ndarray:
    return (12.0 + DT * np.arange(n)) % 24.0


def step_at(hour: float) -> int:
    """The step index of a clock time on the horizon (hours after noon wrap to the next day)."""
    return int(((hour - 12.0) % 24.0) / DT)


def two_rate(n: int, cheap_from: float, cheap_to: float, cheap: float = 0.08, peak: float = 0.30) -> Tariff:
    h = hour_of(n)
    in_window = (
        (h >= cheap_from) & (h < cheap_to) if cheap_from < cheap_to else (h >= cheap_from) | (h < cheap_to)
    )
    return Tariff(import_gbp_per_kwh=np.where(in_window, cheap, peak), export_gbp_per_kwh=np.full(n, 0.05))


def problem(n: int = 72, **kw: object) -> PlanningProblem:
    args: dict[str, object] = {
        "start": START,
        "now": START,
        "tariff": two_rate(n, 0.5, 4.5),
        "base_load_kw": np.full(n, 0.4),
        "pv_kw": np.zeros(n),
        "outdoor_c": np.full(n, 5.0),
    }
    args.update(kw)
    return PlanningProblem(**args)  # type: ignore[arg-type]


# --- independent physics ------------------------------------------------------------------------


def staffell_ashp_cop(outdoor_c: np.ndarray, pump: HeatPump) -> np.ndarray:
    slope = (pump.flow_c_at_mild - pump.flow_c_at_cold) / (pump.mild_outdoor_c - pump.cold_outdoor_c)
    t_clamped = np.clip(outdoor_c, pump.cold_outdoor_c, pump.mild_outdoor_c)
    flow = pump.flow_c_at_cold + slope * (t_clamped - pump.cold_outdoor_c)
    d = np.clip(flow - outdoor_c, 15, 60)
    cop: np.ndarray = 6.81 - 0.121 * d + 0.000630 * d * d
    return cop


def simulate_1r1c(b: Building, outdoor_c: np.ndarray, heat_kw: np.ndarray) -> np.ndarray:
    tau = b.capacity_kwh_per_k / (b.htc_w_per_k / 1000)
    temps = [b.initial_indoor_c]
    for t_out, q in zip(outdoor_c, heat_kw, strict=True):
        t_eq = t_out + (q + b.internal_gains_kw) * 1000 / b.htc_w_per_k
        temps.append(t_eq + (temps[-1] - t_eq) * math.exp(-DT / tau))
    return np.array(temps)


def check_plan(p: PlanningProblem, r: Plan) -> None:
    """Every limit and balance an optimal plan must satisfy, checked from first principles."""
    assert r.status is PlanStatus.OPTIMAL, r.reason
    assert (r.grid_import_kw <= p.max_import_kw + TOL).all()
    if p.import_cap_kw is not None:  # the DSO cap is on net import
        assert (r.grid_import_kw - r.grid_export_kw <= p.import_cap_kw + TOL).all()
    assert (r.grid_export_kw <= p.max_export_kw + TOL).all()
    consumption = p.base_load_kw + r.ev_kw + r.heat_pump_kw + r.battery_kw - (p.pv_kw - r.pv_curtailed_kw)
    np.testing.assert_allclose(r.net_import_kw, consumption, atol=1e-6)
    assert (r.pv_curtailed_kw <= p.pv_kw + TOL).all()
    if p.ev is None:
        assert not r.ev_kw.any()
    else:
        ev = p.ev
        assert (r.ev_kw <= ev.max_kw + TOL).all()
        outside = np.ones(p.n_steps, bool)
        outside[ev.arrival_step : ev.departure_step] = False
        assert (r.ev_kw[outside] <= TOL).all()
        delivered = r.ev_kw[: ev.ready_by_step].sum() * DT * ev.efficiency
        assert delivered == pytest.approx(ev.target_kwh, abs=1e-4)
    if p.heating is None:
        assert not r.heat_pump_kw.any()
    else:
        hp, b, c = p.heating.heat_pump, p.heating.building, p.heating.comfort
        assert (r.heat_pump_kw <= hp.max_electric_kw + TOL).all()
        temps = simulate_1r1c(b, p.outdoor_c, r.heat_pump_kw * staffell_ashp_cop(p.outdoor_c, hp))
        np.testing.assert_allclose(temps, r.indoor_c, atol=1e-4)
        assert (temps[1:] >= c.min_c - 1e-3).all()
        assert (temps[1:] <= c.max_c + 1e-3).all()
    if p.battery is None:
        assert not r.battery_charge_kw.any()
        assert not r.battery_discharge_kw.any()
    else:
        bat = p.battery
        eta = math.sqrt(bat.round_trip_efficiency)
        assert (r.battery_charge_kw <= bat.max_kw + TOL).all()
        assert (r.battery_discharge_kw <= bat.max_kw + TOL).all()
        flows = r.battery_charge_kw * eta * DT - r.battery_discharge_kw * DT / eta
        energy = bat.initial_soc * bat.capacity_kwh + np.concatenate(([0.0], np.cumsum(flows)))
        np.testing.assert_allclose(energy, r.battery_soc_kwh, atol=1e-4)
        assert (energy >= bat.reserve_soc * bat.capacity_kwh - 1e-4).all()
        assert (energy <= bat.capacity_kwh + 1e-4).all()
    cost = np.sum(
        r.grid_import_kw * p.tariff.import_gbp_per_kwh * DT
        - r.grid_export_kw * p.tariff.export_gbp_per_kwh * DT
    )
    assert r.cost_gbp == pytest.approx(cost, abs=1e-9)


# --- physics reference values (devices.md) -----------------------------------------------------


@pytest.mark.parametrize(("outdoor_c", "cop"), [(-2.0, 2.51), (5.0, 3.45), (10.0, 4.26)])
def test_cop_matches_reference_table(outdoor_c: float, cop: float) -> None:
    from homeflex.control.planner import cop_series

    assert cop_series(HeatPump(), np.array([outdoor_c]))[0] == pytest.approx(cop, abs=0.01)


def test_free_float_matches_reference() -> None:
    from homeflex.control.planner import simulate_indoor

    b = Building(internal_gains_kw=0.0)
    assert simulate_indoor(b, np.full(6, 5.0), np.zeros(6), DT)[-1] == pytest.approx(18.92, abs=0.01)


# --- two-rate tariffs: the EV charges in the cheap window --------------------------------------


@pytest.mark.parametrize(
    ("name", "cheap_from", "cheap_to"),
    [
        ("octopus-go", 0.5, 4.5),
        ("economy-7", 0.0, 7.0),
        ("intelligent", 23.5, 5.5),
        ("evening-cheap", 19.0, 23.0),
    ],
)
def test_two_rate_ev_charges_only_in_cheap_window(name: str, cheap_from: float, cheap_to: float) -> None:
    n = 72
    ev = EvSession(
        arrival_step=step_at(18.0), departure_step=step_at(7.5), ready_by_step=step_at(7.0), target_kwh=20.0
    )
    p = problem(n, tariff=two_rate(n, cheap_from, cheap_to), ev=ev)
    r = plan(p)
    check_plan(p, r)
    cheap = p.tariff.import_gbp_per_kwh < 0.1
    assert r.ev_kw[~cheap].sum() == pytest.approx(0.0, abs=1e-6), name
    assert r.cost_gbp < unmanaged(p).cost_gbp


def test_flat_tariff_still_meets_target() -> None:
    n = 48
    flat = Tariff(import_gbp_per_kwh=np.full(n, 0.25), export_gbp_per_kwh=np.full(n, 0.05))
    ev = EvSession(arrival_step=12, departure_step=40, ready_by_step=36, target_kwh=30.0)
    p = problem(n, tariff=flat, ev=ev)
    check_plan(p, plan(p))


# --- flex: import caps -------------------------------------------------------------------------


def full_household(n: int = 72, **kw: object) -> PlanningProblem:
    hours = hour_of(n)
    pv = np.clip(3.0 * np.sin((hours - 8.0) / 8.0 * np.pi), 0.0, None) * ((hours > 8) & (hours < 16))
    return problem(
        n,
        pv_kw=pv,
        ev=EvSession(
            arrival_step=step_at(18.0), departure_step=step_at(7.5), ready_by_step=step_at(7.0), target_kwh=20
        ),
        heating=Heating(heat_pump=HeatPump(max_electric_kw=3.0), building=Building(), comfort=Comfort()),
        battery=Battery(),
        **kw,
    )


def test_dso_import_cap_is_respected() -> None:
    n = 72
    cap = np.full(n, np.inf)
    cap[step_at(0.5) : step_at(2.5)] = 1.0  # a DSO event inside the cheap window
    p = full_household(n, import_cap_kw=cap)
    r = plan(p)
    check_plan(p, r)
    free = plan(full_household(n))
    assert free.grid_import_kw[step_at(0.5) : step_at(2.5)].max() > 1.0  # the cap does bind
    assert r.cost_gbp >= free.cost_gbp - 1e-9


def test_cap_from_reduction() -> None:
    caps = cap_from_reduction(np.array([3.0, 3.0, 0.5]), np.array([0.0, 1.0, 1.0]))
    assert caps.tolist() == [np.inf, 2.0, -0.5]  # below zero: export asked for


# --- infeasible problems report why ------------------------------------------------------------


def cold_house() -> Heating:
    return Heating(
        heat_pump=HeatPump(max_electric_kw=4.0),
        building=Building(htc_w_per_k=300.0),
        comfort=Comfort(min_c=19.0, max_c=22.0, vulnerable=True),
    )


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        (
            {"ev": EvSession(arrival_step=10, departure_step=14, ready_by_step=14, target_kwh=60.0)},
            "EV target not reachable by ready-by",
        ),
        (
            {
                "ev": EvSession(arrival_step=10, departure_step=18, ready_by_step=18, target_kwh=20.0),
                "max_import_kw": 3.0,
            },
            "EV target not reachable by ready-by within the household's import limits",
        ),
        ({"import_cap_kw": np.where(np.arange(72) == 5, 0.1, np.inf)}, "DSO import cap"),
        ({"heating": cold_house(), "outdoor_c": np.full(72, -5.0), "max_import_kw": 2.0}, "comfort band"),
    ],
    ids=[
        "ev-physically-unreachable",
        "ev-import-limited",
        "dso-cap-below-base-load",
        "comfort-import-limited",
    ],
)
def test_infeasible_reports_reason(kw: dict[str, object], reason: str) -> None:
    r = plan(problem(72, **kw))
    assert r.status is PlanStatus.INFEASIBLE
    assert reason in r.reason
    assert math.isnan(r.cost_gbp)


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="export price above import"):
        Tariff(import_gbp_per_kwh=np.full(4, 0.1), export_gbp_per_kwh=np.full(4, 0.2))
    with pytest.raises(ValueError, match="expected 72 steps"):
        problem(72, pv_kw=np.zeros(10))


# --- property tests over random households and tariffs -----------------------------------------


def random_tariff(rng: np.random.Generator, n: int, kind: str) -> Tariff:
    if kind == "flat":
        imp = np.full(n, rng.uniform(0.1, 0.35))
    elif kind == "two-rate":
        start = rng.uniform(0, 24)
        return two_rate(
            n, start, (start + rng.uniform(3, 8)) % 24, rng.uniform(0.05, 0.12), rng.uniform(0.2, 0.4)
        )
    else:  # dynamic, Agile-like, occasionally negative
        imp = 0.2 + 0.1 * np.sin(hour_of(n) / 24 * 2 * np.pi) + rng.normal(0, 0.06, n)
    exp = np.minimum(rng.uniform(0.0, 0.15), imp)
    return Tariff(import_gbp_per_kwh=imp, export_gbp_per_kwh=exp)


@st.composite
def households(draw: st.DrawFn) -> PlanningProblem:
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.sampled_from([48, 60, 72]))
    kind = draw(st.sampled_from(["flat", "two-rate", "dynamic"]))
    rng = np.random.default_rng(seed)
    outdoor = rng.uniform(-3, 10) + 3 * np.sin(hour_of(n) / 24 * 2 * np.pi) + rng.normal(0, 0.5, n)
    hours = hour_of(n)
    pv = rng.uniform(0, 4) * np.clip(np.sin((hours - 7) / 10 * np.pi), 0, None) * ((hours > 7) & (hours < 17))
    kw: dict[str, object] = {
        "tariff": random_tariff(rng, n, kind),
        "base_load_kw": rng.uniform(0.1, 1.2, n),
        "pv_kw": pv,
        "outdoor_c": outdoor,
        "max_export_kw": float(rng.choice([0.0, 3.68, 5.0])),
    }
    if draw(st.booleans()):
        arrival = int(rng.integers(0, n // 2))
        departure = int(rng.integers(arrival + 1, n + 1))
        ready = int(rng.integers(arrival + 1, departure + 1))
        max_kw, eff = float(rng.choice([3.6, 7.4])), float(rng.uniform(0.85, 0.95))
        reach = max_kw * (ready - arrival) * DT * eff
        ev = EvSession(
            arrival_step=arrival,
            departure_step=departure,
            ready_by_step=ready,
            target_kwh=min(40.0, float(rng.uniform(0, 1.1)) * reach),
            max_kw=max_kw,
            efficiency=eff,
        )
        kw["ev"] = ev
    if draw(st.booleans()):
        building = Building(
            htc_w_per_k=float(rng.uniform(100, 300)),
            capacity_kwh_per_k=float(rng.uniform(4, 12)),
            initial_indoor_c=float(rng.uniform(19.5, 21.5)),
            internal_gains_kw=float(rng.uniform(0, 0.4)),
        )
        comfort = Comfort(min_c=float(rng.uniform(18, 19.5)), max_c=float(rng.uniform(21.5, 23)))
        pump = HeatPump()
        worst = building.htc_w_per_k / 1000 * (comfort.max_c - outdoor.min())
        pump = HeatPump(max_electric_kw=1.2 * worst / staffell_ashp_cop(outdoor, pump).min())
        kw["heating"] = Heating(heat_pump=pump, building=building, comfort=comfort)
    if draw(st.booleans()):
        reserve = float(rng.uniform(0, 0.2))
        kw["battery"] = Battery(
            capacity_kwh=float(rng.uniform(5, 13.5)),
            max_kw=float(rng.uniform(2.5, 5)),
            round_trip_efficiency=float(rng.uniform(0.85, 0.95)),
            initial_soc=float(rng.uniform(reserve, 1)),
            reserve_soc=reserve,
        )
    return problem(n, **kw)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(households())
def test_plan_respects_limits_and_beats_unmanaged(p: PlanningProblem) -> None:
    ev = p.ev  # feasibility checked independently: max kW x plugged hours before ready-by x efficiency
    reachable = (
        ev is None or ev.max_kw * (ev.ready_by_step - ev.arrival_step) * DT * ev.efficiency >= ev.target_kwh
    )
    r = plan(p)
    if not reachable:
        assert r.status is PlanStatus.INFEASIBLE
        assert "EV target not reachable by ready-by" in r.reason
        return
    check_plan(p, r)
    base = unmanaged(p)
    assert base.status is PlanStatus.UNMANAGED
    assert r.cost_gbp <= base.cost_gbp + 1e-3


@FAST
@given(households(), st.floats(0.5, 6.0), st.integers(0, 40), st.integers(1, 12))
def test_import_cap_respected_or_reported(p: PlanningProblem, cap_kw: float, first: int, length: int) -> None:
    caps = np.full(p.n_steps, np.inf)
    caps[first : first + length] = cap_kw
    capped = problem(
        p.n_steps,
        tariff=p.tariff,
        base_load_kw=p.base_load_kw,
        pv_kw=p.pv_kw,
        outdoor_c=p.outdoor_c,
        max_export_kw=p.max_export_kw,
        ev=p.ev,
        heating=p.heating,
        battery=p.battery,
        import_cap_kw=caps,
    )
    r = plan(capped)
    if r.status is PlanStatus.OPTIMAL:
        check_plan(capped, r)
    else:
        assert r.status is PlanStatus.INFEASIBLE
        assert r.reason
