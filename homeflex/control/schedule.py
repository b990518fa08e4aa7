"""Stage 2 and 3, pure: the household's planning problem from what the loop knows, the plan, and the
device settings for the current step. No I/O and no clock: ``now`` is an argument.

Horizon: half-hour steps from the start of the current UTC half-hour, ``HORIZON_H`` hours ahead.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from homeflex.control.forecast import Forecast
from homeflex.control.planner import (
    Battery,
    Comfort,
    EvSession,
    Heating,
    Plan,
    PlanningProblem,
    Tariff,
    plan,
)
from homeflex.control.planner.problem import FloatArray
from homeflex.control.planner.thermal import cop_series
from homeflex.control.prices import horizon_prices
from homeflex.control.setup import HouseholdSetup
from homeflex.core.domain import DeviceKind, HouseholdSpec
from homeflex.core.timeutil import LONDON, period_start

STEP_H = 0.5
HORIZON_H = 36.0

TAPER_PLANNED_SOC = 0.99
DIVERSITY_GBP_PER_KWH = 0.003
MAX_EXPORT_KW = 3.68  # G98 single-phase limit
# Re-plan when the car is this far behind its plan, or this far in the last hours before it should be
# ready: the charger's random delay alone loses up to ~1.2 kWh at each start, and makes it up later.
EV_BEHIND_KWH = 3.0
EV_BEHIND_LATE_KWH = 0.25
EV_LATE_H = 1.0
States = Mapping[str, Mapping[str, Any]]


def n_steps(horizon_h: float = HORIZON_H, step_h: float = STEP_H) -> int:
    return round(horizon_h / step_h)


def horizon_start(now: datetime) -> datetime:
    return period_start(now)


def step_index(start: datetime, now: datetime, step_h: float = STEP_H) -> int:
    return max(0, math.floor((now - start).total_seconds() / 3600 / step_h))


def _number(state: Mapping[str, Any] | None, key: str) -> float | None:
    value = None if state is None else state.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def ready_by_step(setup: HouseholdSetup, start: datetime, now: datetime, step_h: float) -> int:
    """Steps from ``start`` to the next local ready-by time after ``now``, rounded down to a boundary."""
    local = now.astimezone(LONDON)
    hour = setup.preferences.ev_ready_by_h
    ready = local.replace(hour=int(hour), minute=round(hour % 1 * 60), second=0, microsecond=0)
    if ready <= local:
        ready = (local + timedelta(days=1)).replace(hour=ready.hour, minute=ready.minute)
    return math.floor((ready - start).total_seconds() / 3600 / step_h)


def ev_need_kwh(spec: HouseholdSpec, setup: HouseholdSetup, states: States) -> float | None:
    """What the plugged-in car needs to reach its target (kWh), or None: no car plugged in, or it
    needs nothing (under 0.05 kWh). The cheap part of ``ev_session``, asked at every tick."""
    device = spec.device(DeviceKind.EV_CHARGER)
    state = states.get(device.id) if device else None
    soc = _number(state, "soc")
    if state is None or not state.get("plugged") or soc is None:
        return None
    need = max(0.0, _ev_target(setup, state) - soc) * setup.equipment.ev_capacity_kwh
    return None if need < 0.05 else need


def _ev_target(setup: HouseholdSetup, state: Mapping[str, Any]) -> float:
    """The state of charge the car should reach: its own target when it reports one, else the
    household's preference."""
    return _number(state, "target_soc") or setup.preferences.ev_target_soc


def ev_session(
    spec: HouseholdSpec, setup: HouseholdSetup, states: States, start: datetime, now: datetime, n: int
) -> EvSession | None:
    """The plugged-in car's charging need, or None when no car is plugged in or it needs nothing."""
    device = spec.device(DeviceKind.EV_CHARGER)
    need = ev_need_kwh(spec, setup, states)
    if device is None or need is None:
        return None
    state = states[device.id]
    soc, target = float(state["soc"]), _ev_target(setup, state)
    ready = min(max(ready_by_step(setup, start, now, STEP_H), 1), n)
    max_kw = device.max_power_w / 1000
    early = max(1, ready - taper_steps(setup, soc, target, max_kw))
    return EvSession(
        arrival_step=0,
        departure_step=ready,
        ready_by_step=early,
        target_kwh=need,
        max_kw=max_kw,
        efficiency=setup.equipment.ev_efficiency,
    )


def taper_steps(setup: HouseholdSetup, soc: float, target: float, max_kw: float) -> int:
    """Steps the car needs above its taper point, where power falls linearly to zero at full (CC-CV):
    the plan finishes that much earlier and the car tapers in its own time after."""
    eq = setup.equipment
    knee = eq.ev_taper_soc
    if target <= knee:
        return 0
    tau_h = (1 - knee) * eq.ev_capacity_kwh / (max_kw * eq.ev_efficiency)
    start = max(soc, knee)
    # Full is approached only asymptotically: plan for 99 % at most.
    hours = tau_h * math.log((1 - start) / (1 - min(target, TAPER_PLANNED_SOC)))
    return math.ceil(max(0.0, hours) / STEP_H)


