"""Pure planning of a household's response to a flex event: which devices to curtail, how far."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeflex.control.devices import Curtailment, adapter_for
from homeflex.core.domain import DeviceKind, FlexEvent, HouseholdSpec

# Least intrusive first: stored energy, then appliances, then the car, heating last.
PRIORITY = (DeviceKind.BATTERY, DeviceKind.SMART_PLUG, DeviceKind.EV_CHARGER, DeviceKind.HEAT_PUMP)


@dataclass(frozen=True, kw_only=True)
class FlexPlan:
    event_id: str
    actions: tuple[Curtailment, ...]
    requested_w: float

    @property
    def expected_reduction_w(self) -> float:
        return sum(a.reduction_w for a in self.actions)


def plan_event(
    household: HouseholdSpec, states: Mapping[str, Mapping[str, Any]], event: FlexEvent
) -> FlexPlan:
    """Curtail devices in priority order until the requested reduction is covered.

    Heating is never curtailed in a vulnerable household. A device without a known state is skipped:
    the plan rests only on what the household has reported.
    """
    need = event.reduction_w
    actions: list[Curtailment] = []
    for kind in PRIORITY:
        for spec in (d for d in household.devices if d.kind == kind):
            adapter = adapter_for(spec)
            if need <= 0 or (household.vulnerable and adapter.affects_heating):
                continue
            state = states.get(spec.id)
            if state is None:
                continue
            action = adapter.curtail(dict(state), need)
            if action is not None and action.reduction_w > 0:
                actions.append(action)
                need -= action.reduction_w
    return FlexPlan(event_id=event.event_id, actions=tuple(actions), requested_w=event.reduction_w)
