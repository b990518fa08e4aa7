"""Stage 3, pure: DSO events as import caps in the household's plan, what the household can deliver,
and the post-event ramp that stops a synchronised rebound.

The reference is the stage-2 plan without events: a reduction is delivered against what the household
would otherwise have imported. After an event, import may exceed the reference only by a growing share
of the reduction over ``RAMP_STEPS`` steps, so deferred charging and reheating come back gradually.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from homeflex.control.planner import Plan, PlanningProblem, plan
from homeflex.control.planner.problem import FloatArray
from homeflex.control.schedule import Schedule
from homeflex.core.domain import FlexEvent

RAMP_STEPS = 2
BISECTIONS = 4  # share resolution 1/16 when the full request cannot be met
BEST_EFFORT_GBP_PER_KWH = 5.0  # the price of falling short of an accepted event's cap


def event_steps(start: datetime, n: int, step_h: float, event: FlexEvent) -> range:
    """Steps of the horizon that overlap the event window."""
    step = timedelta(hours=step_h)
    first = max(0, math.floor((event.start - start) / step))
    last = min(n, math.ceil((event.end - start) / step))
    return range(first, max(first, last))


Frozen = Mapping[str, Mapping[datetime, float]]  # event id -> step start -> reference net import (kW)


def freeze_reference(problem: PlanningProblem, reference: Plan, event: FlexEvent) -> dict[datetime, float]:
    """The reference's net import over the event's steps and its ramp, by step start: what the
    household committed to deliver against, kept as it was when the event was accepted."""
    step = timedelta(hours=problem.step_h)
    steps = event_steps(problem.start, problem.n_steps, problem.step_h, event)
    last = min(problem.n_steps, steps.stop + RAMP_STEPS)
    return {problem.start + t * step: float(reference.net_import_kw[t]) for t in range(steps.start, last)}


def event_caps(
    problem: PlanningProblem,
    reference: Plan,
    events: Sequence[FlexEvent],
    *,
    share: float = 1.0,
    ramp_steps: int = RAMP_STEPS,
    sheddable_kw: float = 0.0,
    frozen: Frozen | None = None,
) -> FloatArray:
    """Per-step net-import caps (kW, inf where free) for ``share`` of each event's requested reduction.

    The reference is ``frozen[event_id]`` where the event has one (a later plan may already have moved
    load out of the window; the commitment stays), else ``reference``. ``sheddable_kw`` is load outside
    the plan that is switched off for events (smart plugs running now): the reference imports it too,
    so the cap sits that much higher and the plan need not find it."""
    n, step = problem.n_steps, timedelta(hours=problem.step_h)
    caps = np.full(n, np.inf)
    for event in events:
        if event.cancelled:
            continue
        pinned = (frozen or {}).get(event.event_id, {})

        def ref(t: int, pinned: Mapping[datetime, float] = pinned) -> float:
            return pinned.get(problem.start + t * step, float(reference.net_import_kw[t]))

        reduction_kw = share * event.reduction_w / 1000
        for t in event_steps(problem.start, n, problem.step_h, event):
            caps[t] = min(caps[t], ref(t) + sheddable_kw - reduction_kw)  # below zero asks for export
        end = math.ceil((event.end - problem.start) / step)
        for k in range(1, ramp_steps + 1):  # also when the event ended just before this horizon
            t = end + k - 1
            if 0 <= t < n:
                caps[t] = min(caps[t], ref(t) + reduction_kw * k / (ramp_steps + 1))
    return caps


def with_caps(problem: PlanningProblem, caps: FloatArray) -> PlanningProblem:
    return replace(problem, import_cap_kw=caps)


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """What the household can deliver for an event, planned against its preferences."""

    event_id: str
    requested_kw: float
    share: float  # of the request that the plan delivers, 0..1
    plan: Plan  # the plan with the caps (the reference when share is 0)
    reference: Plan
    reason: str  # why not the full request (the planner's diagnosis), or ""

    @property
    def deliverable_kw(self) -> float:
        return self.share * self.requested_kw

    @property
    def extra_cost_gbp(self) -> float:
        """What delivering costs the household on its tariff, before any flex payment."""
        return self.plan.cost_gbp - self.reference.cost_gbp


def assess(
    problem: PlanningProblem,
    reference: Plan,
    event: FlexEvent,
    others: Sequence[FlexEvent] = (),
    *,
    sheddable_kw: float = 0.0,
) -> Assessment:
    """The largest share of ``event`` (alongside ``others`` already accepted) the household can deliver
    without breaking a preference: the full request first, then the least share, then bisection on the
    share (feasibility falls as the share rises: a larger reduction is a lower cap)."""
    requested = event.reduction_w / 1000

    def attempt(share: float, explain: bool = False) -> Plan:
        caps = event_caps(problem, reference, others, sheddable_kw=sheddable_kw)
        caps = np.minimum(
            caps, event_caps(problem, reference, [event], share=share, sheddable_kw=sheddable_kw)
        )
        return plan(with_caps(problem, caps), explain=explain)

    full = attempt(1.0, explain=True)  # only the full request's failure is the reason given
    if full.ok:
        return Assessment(
            event_id=event.event_id,
            requested_kw=requested,
            share=1.0,
            plan=full,
            reference=reference,
            reason="",
        )
    # The least share the bisection can settle on first: when even that is out of reach (the plan has
    # already moved everything flexible out of the window, the common case) the other steps need not run.
    least = 0.5**BISECTIONS
    floor = attempt(least)
    low, high, best = 0.0, 1.0, reference
    for _ in range(BISECTIONS if floor.ok else 0):
        mid = (low + high) / 2
        tried = floor if mid == least else attempt(mid)
        if tried.ok:
            low, best = mid, tried
        else:
            high = mid
    return Assessment(
        event_id=event.event_id,
        requested_kw=requested,
        share=low,
        plan=best,
        reference=reference,
        reason=full.reason,
    )


def schedule_with_events(
    reference: Schedule,
    events: Sequence[FlexEvent],
    *,
    sheddable_kw: float = 0.0,
    frozen: Frozen | None = None,
) -> tuple[Schedule, float]:
    """The reference schedule with the accepted events as caps, and the share of the requested energy
    it plans to deliver. The caps are soft at ``BEST_EFFORT_GBP_PER_KWH``, far above any tariff: once
    the household has opted in, the plan delivers all it can within its preferences even when things
    have changed since (a colder evening, an emptier battery), rather than give up on the event."""
    live = [e for e in events if not e.cancelled]
    if not live or not reference.ok:
        return reference, 0.0
    caps = event_caps(reference.problem, reference.plan, live, sheddable_kw=sheddable_kw, frozen=frozen)
    problem = replace(with_caps(reference.problem, caps), cap_penalty_gbp_per_kwh=BEST_EFFORT_GBP_PER_KWH)
    result = plan(problem)
    if not result.ok:
        return replace(reference, notes=(*reference.notes, f"events not planned: {result.reason}")), 0.0
    capped = np.isfinite(caps)
    over = np.maximum(result.net_import_kw - caps - 1e-6, 0.0)[capped].sum()  # beyond solver tolerance
    asked = sum(
        e.reduction_w / 1000 * len(event_steps(problem.start, problem.n_steps, problem.step_h, e))
        for e in live
    )
    share = 1.0 if asked <= 0 else max(0.0, 1.0 - float(over) / asked)
    notes = reference.notes + (() if share > 0.99 else (f"events planned at {share:.0%} (best effort)",))
    return replace(reference, problem=problem, plan=result, notes=notes), share