def heating(spec: HouseholdSpec, setup: HouseholdSetup, states: States) -> Heating | None:
    device = spec.device(DeviceKind.HEAT_PUMP)
    indoor = _number(states.get(device.id), "indoor_c") if device else None
    if device is None or indoor is None:
        return None
    prefs, eq = setup.preferences, setup.equipment
    low = prefs.comfort_min_c + (prefs.vulnerable_margin_c if spec.vulnerable else 0.0)
    return Heating(
        heat_pump=replace(eq.heat_pump, max_electric_kw=device.max_power_w / 1000),
        building=replace(eq.building, initial_indoor_c=indoor),
        comfort=Comfort(min_c=low, max_c=max(prefs.comfort_max_c, low + 0.5), vulnerable=spec.vulnerable),
    )


def battery(spec: HouseholdSpec, setup: HouseholdSetup, states: States) -> Battery | None:
    device = spec.device(DeviceKind.BATTERY)
    soc = _number(states.get(device.id), "soc") if device else None
    if device is None or soc is None:
        return None
    reserve = setup.preferences.battery_reserve_soc
    return Battery(
        capacity_kwh=setup.equipment.battery_capacity_kwh,
        max_kw=device.max_power_w / 1000,
        round_trip_efficiency=setup.equipment.battery_round_trip,
        initial_soc=min(1.0, max(soc, reserve)),
        reserve_soc=reserve,
    )


def _known(spec: HouseholdSpec, states: States, key: str, kind: DeviceKind = DeviceKind.HEAT_PUMP) -> bool:
    """Whether the device of ``kind`` reports ``key`` (what ``heating``/``battery`` need to plan it)."""
    device = spec.device(kind)
    return device is not None and _number(states.get(device.id), key) is not None


def ev_behind_kwh(
    spec: HouseholdSpec, setup: HouseholdSetup, schedule: Schedule, states: States, now: datetime
) -> float:
    """How much more energy the plugged-in car still needs than the plan expects by ``now`` (kWh): a
    car charging slower than planned (its taper, the charger's random delay) would otherwise miss its
    ready-by when plans are far apart. 0 without a planned session or above the taper knee."""
    p, device = schedule.problem, spec.device(DeviceKind.EV_CHARGER)
    state = states.get(device.id) if device else None
    soc = _number(state, "soc")
    if p.ev is None or soc is None or not schedule.ok or not (state or {}).get("plugged"):
        return 0.0
    if soc >= setup.equipment.ev_taper_soc:  # tapering at its own pace, as the plan's ready-by allows
        return 0.0
    need = max(0.0, _ev_target(setup, state or {}) - soc) * setup.equipment.ev_capacity_kwh
    steps = (now - p.start).total_seconds() / 3600 / p.step_h
    whole = min(int(steps), p.n_steps)
    planned_kw = schedule.plan.ev_kw
    done_steps = float(np.sum(planned_kw[:whole])) + (
        float(planned_kw[whole]) * (steps - whole) if whole < p.n_steps else 0.0
    )
    planned_need = p.ev.target_kwh - done_steps * p.step_h * p.ev.efficiency
    return need - planned_need


def _late_with_room(schedule: Schedule, t: int, now: datetime) -> bool:
    """In the last hour before the car should be ready, with the plan leaving the charger room to go
    faster at step ``t``: only then can a re-plan for a small shortfall help."""
    p = schedule.problem
    if p.ev is None:
        return False
    late = now >= p.start + timedelta(hours=p.step_h * p.ev.ready_by_step - EV_LATE_H)
    return late and float(schedule.plan.ev_kw[t]) < p.ev.max_kw - 0.1


def max_import_kw(spec: HouseholdSpec, setup: HouseholdSetup) -> float:
    own = setup.preferences.max_import_kw
    return min(spec.max_import_w / 1000, own if own is not None else math.inf)


def diversified(tariff: Tariff, household_id: str, start: datetime) -> Tariff:
    """The tariff with a tiny fixed offset per household and half-hour (under DIVERSITY_GBP_PER_KWH).

    Households on the same tariff would otherwise all start charging and heating at the same half-hour
    boundary; the offset breaks the ties differently in each home, the same way at every re-plan, and
    moves no household more than a fraction of a penny per kWh from its cheapest plan."""
    offset = _diversity(household_id, start, tariff.import_gbp_per_kwh.size)
    imp = tariff.import_gbp_per_kwh + DIVERSITY_GBP_PER_KWH * offset
    return Tariff(import_gbp_per_kwh=imp, export_gbp_per_kwh=np.minimum(tariff.export_gbp_per_kwh, imp))


@functools.lru_cache(maxsize=1024)
def _diversity(household_id: str, start: datetime, n: int) -> FloatArray:
    """The household's offsets in [0, 1) per step (cached: a horizon is priced again at each re-plan)."""
    steps = [start + timedelta(hours=STEP_H * t) for t in range(n)]
    offset = np.array([zlib.crc32(f"{household_id}|{t.timestamp():.0f}".encode()) / 2**32 for t in steps])
    offset.flags.writeable = False
    return offset


