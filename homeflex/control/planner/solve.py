"""``plan``: solve the stage-2 LP with HiGHS and read the setpoints back; diagnose infeasibility."""

from __future__ import annotations

import functools
import os
import sys

import highspy
import numpy as np

from homeflex.control.planner.model import Col, LpArrays, Relax, build
from homeflex.control.planner.plan import Plan, PlanStatus, failed_plan
from homeflex.control.planner.problem import FloatArray, PlanningProblem

_INF = highspy.kHighsInf


@functools.cache
def _solver() -> highspy.Highs:
    """One quiet solver per process (HiGHS prints a banner to stdout whenever one is created)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call,unused-ignore]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    # Primal simplex without presolve: on these small household LPs (~720 columns, ~290 rows) it is
    # ~25 % faster than the defaults for the same optima (bench: python -m bench planning).
    h.setOptionValue("presolve", "off")
    h.setOptionValue("simplex_strategy", 4)
    return h


def _finite(x: FloatArray) -> FloatArray:
    return np.clip(x, -_INF, _INF)


# The model in the solver: a problem that differs from it only in its row bounds (the same household's
# horizon with other DSO caps, as when bisecting on an event's share) starts from its optimal basis.
_loaded: LpArrays | None = None


def _same_but_row_bounds(a: LpArrays, b: LpArrays) -> bool:
    return (
        a.row_lower.size == b.row_lower.size
        and a.rows.size == b.rows.size
        and all(
            np.array_equal(getattr(a, name), getattr(b, name))
            for name in ("cost", "col_lower", "col_upper", "rows", "cols", "vals")
        )
    )


def _solve(arrays: LpArrays) -> tuple[highspy.HighsModelStatus, FloatArray]:
    global _loaded
    h = _solver()
    # Columns fixed at zero (devices the household does not have, charging outside the EV's window)
    # go to HiGHS not at all: about two thirds of a typical household's columns, and every simplex
    # iteration prices each column. They are zero in the solution.
    keep = (arrays.col_lower != 0) | (arrays.col_upper != 0)
    n_row = arrays.row_lower.size
    if _loaded is not None and _same_but_row_bounds(_loaded, arrays):
        h.changeRowsBounds(  # type: ignore[attr-defined]
            n_row, np.arange(n_row, dtype=np.int32), _finite(arrays.row_lower), _finite(arrays.row_upper)
        )
    else:
        _load(h, arrays, keep)
    _loaded = arrays
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        return status, np.zeros(0)
    x: FloatArray = np.zeros(arrays.cost.size)
    x[keep] = h.getSolution().col_value
    return status, x


def _load(h: highspy.Highs, arrays: LpArrays, keep: np.ndarray) -> None:
    new_index = np.cumsum(keep) - 1
    used = keep[arrays.cols]
    rows, cols, vals = arrays.rows[used], new_index[arrays.cols[used]], arrays.vals[used]
    order = np.argsort(rows, kind="stable")
    n_row = arrays.row_lower.size
    lp = highspy.HighsLp()
    lp.num_col_ = int(keep.sum())
    lp.num_row_ = n_row
    lp.col_cost_ = arrays.cost[keep]
    lp.col_lower_ = _finite(arrays.col_lower[keep])
    lp.col_upper_ = _finite(arrays.col_upper[keep])
    lp.row_lower_ = _finite(arrays.row_lower)
    lp.row_upper_ = _finite(arrays.row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n_row))))
    lp.a_matrix_.index_ = cols[order]
    lp.a_matrix_.value_ = vals[order]
    h.clearSolver()  # no warm start from another household's model
    h.passModel(lp)


def _plan_from(p: PlanningProblem, x: FloatArray) -> Plan:
    n = p.n_steps
    blocks = x.reshape(len(Col), n)

    def get(col: Col) -> FloatArray:
        v: FloatArray = blocks[col].copy()
        return v if col in (Col.INDOOR, Col.SOC) else np.maximum(v, 0.0)

    imp, exp = get(Col.IMPORT), get(Col.EXPORT)
    dt = p.step_h
    cost = float(np.sum(imp * p.tariff.import_gbp_per_kwh * dt - exp * p.tariff.export_gbp_per_kwh * dt))
    indoor0 = p.heating.building.initial_indoor_c if p.heating else float("nan")
    soc0 = p.battery.initial_soc * p.battery.capacity_kwh if p.battery else 0.0
    return Plan(
        status=PlanStatus.OPTIMAL,
        reason="",
        cost_gbp=cost,
        grid_import_kw=imp,
        grid_export_kw=exp,
        ev_kw=get(Col.EV),
        heat_pump_kw=get(Col.HP),
        battery_charge_kw=get(Col.CHARGE),
        battery_discharge_kw=get(Col.DISCHARGE),
        pv_curtailed_kw=get(Col.CURTAIL),
        indoor_c=np.concatenate(([indoor0], get(Col.INDOOR) if p.heating else np.full(n, np.nan))),
        battery_soc_kwh=np.concatenate(([soc0], get(Col.SOC))),
    )


def _feasible(p: PlanningProblem, relax: Relax) -> bool:
    return _solve(build(p, relax))[0] == highspy.HighsModelStatus.kOptimal


def diagnose(p: PlanningProblem) -> str:
    """Why ``p`` is infeasible, by checking requirements and re-solving with some of them dropped."""
    if p.ev is not None:
        reach = p.ev.max_deliverable_kwh(p.step_h, p.n_steps)
        if reach + 1e-9 < p.ev.target_kwh:
            return (
                f"EV target not reachable by ready-by: {p.ev.target_kwh:.2f} kWh needed, "
                f"at most {reach:.2f} kWh deliverable"
            )
    capped = bool(np.isfinite(p.import_cap_kw).any()) if p.import_cap_kw is not None else False
    if capped and _feasible(p, Relax(caps=True)):
        needs = [
            name
            for name, present in (
                ("the EV target", p.ev is not None),
                ("the comfort band", p.heating is not None),
                ("the battery reserve", p.battery is not None),
            )
            if present
        ]
        return "DSO import cap cannot be met together with " + (" and ".join(needs) or "the base load")
    if p.ev is not None and _feasible(p, Relax(ev=True)):
        return "EV target not reachable by ready-by within the household's import limits"
    if p.heating is not None and _feasible(p, Relax(comfort=True)):
        return "comfort band lower bound cannot be held within the household's import limits"
    return "base load and import limits are inconsistent (import needed above the cap)"


def plan(problem: PlanningProblem, *, explain: bool = True) -> Plan:
    """The least-cost plan for one household over the horizon; never raises for an infeasible problem.

    ``explain=False``: an infeasible plan's reason is left generic, saving the up to three re-solves
    that diagnose it (a search that only needs feasibility, e.g. bisection on an event's share)."""
    why = diagnose if explain else (lambda _: "infeasible")
    if problem.ev is not None:
        reach = problem.ev.max_deliverable_kwh(problem.step_h, problem.n_steps)
        if reach + 1e-9 < problem.ev.target_kwh:
            return failed_plan(PlanStatus.INFEASIBLE, why(problem))
    status, x = _solve(build(problem))
    if status == highspy.HighsModelStatus.kOptimal:
        return _plan_from(problem, x)
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return failed_plan(PlanStatus.INFEASIBLE, why(problem))
    return failed_plan(PlanStatus.ERROR, f"HiGHS model status {status.name}")
