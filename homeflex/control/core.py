"""The control loop's decisions without I/O: what each device should be set to at ``now``.

``ControlCore`` keeps the schedule and the accepted events; the MQTT controller and the in-process
simulation (scenarios/closedloop.py) both drive it, so the code that runs a household is the code measured.

Re-plans every half-hour, when an event arrives or leaves, and when the devices stray from the plan.
During an event the plan is capped; after it, the household holds its event settings for a random
stagger ("hold"), then recovers ("restore") under the plan's post-event ramp.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from homeflex.control.devices import Settings, States, number
from homeflex.control.dispatch import next_change, setpoints
from homeflex.control.flexplan import Assessment, assess, freeze_reference, schedule_with_events
from homeflex.control.forecast import ForecastSource
from homeflex.control.schedule import (
    STEP_H,
    Schedule,
    build_problem,
    deviation,
    horizon_start,
    make_schedule,
    n_steps,
    step_index,
)
from homeflex.control.setup import HouseholdSetup
from homeflex.core.domain import DeviceKind, FlexEvent, HouseholdSpec
from homeflex.core.timeutil import PERIOD

REPLANS_KEPT = 1000  # a live core runs for months: it keeps the latest re-plans (a week is ~350)


@dataclass(frozen=True, kw_only=True)
class Decision:
    settings: dict[str, Settings]  # per device; "hold" repeats the last settings
    event_id: str  # the event in force, or ""
    phase: str  # "plan" | "curtail" | "refresh" | "hold" | "restore"
    late_s: float = 0.0  # simulated seconds since this phase fell due


@dataclass
class ControlCore:
    household: HouseholdSpec
    setup: HouseholdSetup
    forecast: ForecastSource
    recovery_stagger_s: float = 300.0
    seed: int | str | None = None
    # A fresh plan at least this often (live: every half-hour, each a new horizon); a longer cadence
    # still re-plans on every change: a deviation from the plan, an event accepted or cancelled.
    replan_every: timedelta = PERIOD
    schedule: Schedule | None = None
    events: dict[str, FlexEvent] = field(default_factory=dict)  # accepted
    # When and why it re-planned, the latest REPLANS_KEPT.
    replans: deque[tuple[datetime, str]] = field(default_factory=lambda: deque(maxlen=REPLANS_KEPT))
    _stagger: dict[str, timedelta] = field(default_factory=dict)
    _frozen: dict[str, dict[datetime, float]] = field(default_factory=dict)  # per event: reference kW
    _sheddable: dict[str, float] = field(default_factory=dict)  # per event: plug load when accepted
    _dispatched: set[str] = field(default_factory=set)  # events whose first dispatch is out
    _dirty: str | None = "start"
    _change_at: datetime | None = None  # a device's settings change within the step then (see decide)
    _reference: tuple[datetime, States, HouseholdSetup, Schedule] | None = None
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if self.replan_every < PERIOD:
            raise ValueError("replan_every must be at least a half-hour: plans start on half-hours")
        self._rng = random.Random(self.seed if self.seed is not None else self.household.id)

    # --- events -------------------------------------------------------------------------------

    def reference(self, now: datetime, states: States) -> Schedule:
        """The stage-2 schedule from now, without events. The last one is kept: an event assessed at a
        tick and accepted re-plans at the same tick, from the same states."""
        last = self._reference
        if last is not None and last[0] == now and last[1] is states and last[2] is self.setup:
            return last[3]
        fc = self.forecast.forecast(horizon_start(now), n_steps(), STEP_H)
        schedule = make_schedule(build_problem(self.household, self.setup, fc, states, now))
        self._reference = (now, states, self.setup, schedule)
        return schedule

    def assess(self, event: FlexEvent, now: datetime, states: States) -> Assessment | None:
        reference = self.reference(now, states)
        if not reference.ok:
            return None
        others = [e for e in self.events.values() if e.event_id != event.event_id]
        return assess(
            reference.problem, reference.plan, event, others, sheddable_kw=self.sheddable_kw(states)
        )

    def change_setup(self, setup: HouseholdSetup, household: HouseholdSpec | None = None) -> None:
        """A new tariff, preferences or equipment (or devices, stage): re-plan at the next tick."""
        self.setup = setup
        if household is not None:
            self.household = household
        self._dirty = "configuration changed"

    def sheddable_kw(self, states: States) -> float:
        """Smart-plug load running now, which an accepted event switches off."""
        plugs = (d for d in self.household.devices if d.kind is DeviceKind.SMART_PLUG)
        return sum(max(0.0, number(states.get(d.id), "power_w") or 0.0) for d in plugs) / 1000

    def accept(self, event: FlexEvent) -> None:
        earlier = self.events.get(event.event_id)
        if earlier is not None and (earlier.start, earlier.end) != (event.start, event.end):
            self._frozen.pop(event.event_id, None)  # a new window: commit afresh at the next plan
        self.events[event.event_id] = event
        self._stagger.setdefault(
            event.event_id, timedelta(seconds=self._rng.uniform(0, self.recovery_stagger_s))
        )
        self._dirty = f"event {event.event_id} accepted"

    def cancel(self, event_id: str) -> bool:
        if self.events.pop(event_id, None) is None:
            return False
        for kept in (self._stagger, self._frozen, self._sheddable):
            kept.pop(event_id, None)
        self._dispatched.discard(event_id)  # accepted again later, it starts with a fresh curtail
        self._dirty = f"event {event_id} cancelled"
        return True

    def hold_until(self, event: FlexEvent) -> datetime:
        return event.end + self._stagger.get(event.event_id, timedelta(0))

    def next_wake(self, now: datetime, refresh_s: float) -> datetime:
        times = [horizon_start(now) + PERIOD, now + timedelta(seconds=refresh_s)]
        if self._change_at is not None:
            times.append(self._change_at)
        for event in self.events.values():
            times += [event.start, event.end, self.hold_until(event)]
        return min(t for t in times if t > now)

    # --- deciding -----------------------------------------------------------------------------

    def decide(self, now: datetime, states: States, held: Mapping[str, Settings]) -> Decision:
        """Settings for every device at ``now``; ``held`` are the settings last sent."""
        self._forget_past_events(now)
        why = self._dirty or self._stale(now, states)
        if why is not None:
            self._replan(now, states, why)
        assert self.schedule is not None
        event_id, phase, late_s = self._phase(now)
        self._change_at = None
        if phase == "hold":
            settings = {**held, **self._reheat(now, states)}
            return Decision(settings=settings, event_id=event_id, phase=phase, late_s=late_s)
        self._change_at = next_change(self.household, self.schedule, states, now)
        wanted = setpoints(
            self.household,
            self.setup,
            self.schedule,
            states,
            now,
            capped=self._capped(now),
            shed_plugs=phase in ("curtail", "refresh"),
        )
        if phase == "curtail":
            self._dispatched.add(event_id)
        return Decision(settings=wanted, event_id=event_id, phase=phase, late_s=late_s)

    def _reheat(self, now: datetime, states: States) -> dict[str, Settings]:
        """Safety first, even while holding: a house below its comfort floor gets heat now."""
        assert self.schedule is not None
        heating, hp = self.schedule.problem.heating, self.household.device(DeviceKind.HEAT_PUMP)
        indoor = number(states.get(hp.id), "indoor_c") if hp is not None else None
        if hp is None or heating is None or indoor is None or indoor >= heating.comfort.min_c:
            return {}
        wanted = setpoints(self.household, self.setup, self.schedule, states, now, capped=self._capped(now))
        return {hp.id: wanted[hp.id]}

    def _stale(self, now: datetime, states: States) -> str | None:
        if self.schedule is None:
            return "no plan"
        if now - self.schedule.problem.start >= self.replan_every:
            return "new half-hour" if self.replan_every == PERIOD else "plan due"
        return deviation(self.household, self.setup, self.schedule, states, now)

    def _replan(self, now: datetime, states: States, why: str) -> None:
        self._dirty = None
        reference = self.reference(now, states)
        if reference.ok:  # commit to each newly accepted event against the plan it was accepted on
            for event in self.events.values():
                if event.event_id not in self._frozen:
                    self._frozen[event.event_id] = freeze_reference(reference.problem, reference.plan, event)
                    self._sheddable[event.event_id] = self.sheddable_kw(states)
        shed = max(self._sheddable.values(), default=0.0)
        self.schedule, _share = schedule_with_events(
            reference, list(self.events.values()), sheddable_kw=shed, frozen=self._frozen
        )
        self.replans.append((now, why))

    def _forget_past_events(self, now: datetime) -> None:
        for event_id, event in list(self.events.items()):
            if now >= self.hold_until(event) + 2 * PERIOD:
                del self.events[event_id]
                for kept in (self._stagger, self._frozen, self._sheddable):
                    kept.pop(event_id, None)

    def _phase(self, now: datetime) -> tuple[str, str, float]:
        for event in self.events.values():
            eid = event.event_id
            if event.start <= now < event.end:
                if eid in self._dispatched:
                    return eid, "refresh", 0.0
                return eid, "curtail", (now - event.start).total_seconds()
            if eid in self._dispatched and event.end <= now < self.hold_until(event):
                return eid, "hold", 0.0
            if eid in self._dispatched and now >= self.hold_until(event):
                self._dispatched.discard(eid)
                return eid, "restore", (now - self.hold_until(event)).total_seconds()
        return "", "plan", 0.0

    def _capped(self, now: datetime) -> bool:
        assert self.schedule is not None
        p = self.schedule.problem
        t = min(step_index(p.start, now, STEP_H), p.n_steps - 1)
        return p.import_cap_kw is not None and bool(p.import_cap_kw[t] < float("inf"))
