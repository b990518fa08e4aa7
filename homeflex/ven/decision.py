"""Whether a household opts in to a flex event, and why (pure), and the one path an event takes through
a household, live or simulated: assess, opt, accept (``decide_event``).

In stage 3 the household's planner says how much of the request it can deliver while keeping every
preference (EV ready on time, comfort band, battery reserve; a vulnerable home's comfort floor is hard,
with a margin). It opts in when that is at least its minimum share, and otherwise says why not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from homeflex.control.flexplan import Assessment
from homeflex.control.setup import Preferences
from homeflex.core.domain import FlexEvent, HouseholdSpec, Stage


@dataclass(frozen=True, kw_only=True)
class OptDecision:
    opt_in: bool
    reason: str
    assessment: Assessment | None = None

    @property
    def opt_type(self) -> str:
        return "optIn" if self.opt_in else "optOut"


class FlexTarget(Protocol):
    """A household's control loop as the VEN sees it: the live ``HouseholdController`` and, in the
    simulator, the control core at a tick (scenarios.closedloop)."""

    @property
    def household(self) -> HouseholdSpec: ...

    @property
    def preferences(self) -> Preferences: ...

    def assess(self, event: FlexEvent) -> Assessment | None:
        """What the household could deliver for ``event`` now (nothing is sent); None: no plan."""
        ...

    def schedule_event(self, event: FlexEvent) -> None:
        """Take ``event`` on (replacing an earlier version of it)."""
        ...

    def cancel(self, event_id: str) -> None:
        """Drop the event if it was taken on."""
        ...


def decide_event(
    target: FlexTarget, event: FlexEvent, now: datetime, *, override: str | None = None
) -> OptDecision:
    """Event -> assess -> opt -> accept: the household's loop assesses the event (unless nothing it
    could deliver would change the answer), the household's own minimum share decides, and the loop
    takes the event on when opted in and drops it otherwise."""
    household = target.household
    refusal = _refusal(household, event, now, override)
    assessment = target.assess(event) if refusal is None else None
    min_share = target.preferences.min_event_share
    decision = decide_opt(household, event, now, assessment, min_share=min_share, override=override)
    if decision.opt_in:
        target.schedule_event(event)
    else:
        target.cancel(event.event_id)
    return decision


def decide_opt(
    household: HouseholdSpec,
    event: FlexEvent,
    now: datetime,
    assessment: Assessment | None,
    *,
    min_share: float = Preferences.min_event_share,  # the preference's default: one default
    override: str | None = None,
) -> OptDecision:
    """`override`: the household's own reason to sit this event out (e.g. "customer override" from the
    portal); it wins over any plan."""
    refusal = _refusal(household, event, now, override)
    if refusal is not None:
        return OptDecision(opt_in=False, reason=refusal)
    if assessment is None:
        return OptDecision(opt_in=False, reason="no plan: device states or forecast unavailable")
    a = assessment
    share = f"{a.deliverable_kw:.2f} of {a.requested_kw:.2f} kW ({a.share:.0%})"
    if a.share < min_share or a.deliverable_kw <= 0:
        why = f"can deliver only {share}" + (f": {a.reason}" if a.reason else "")
        return OptDecision(opt_in=False, reason=why, assessment=a)
    cost = f"; costs £{a.extra_cost_gbp:.2f} on the tariff" if a.extra_cost_gbp > 0.005 else ""
    trial = "trial, pays nothing: " if event.trial else ""
    return OptDecision(opt_in=True, reason=f"{trial}plan delivers {share}{cost}", assessment=a)


def _refusal(household: HouseholdSpec, event: FlexEvent, now: datetime, override: str | None) -> str | None:
    """Why the household sits ``event`` out whatever it could deliver; None if its plan decides."""
    if event.cancelled:
        return "event cancelled"
    if override is not None:
        return override
    if household.stage < Stage.FLEX:
        return f"household in stage {int(household.stage)}: not enrolled for flex"
    if now >= event.end:
        return "event already over"
    return None
