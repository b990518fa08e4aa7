"""Whether a household opts in to a flex event, and why (pure).

In stage 3 the household's planner says how much of the request it can deliver while keeping every
preference (EV ready on time, comfort band, battery reserve; a vulnerable home's comfort floor is hard,
with a margin). It opts in when that is at least its minimum share, and otherwise says why not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from homeflex.control.flexplan import Assessment
from homeflex.core.domain import FlexEvent, HouseholdSpec, Stage


@dataclass(frozen=True, kw_only=True)
class OptDecision:
    opt_in: bool
    reason: str
    assessment: Assessment | None = None

    @property
    def opt_type(self) -> str:
        return "optIn" if self.opt_in else "optOut"


def decide_opt(
    household: HouseholdSpec,
    event: FlexEvent,
    now: datetime,
    assessment: Assessment | None,
    *,
    min_share: float = 0.5,
    override: str | None = None,
) -> OptDecision:
    """`override`: the household's own reason to sit this event out (e.g. "customer override" from the
    portal); it wins over any plan."""
    if event.cancelled:
        return OptDecision(opt_in=False, reason="event cancelled")
    if override is not None:
        return OptDecision(opt_in=False, reason=override)
    if household.stage < Stage.FLEX:
        return OptDecision(
            opt_in=False, reason=f"household in stage {int(household.stage)}: not enrolled for flex"
        )
    if now >= event.end:
        return OptDecision(opt_in=False, reason="event already over")
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
