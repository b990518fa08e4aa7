"""The customer journey as an explicit state machine (pure): steps, who may move a customer between
them, and a transition function that returns the new state with its audit entry or refuses clearly.

A customer can leave at any step and return to the step they left from. Stages 1-3 of the control
loop are the last three steps; moving back a stage is allowed (the operator may step a household down).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from homeflex.core.customer import AuditEntry, JourneyError, JourneyState, Role, Step
from homeflex.core.domain import Stage

# The vocabulary (steps, roles, states, audit entries) lives in homeflex.core.customer, so that storage
# can keep it without importing the portal; the portal names it from here.
__all__ = [
    "LEAVE_ROLES",
    "ORDER",
    "RETURN_ROLES",
    "SHORT",
    "STAGES",
    "TITLES",
    "TRANSITIONS",
    "AuditEntry",
    "JourneyError",
    "JourneyState",
    "Role",
    "Step",
    "allowed_next",
    "progress",
    "stage_of",
    "start",
    "transition",
]


ORDER: tuple[Step, ...] = tuple(s for s in Step if s is not Step.LEFT)

TITLES: dict[Step, str] = {
    Step.INTEREST: "Expression of interest",
    Step.SESSION_BOOKED: "Information session",
    Step.INVITED: "Invited to the portal",
    Step.ACCOUNT: "Account",
    Step.PROFILE: "Smart energy profile",
    Step.PLAN: "Plan",
    Step.ASSESSMENT_BOOKED: "Pre-installation",
    Step.STAGE_1: "Stage 1: learning",
    Step.STAGE_2: "Stage 2: automatic",
    Step.STAGE_3: "Stage 3: flexibility",
    Step.LEFT: "Left",
}

SHORT: dict[Step, str] = {  # chart labels
    Step.INTEREST: "Interest",
    Step.SESSION_BOOKED: "Session",
    Step.INVITED: "Invited",
    Step.ACCOUNT: "Account",
    Step.PROFILE: "Profile",
    Step.PLAN: "Plan",
    Step.ASSESSMENT_BOOKED: "Pre-inst.",
    Step.STAGE_1: "Stage 1",
    Step.STAGE_2: "Stage 2",
    Step.STAGE_3: "Stage 3",
    Step.LEFT: "Left",
}

STAGES: dict[Step, Stage] = {
    Step.STAGE_1: Stage.MANUAL,
    Step.STAGE_2: Stage.AUTOMATIC,
    Step.STAGE_3: Stage.FLEX,
}

_H, _I, _O, _P = Role.HOUSEHOLDER, Role.INSTALLER, Role.OPERATOR, Role.PUBLIC

# (from, to) -> the roles that may make the move. LEFT and returning are handled separately.
TRANSITIONS: dict[tuple[Step, Step], frozenset[Role]] = {
    (Step.INTEREST, Step.SESSION_BOOKED): frozenset({_P, _O}),
    (Step.SESSION_BOOKED, Step.INTEREST): frozenset({_P, _O}),  # booking cancelled
    (Step.SESSION_BOOKED, Step.INVITED): frozenset({_O}),
    (Step.INVITED, Step.ACCOUNT): frozenset({_P}),  # the invitee, through the invite link
    (Step.ACCOUNT, Step.PROFILE): frozenset({_H, _O}),
    (Step.PROFILE, Step.PLAN): frozenset({_H, _O}),
    (Step.PLAN, Step.PROFILE): frozenset({_H, _O}),  # change the profile, then choose again
    (Step.PLAN, Step.ASSESSMENT_BOOKED): frozenset({_H, _O}),
    (Step.ASSESSMENT_BOOKED, Step.PLAN): frozenset({_H, _O}),  # booking cancelled
    (Step.ASSESSMENT_BOOKED, Step.STAGE_1): frozenset({_I, _O}),  # installation recorded
    (Step.STAGE_1, Step.STAGE_2): frozenset({_O}),
    (Step.STAGE_2, Step.STAGE_3): frozenset({_O}),
    (Step.STAGE_3, Step.STAGE_2): frozenset({_O}),
    (Step.STAGE_2, Step.STAGE_1): frozenset({_O}),
}
LEAVE_ROLES = frozenset({_H, _O})
RETURN_ROLES = frozenset({_H, _O})


def start(household_id: str, at: datetime, *, actor: str = "public") -> tuple[JourneyState, AuditEntry]:
    """A new customer: their expression of interest."""
    state = JourneyState(household_id=household_id, step=Step.INTEREST, since=at)
    entry = AuditEntry(
        household_id=household_id,
        from_step=None,
        to_step=Step.INTEREST,
        actor=actor,
        role=Role.PUBLIC,
        at=at,
        reason="expression of interest",
    )
    return state, entry


def allowed_next(state: JourneyState, role: Role) -> list[Step]:
    """The steps `role` may move this customer to now."""
    if state.step is Step.LEFT:
        return [state.left_from] if role in RETURN_ROLES and state.left_from else []
    nxt = [to for (frm, to), roles in TRANSITIONS.items() if frm is state.step and role in roles]
    return [*nxt, Step.LEFT] if role in LEAVE_ROLES else nxt


def transition(
    state: JourneyState,
    to: Step,
    *,
    actor: str,
    role: Role,
    at: datetime,
    reason: str = "",
    blockers: Sequence[str] = (),
) -> tuple[JourneyState, AuditEntry]:
    """Move to `to`, or raise JourneyError. `blockers` are reasons the caller found that the move must
    wait for (e.g. stage-2 readiness not met); any blocker refuses the move and is quoted."""
    if at < state.since:
        raise JourneyError(f"a transition at {at.isoformat()} is before the current step began")
    _check(state, to, role)
    if blockers:
        raise JourneyError(
            f"cannot move from {TITLES[state.step]} to {TITLES[to]} yet: {'; '.join(blockers)}"
        )
    if to is Step.LEFT:
        new = replace(state, step=Step.LEFT, since=at, left_from=state.step)
    else:
        new = replace(state, step=to, since=at, left_from=None)
    entry = AuditEntry(
        household_id=state.household_id,
        from_step=state.step,
        to_step=to,
        actor=actor,
        role=role,
        at=at,
        reason=reason or ("returned" if state.step is Step.LEFT else ""),
    )
    return new, entry


def _check(state: JourneyState, to: Step, role: Role) -> None:
    if to is state.step:
        raise JourneyError(f"the customer is already at {TITLES[to]}")
    if state.step is Step.LEFT:
        if to is not state.left_from:
            back = TITLES[state.left_from] if state.left_from else "nothing"
            raise JourneyError(f"a customer who left can only return to where they left ({back})")
        if role not in RETURN_ROLES:
            raise JourneyError(f"a {role.value} cannot bring a customer back")
        return
    if to is Step.LEFT:
        if role not in LEAVE_ROLES:
            raise JourneyError(f"a {role.value} cannot take a customer out of the journey")
        return
    roles = TRANSITIONS.get((state.step, to))
    if roles is None:
        options = [TITLES[t] for (f, t) in TRANSITIONS if f is state.step]
        raise JourneyError(
            f"cannot move from {TITLES[state.step]} to {TITLES[to]}:"
            f" from here the journey goes to {', '.join(options) or 'nowhere'} (or the customer leaves)"
        )
    if role not in roles:
        who = ", ".join(sorted(r.value for r in roles))
        raise JourneyError(f"only {who} may move a customer from {TITLES[state.step]} to {TITLES[to]}")


def stage_of(step: Step) -> Stage | None:
    return STAGES.get(step)


def progress(step: Step, left_from: Step | None = None) -> list[tuple[Step, str]]:
    """Each step of the journey with 'done', 'current' or 'todo' (for the progress bar)."""
    here = left_from if step is Step.LEFT and left_from else step
    index = ORDER.index(here)
    return [(s, "done" if i < index else "current" if i == index else "todo") for i, s in enumerate(ORDER)]
