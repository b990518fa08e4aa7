"""Whether a household opts in to a flex event, and why (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeflex.control.flex import FlexPlan, plan_event
from homeflex.core.domain import FlexEvent, HouseholdSpec, Stage


@dataclass(frozen=True, kw_only=True)
class OptDecision:
    opt_in: bool
    reason: str
    plan: FlexPlan | None = None

    @property
    def opt_type(self) -> str:
        return "optIn" if self.opt_in else "optOut"


def decide_opt(
    household: HouseholdSpec, states: Mapping[str, Mapping[str, Any]], event: FlexEvent, now: datetime
) -> OptDecision:
    """Opt in only in stage 3, for a live event, when some device can shed load safely now."""
    if event.cancelled:
        return OptDecision(opt_in=False, reason="event cancelled")
    if household.stage < Stage.FLEX:
        return OptDecision(
            opt_in=False, reason=f"household in stage {int(household.stage)}: not enrolled for flex"
        )
    if now >= event.end:
        return OptDecision(opt_in=False, reason="event already over")
    plan = plan_event(household, states, event)
    if not plan.actions:
        why = "no device can shed load now"
        if household.vulnerable:
            why += " (heating is protected in a vulnerable household)"
        return OptDecision(opt_in=False, reason=why, plan=plan)
    share = min(1.0, plan.expected_reduction_w / event.reduction_w) if event.reduction_w else 1.0
    return OptDecision(
        opt_in=True, reason=f"can shed {plan.expected_reduction_w:.0f} W ({share:.0%} of request)", plan=plan
    )
