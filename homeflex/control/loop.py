"""The household control loop: tracks device state, runs flex events, restores devices after.

At an event's start it plans from the devices' latest state (pure `plan_event`), commands them and
waits for each acknowledgement. Commands expire a few minutes ahead and are refreshed while the event
lasts, so a device whose controller dies returns to normal by itself. Recovery after the event is
staggered by a random offset per household, so a community does not rebound in one spike.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from homeflex.control.commands import CommandFailed, CommandSender
from homeflex.control.devices import Curtailment, adapter_for
from homeflex.control.flex import FlexPlan, plan_event
from homeflex.core import topics
from homeflex.core.clock import Clock, perf_seconds, sleep_until
from homeflex.core.domain import FlexEvent, HouseholdSpec
from homeflex.mqtt import MqttSession

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class CommandOutcome:
    event_id: str
    device_id: str
    phase: str  # "curtail" | "refresh" | "restore"
    ok: bool
    attempts: int
    latency_s: float  # wall seconds from the phase's due time to the device's ack
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class ControlSettings:
    command_ttl_s: float = 300.0  # simulated seconds a command stays in force without refresh
    refresh_s: float = 120.0
    recovery_stagger_s: float = 300.0  # upper bound of the random recovery offset
    ack_timeout_s: float = 2.0  # wall seconds
    ack_attempts: int = 3


class HouseholdController:
    def __init__(
        self,
        household: HouseholdSpec,
        clock: Clock,
        mqtt_url: str,
        settings: ControlSettings = ControlSettings(),
        *,
        seed: int | None = None,
    ) -> None:
        self.household = household
        self.clock = clock
        self.settings = settings
        self.session = MqttSession(
            mqtt_url, f"ctl-{household.id}", will=(topics.status(household.id), b"offline")
        )
        self.session.announce(topics.status(household.id), b"online")
        self.sender = CommandSender(
            self.session, household.id, timeout_s=settings.ack_timeout_s, attempts=settings.ack_attempts
        )
        self.states: dict[str, dict[str, Any]] = {}
        self.outcomes: list[CommandOutcome] = []
        self.on_outcome: Callable[[CommandOutcome], None] | None = None
        self._rng = random.Random(seed if seed is not None else household.id)
        self._events: dict[str, asyncio.Task[None]] = {}
        self._restores: set[asyncio.Task[None]] = set()
        self.session.subscribe(f"{topics.PREFIX}/{household.id}/+/state", self._on_state)
        self.session.subscribe(topics.meter_reading(household.id), self._on_state)

    async def __aenter__(self) -> HouseholdController:
        await self.session.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        tasks = [*self._events.values(), *self._restores]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.session.__aexit__(exc_type, exc, tb)

    def _on_state(self, topic: str, payload: bytes) -> None:
        try:
            state = json.loads(payload)
        except ValueError:
            log.warning("%s: unreadable state on %s", self.household.id, topic)
            return
        if isinstance(state, dict):
            self.states[topics.device_of(topic)] = state

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self.states.items()}

    def schedule(self, event: FlexEvent) -> None:
        """Run `event` (replacing an earlier version of it); returns at once."""
        self.cancel(event.event_id)
        task = asyncio.get_running_loop().create_task(self._run_event(event), name=f"event-{event.event_id}")
        self._events[event.event_id] = task
        task.add_done_callback(
            lambda t: (
                self._events.pop(event.event_id, None) if self._events.get(event.event_id) is t else None
            )
        )

    def cancel(self, event_id: str) -> None:
        """Stop an event; devices already curtailed are restored at once."""
        task = self._events.pop(event_id, None)
        if task is not None:
            task.cancel()

    async def _run_event(self, event: FlexEvent) -> None:
        await sleep_until(self.clock, event.start)
        stagger = timedelta(seconds=self._rng.uniform(0, self.settings.recovery_stagger_s))
        actions: dict[str, Curtailment] = {}
        phase = "curtail"
        try:
            while (now := self.clock.now()) < event.end:
                due = self._due_wall(event.start if phase == "curtail" else now)
                await self._curtail(event, actions, now, event.end + stagger, phase, due)
                phase = "refresh"
                remaining = (event.end - self.clock.now()).total_seconds()
                await self.clock.sleep(min(self.settings.refresh_s, max(remaining, 0)))
            await self.clock.sleep(stagger.total_seconds())
        finally:
            if actions:
                restore = asyncio.get_running_loop().create_task(self._restore(event, list(actions)))
                self._restores.add(restore)
                restore.add_done_callback(self._restores.discard)

    def _due_wall(self, due: datetime) -> float:
        """The perf counter value at which `due` (clock time) fell, to measure latency from it."""
        late_s = (self.clock.now() - due).total_seconds()
        return perf_seconds() - self.clock.wall_seconds(max(late_s, 0.0))

    async def _curtail(
        self,
        event: FlexEvent,
        actions: dict[str, Curtailment],
        now: datetime,
        until: datetime,
        phase: str,
        due: float,
    ) -> None:
        # Keep what is curtailed; plan more devices only for the part of the request not yet covered.
        covered = sum(a.reduction_w for a in actions.values())
        remaining = replace(event, reduction_w=max(0.0, event.reduction_w - covered))
        states = {k: v for k, v in self.snapshot().items() if k not in actions}
        plan: FlexPlan = plan_event(self.household, states, remaining)
        for action in plan.actions:
            actions[action.device_id] = action
        expires = min(now + timedelta(seconds=self.settings.command_ttl_s), until)
        await asyncio.gather(
            *(
                self._command(event.event_id, a.device_id, a.settings, expires, phase, due)
                for a in actions.values()
            )
        )

    async def _restore(self, event: FlexEvent, device_ids: list[str]) -> None:
        due = perf_seconds()
        specs = {d.id: d for d in self.household.devices}
        await asyncio.gather(
            *(
                self._command(event.event_id, d, adapter_for(specs[d]).restore(), None, "restore", due)
                for d in device_ids
            )
        )

    async def _command(
        self,
        event_id: str,
        device_id: str,
        settings: dict[str, Any],
        expires: datetime | None,
        phase: str,
        due: float,
    ) -> None:
        try:
            ack = await self.sender.send(device_id, settings, expires)
            outcome = CommandOutcome(
                event_id=event_id,
                device_id=device_id,
                phase=phase,
                ok=True,
                attempts=ack.attempts,
                latency_s=perf_seconds() - due,
            )
        except CommandFailed as err:
            log.error("%s", err)
            outcome = CommandOutcome(
                event_id=event_id,
                device_id=device_id,
                phase=phase,
                ok=False,
                attempts=self.settings.ack_attempts,
                latency_s=perf_seconds() - due,
                error=str(err),
            )
        self.outcomes.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)
