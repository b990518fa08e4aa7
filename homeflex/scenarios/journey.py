"""Each simulated household's way through the customer journey, on the portal's own state machine:
from its expression of interest to installation (stage 1), or out of the journey at some step.

Drop-off and step durations are assumptions (no measured funnel exists yet for such a scheme): passive
customers (C, D) are assumed to leave more often than active ones (A, B), vulnerable customers a little
more often again. ``scale`` multiplies every leaving probability, so a scenario can ask "what if half as
many left?". The walk is seeded per household: the same population gives the same funnel.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from homeflex.core.domain import Category
from homeflex.portal.journey import ORDER, Role, Step, start, transition

# The steps a customer can leave from on the way to installation, in order.
BEFORE_INSTALL: tuple[Step, ...] = ORDER[: ORDER.index(Step.STAGE_1)]

# Probability of leaving at each step before moving on (assumed; see the module docstring).
LEAVING: dict[Category, tuple[float, ...]] = {
    #                interest session invited account profile plan assessment
    Category.A: (0.05, 0.03, 0.02, 0.02, 0.02, 0.05, 0.05),
    Category.B: (0.15, 0.08, 0.05, 0.04, 0.05, 0.10, 0.08),
    Category.C: (0.25, 0.12, 0.08, 0.06, 0.08, 0.15, 0.10),
    Category.D: (0.35, 0.18, 0.12, 0.08, 0.10, 0.20, 0.10),
}
VULNERABLE_EXTRA = 0.05  # added at each step
# Median days spent at each step before moving on (drawn +-50 %).
DAYS: tuple[float, ...] = (14, 7, 3, 5, 4, 10, 21)
# Who moves a customer on from each step (one of the roles the state machine allows).
MOVER: dict[Step, Role] = {
    Step.INTEREST: Role.PUBLIC,
    Step.SESSION_BOOKED: Role.OPERATOR,
    Step.INVITED: Role.PUBLIC,
    Step.ACCOUNT: Role.HOUSEHOLDER,
    Step.PROFILE: Role.HOUSEHOLDER,
    Step.PLAN: Role.HOUSEHOLDER,
    Step.ASSESSMENT_BOOKED: Role.INSTALLER,
}


@dataclass(frozen=True, kw_only=True)
class JourneyOutcome:
    household_id: str
    category: str
    vulnerable: bool
    reached: Step  # the last step reached before leaving, or STAGE_1 once installed
    left: bool
    days: tuple[float, ...]  # days spent at each step passed

    @property
    def installed(self) -> bool:
        return not self.left


def leaving_probability(category: Category, vulnerable: bool, index: int, scale: float) -> float:
    p = LEAVING[category][index] + (VULNERABLE_EXTRA if vulnerable else 0.0)
    return min(1.0, max(0.0, p * scale))


def walk(
    household_id: str,
    category: Category,
    vulnerable: bool,
    *,
    interest_at: datetime,
    seed: int | str,
    scale: float = 1.0,
) -> JourneyOutcome:
    """Walk one household from interest towards installation through the portal's ``transition``."""
    rng = random.Random(f"{seed}:journey")
    state, _ = start(household_id, interest_at)
    days: list[float] = []
    for index, step in enumerate(BEFORE_INSTALL):
        at = state.since + timedelta(days=DAYS[index] * rng.uniform(0.5, 1.5))
        if rng.random() < leaving_probability(category, vulnerable, index, scale):
            state, _ = transition(state, Step.LEFT, actor=household_id, role=Role.HOUSEHOLDER, at=at)
            return JourneyOutcome(
                household_id=household_id,
                category=str(category),
                vulnerable=vulnerable,
                reached=step,
                left=True,
                days=tuple(days),
            )
        nxt = ORDER[index + 1]
        state, _ = transition(state, nxt, actor="simulated", role=MOVER[step], at=at)
        days.append((at - interest_at).total_seconds() / 86400 - sum(days))
    return JourneyOutcome(
        household_id=household_id,
        category=str(category),
        vulnerable=vulnerable,
        reached=state.step,
        left=False,
        days=tuple(days),
    )


@dataclass(frozen=True, kw_only=True)
class Funnel:
    """One group's funnel: how many reached each step, and the median days to installation."""

    group: str
    started: int
    reached: tuple[int, ...]  # per step of BEFORE_INSTALL, then installed
    median_days_to_install: float

    @property
    def installed(self) -> int:
        return self.reached[-1]


def funnel(outcomes: Sequence[JourneyOutcome], group: str) -> Funnel:
    """``group``: a category letter, "vulnerable" or "all"."""
    members = [
        o for o in outcomes if group in ("all", o.category) or (group == "vulnerable" and o.vulnerable)
    ]
    steps = (*BEFORE_INSTALL, Step.STAGE_1)
    reached = tuple(sum(steps.index(o.reached) >= i for o in members) for i in range(len(steps)))
    totals = [sum(o.days) for o in members if o.installed]
    median = statistics.median(totals) if totals else float("nan")
    return Funnel(group=group, started=len(members), reached=reached, median_days_to_install=median)
