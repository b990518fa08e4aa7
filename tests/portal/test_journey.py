"""The journey state machine, exhaustively: every (step, target, role) is either allowed by the table
or refused with a message that says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from homeflex.portal.journey import (
    LEAVE_ROLES,
    ORDER,
    RETURN_ROLES,
    TRANSITIONS,
    JourneyError,
    JourneyState,
    Role,
    Step,
    allowed_next,
    progress,
    stage_of,
    start,
    transition,
)

T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)


def state(step: Step, left_from: Step | None = None) -> JourneyState:
    return JourneyState(household_id="hh1", step=step, since=T0, left_from=left_from)


def expected(frm: JourneyState, to: Step, role: Role) -> bool:
    if frm.step is Step.LEFT:
        return to is frm.left_from and role in RETURN_ROLES
    if to is Step.LEFT:
        return role in LEAVE_ROLES
    return role in TRANSITIONS.get((frm.step, to), frozenset())


STATES = [state(s) for s in ORDER] + [state(Step.LEFT, s) for s in ORDER]


@pytest.mark.parametrize("frm", STATES, ids=lambda s: f"{s.step.value}<-{s.left_from}")
def test_every_transition_is_allowed_or_refused_clearly(frm: JourneyState) -> None:
    for to in Step:
        for role in Role:
            if expected(frm, to, role):
                new, entry = transition(frm, to, actor="x@example.org", role=role, at=LATER, reason="r")
                assert new.step is to and new.since == LATER
                assert new.left_from == (frm.step if to is Step.LEFT else None)
                assert (entry.from_step, entry.to_step, entry.role, entry.at) == (frm.step, to, role, LATER)
                assert to in allowed_next(frm, role)
            else:
                with pytest.raises(JourneyError) as err:
                    transition(frm, to, actor="x@example.org", role=role, at=LATER)
                assert len(str(err.value)) > 15
                assert to not in allowed_next(frm, role)


def test_messages_say_what_is_wrong() -> None:
    with pytest.raises(JourneyError, match="the customer is already at Plan"):
        transition(state(Step.PLAN), Step.PLAN, actor="a", role=Role.OPERATOR, at=LATER)
    with pytest.raises(JourneyError, match="from here the journey goes to Smart energy profile"):
        transition(state(Step.ACCOUNT), Step.STAGE_3, actor="a", role=Role.OPERATOR, at=LATER)
    with pytest.raises(JourneyError, match="only operator may move"):
        transition(state(Step.STAGE_1), Step.STAGE_2, actor="a", role=Role.HOUSEHOLDER, at=LATER)
    with pytest.raises(JourneyError, match=r"can only return to where they left \(Plan\)"):
        transition(state(Step.LEFT, Step.PLAN), Step.STAGE_1, actor="a", role=Role.OPERATOR, at=LATER)
    with pytest.raises(JourneyError, match="installer cannot take a customer out"):
        transition(state(Step.PLAN), Step.LEFT, actor="a", role=Role.INSTALLER, at=LATER)
    with pytest.raises(JourneyError, match="before the current step began"):
        transition(
            state(Step.PLAN), Step.PROFILE, actor="a", role=Role.OPERATOR, at=T0 - timedelta(seconds=1)
        )


def test_blockers_refuse_and_are_quoted() -> None:
    with pytest.raises(JourneyError, match="yet: 3 of 14 days observed; coverage 40 % < 80 %"):
        transition(
            state(Step.STAGE_1),
            Step.STAGE_2,
            actor="op",
            role=Role.OPERATOR,
            at=LATER,
            blockers=["3 of 14 days observed", "coverage 40 % < 80 %"],
        )


def test_whole_journey_leave_and_return_with_audit() -> None:
    s, first = start("hh1", T0)
    assert (s.step, first.from_step, first.to_step) == (Step.INTEREST, None, Step.INTEREST)
    moves = [
        (Step.SESSION_BOOKED, Role.PUBLIC),
        (Step.INVITED, Role.OPERATOR),
        (Step.ACCOUNT, Role.PUBLIC),
        (Step.PROFILE, Role.HOUSEHOLDER),
        (Step.PLAN, Role.HOUSEHOLDER),
        (Step.LEFT, Role.HOUSEHOLDER),
        (Step.PLAN, Role.HOUSEHOLDER),
        (Step.ASSESSMENT_BOOKED, Role.HOUSEHOLDER),
        (Step.STAGE_1, Role.INSTALLER),
        (Step.STAGE_2, Role.OPERATOR),
        (Step.STAGE_3, Role.OPERATOR),
        (Step.STAGE_2, Role.OPERATOR),
    ]
    trail = [first]
    for i, (to, role) in enumerate(moves):
        s, entry = transition(s, to, actor="someone", role=role, at=T0 + timedelta(days=i + 1))
        trail.append(entry)
    assert s.step is Step.STAGE_2 and stage_of(s.step) is not None and int(stage_of(s.step)) == 2
    assert [e.to_step for e in trail][6:8] == [Step.LEFT, Step.PLAN]
    assert trail[7].reason == "returned"


def test_progress_marks_done_current_and_todo() -> None:
    marks = dict(progress(Step.PLAN))
    assert marks[Step.PROFILE] == "done" and marks[Step.PLAN] == "current" and marks[Step.STAGE_1] == "todo"
    assert dict(progress(Step.LEFT, Step.PROFILE))[Step.PROFILE] == "current"