def build_problem(
    spec: HouseholdSpec,
    setup: HouseholdSetup,
    forecast: Forecast,
    states: States,
    now: datetime,
    *,
    caps_kw: FloatArray | None = None,
) -> PlanningProblem:
    start = horizon_start(now)
    n = forecast.base_load_kw.size
    pv = spec.device(DeviceKind.PV)
    return PlanningProblem(
        start=start,
        now=now,
        tariff=diversified(horizon_prices(setup.tariff, start, n, STEP_H), spec.id, start),
        base_load_kw=forecast.base_load_kw,
        pv_kw=forecast.pv_kw if pv else np.zeros(n),
        outdoor_c=forecast.outdoor_c,
        step_h=STEP_H,
        max_import_kw=max_import_kw(spec, setup),
        max_export_kw=min(MAX_EXPORT_KW, pv.max_power_w / 1000) if pv else MAX_EXPORT_KW,
        ev=ev_session(spec, setup, states, start, now, n),
        heating=heating(spec, setup, states),
        battery=battery(spec, setup, states),
        import_cap_kw=caps_kw,
    )


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A plan and what it was made from. ``fallbacks`` names devices left to their default behaviour
    because the plan could not meet their requirement (the reason is in ``notes``)."""

    problem: PlanningProblem
    plan: Plan
    fallbacks: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.plan.ok

    @functools.cached_property
    def heat_pump_min_w(self) -> FloatArray:
        """Per step, the least electrical power the heat pump runs at (W): its minimum heat output over
        the step's COP; zeros without heating. Worked out once per schedule, read at every tick."""
        heating, n = self.problem.heating, self.problem.n_steps
        if heating is None or heating.heat_pump.min_thermal_kw <= 0:
            return np.zeros(n)
        pump = heating.heat_pump
        minimum: FloatArray = 1000 * pump.min_thermal_kw / cop_series(pump, self.problem.outdoor_c)
        return minimum


def make_schedule(problem: PlanningProblem) -> Schedule:
    """Plan; when infeasible, leave the EV or the heating (whichever the planner blames first) to its
    default (charge now, hold the thermostat), which is the best it can do anyway, and plan the rest."""
    result = plan(problem)
    notes: list[str] = []
    fallbacks: set[str] = set()
    # Drop first what the planner blames: the comfort band, else the EV.
    order = ("heating", "ev") if "comfort" in result.reason else ("ev", "heating")
    for device in order:
        if result.ok or getattr(problem, device) is None:
            continue
        notes.append(f"{device} left to its default: {result.reason}")
        fallbacks.add(device)
        problem = replace(problem, ev=None) if device == "ev" else replace(problem, heating=None)
        result = plan(problem)
    if not result.ok:
        notes.append(result.reason)
    return Schedule(problem=problem, plan=result, fallbacks=frozenset(fallbacks), notes=tuple(notes))


def deviation(
    spec: HouseholdSpec,
    setup: HouseholdSetup,
    schedule: Schedule,
    states: States,
    now: datetime,
    *,
    indoor_tolerance_c: float = 1.0,
    soc_tolerance: float = 0.15,
) -> str | None:
    """Why the schedule no longer fits what the devices report (re-plan), or None."""
    p = schedule.problem
    t = min(step_index(p.start, now, STEP_H), p.n_steps - 1)
    wanted_ev = ev_need_kwh(spec, setup, states) is not None
    if wanted_ev and p.ev is None and "ev" not in schedule.fallbacks:
        return "EV plugged in"
    # A car gone (or full) matters only while the plan still means to charge it
    if not wanted_ev and p.ev is not None and schedule.ok and float(np.sum(schedule.plan.ev_kw[t:])) > 0.01:
        return "EV unplugged or charged"
    if p.heating is None and "heating" not in schedule.fallbacks and _known(spec, states, "indoor_c"):
        return "heat pump state known"
    if p.battery is None and _known(spec, states, "soc", DeviceKind.BATTERY):
        return "battery state known"
    if not schedule.ok:
        return None
    hp = spec.device(DeviceKind.HEAT_PUMP)
    indoor = _number(states.get(hp.id), "indoor_c") if hp else None
    if p.heating is not None and indoor is not None:
        planned = float(schedule.plan.indoor_c[t])
        if abs(indoor - planned) > indoor_tolerance_c:
            return f"indoor {indoor:.1f} °C, planned {planned:.1f} °C"
    behind = ev_behind_kwh(spec, setup, schedule, states, now)
    if behind > EV_BEHIND_KWH or (behind > EV_BEHIND_LATE_KWH and _late_with_room(schedule, t, now)):
        return f"EV {behind:.1f} kWh behind its plan"
    bat = spec.device(DeviceKind.BATTERY)
    soc = _number(states.get(bat.id), "soc") if bat else None
    if p.battery is not None and soc is not None:
        planned_soc = float(schedule.plan.battery_soc_kwh[t]) / p.battery.capacity_kwh
        if abs(soc - planned_soc) > soc_tolerance:
            return f"battery at {soc:.0%}, planned {planned_soc:.0%}"
    return None
