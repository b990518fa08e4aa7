"""The household VEN: openleadr OpenADRClient -> opt decision -> the household's control loop.

`on_event` runs inside openleadr's poll job and blocks polling while it runs, so it only decides
(pure planning, milliseconds) and hands the event to the control loop's task; actuation happens there.

The household can sit an event out (the portal's "skip"): the portal publishes the household's skips,
retained, on its own MQTT subtree (topics.skips), which the VEN reads over its control loop's session.
A skipped event is answered optOut with the skip's reason; one the VEN had already opted in to is
released from the loop and answered again with an unsolicited oadrCreatedEvent optOut (the reason in
its responseDescription).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from openleadr import OpenADRClient, enums

from homeflex.control.schedule import Schedule
from homeflex.core import topics
from homeflex.core.clock import Clock
from homeflex.core.domain import FlexEvent, HouseholdSpec
from homeflex.core.tasks import stop_tasks
from homeflex.ven.decision import FlexTarget, OptDecision, decide_event
from homeflex.ven.events import parse_event
from homeflex.ven.push import PushEndpoint
from homeflex.ven.skips import parse_skips
from homeflex.ven.tls import VenTls, guard_vtn_responses

log = logging.getLogger(__name__)
OPT_OUT_ATTEMPTS = 8
# How long an ended event's answer is kept (for the demo's table, Home Assistant's "opt answer"): an agent
# runs for years, one event a day would otherwise grow its memory without end.
KEEP_ENDED = timedelta(days=7)


MqttHandler = Callable[[str, bytes], Awaitable[None] | None]  # topic, payload


class ControlLoop(FlexTarget, Protocol):
    """What the VEN and its Home Assistant bridge need of the household's control loop
    (``homeflex.control.loop.HouseholdController``): the flex target its events go to, the meter's power
    for the VTN's report, the plan, and the loop's MQTT session on the platform broker (the household's
    skips and payments)."""

    @property
    def schedule(self) -> Schedule | None: ...

    def metered_power_w(self) -> float: ...

    def subscribe(self, topic_filter: str, handler: MqttHandler) -> None: ...

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None: ...


def ended_before(events: Mapping[str, FlexEvent], cutoff: datetime) -> list[str]:
    """The events that ended before `cutoff`: what a long-running agent may forget."""
    return [event_id for event_id, flex in events.items() if flex.end < cutoff]


class VenAgent:
    def __init__(
        self,
        controller: ControlLoop,
        clock: Clock,
        vtn_url: str,
        *,
        report_interval: timedelta = timedelta(seconds=10),
        tls: VenTls | None = None,
        push: tuple[str, int] | None = None,
    ) -> None:
        self.controller = controller
        self.clock = clock
        self.decisions: dict[str, OptDecision] = {}
        self.events: dict[str, FlexEvent] = {}
        self.skipped: dict[str, str] = {}  # event id -> the household's reason (from the portal)
        # Events released after opting in -> whether the VTN acknowledged the new optOut.
        self.released: dict[str, bool] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        guard_vtn_responses()
        self.client = OpenADRClient(
            ven_name=self.household.id,
            vtn_url=vtn_url,
            show_fingerprint=False,
            **(tls.client_options() if tls else {}),
        )
        # OpenADR push at (host, port), the VTN polls still the fallback; https with the VEN's
        # certificate when `tls` (homeflex.ven.push).
        self.push = PushEndpoint(self.client, host=push[0], port=push[1], tls=tls) if push else None
        self.client.add_handler("on_event", self.on_event)
        self.client.add_handler("on_update_event", self.on_update_event)
        self.client.add_report(
            callback=controller.metered_power_w,  # the VTN's telemetry report
            resource_id=f"{self.household.id}-meter",
            measurement=enums.MEASUREMENTS.REAL_POWER,
            sampling_rate=report_interval,
            report_duration=timedelta(hours=1),  # how much the VEN may buffer while the VTN is away
            unit="W",
        )
        controller.subscribe(topics.skips(self.household.id), self._on_skips)

    @property
    def household(self) -> HouseholdSpec:
        """As the control loop has it now: a new configuration can change the stage or the devices."""
        return self.controller.household

    @property
    def ven_id(self) -> str | None:
        return self.client.ven_id

    async def __aenter__(self) -> VenAgent:
        if self.push is not None:
            await self.push.__aenter__()  # before registering: the registration asks for push there
        try:
            await self.client.run()
            if not self.client.registration_id:
                raise RuntimeError(f"VEN {self.household.id}: the VTN refused registration")
        except BaseException:
            await self.client.stop()
            if self.push is not None:
                await self.push.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await stop_tasks(self._tasks)
        await self.client.stop()
        if self.push is not None:
            await self.push.__aexit__(exc_type, exc, tb)

    async def on_event(self, event: dict[str, Any]) -> str:
        try:
            flex = parse_event(event)
        except (KeyError, TypeError, ValueError) as err:
            log.error("%s: unreadable event, opting out: %s", self.household.id, err)
            return "optOut"
        self._forget_ended()
        override = self.skipped.get(flex.event_id)
        decision = decide_event(self.controller, flex, self.clock.now(), override=override)
        self.decisions[flex.event_id] = decision
        self.events[flex.event_id] = flex
        log.info("%s %s event %s: %s", self.household.id, decision.opt_type, flex.event_id, decision.reason)
        return decision.opt_type

    def _forget_ended(self) -> None:
        for event_id in ended_before(self.events, self.clock.now() - KEEP_ENDED):
            del self.events[event_id]
            self.decisions.pop(event_id, None)
            self.released.pop(event_id, None)

    async def on_update_event(self, event: dict[str, Any]) -> str:
        """A new modification: a cancellation stops the event; anything else is decided afresh."""
        return await self.on_event(event)

    async def _on_skips(self, topic: str, payload: bytes) -> None:
        try:
            skips = parse_skips(payload)
        except ValueError as err:
            log.warning("%s: unreadable skips, ignored: %s", self.household.id, err)
            return
        new = {e: r for e, r in skips.items() if e not in self.skipped}
        self.skipped = skips
        for event_id, reason in new.items():
            await self._override(event_id, reason)

    async def _override(self, event_id: str, reason: str) -> None:
        """Sit out an event already received (one not received yet is opted out in on_event)."""
        flex = self.events.get(event_id)
        if flex is None:
            return
        before = self.decisions.get(event_id)
        decision = decide_event(self.controller, flex, self.clock.now(), override=reason)
        self.decisions[event_id] = decision
        if before is None or not before.opt_in or flex.cancelled:
            return
        # openleadr answers a repeated delivery of the same modification with its remembered answer.
        self.client.responded_events[event_id] = "optOut"
        # Sent from a task: this handler runs on the control loop's MQTT session, which must not wait
        # on the VTN (device acks would queue behind it).
        task = asyncio.get_running_loop().create_task(self._tell_vtn(flex, decision.reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell_vtn(self, flex: FlexEvent, reason: str) -> None:
        """The optOut until the VTN acknowledges it, with backoff (about a minute in all): until then
        the VTN may hold the household's earlier optIn."""
        delay = 0.5
        for attempt in range(1, OPT_OUT_ATTEMPTS + 1):
            if await self._send_opt_out(flex, reason):
                self.released[flex.event_id] = True
                log.info("%s optOut event %s after opting in: %s", self.household.id, flex.event_id, reason)
                return
            if attempt < OPT_OUT_ATTEMPTS:
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 15.0)
        self.released[flex.event_id] = False
        log.error(
            "%s: the VTN did not take the optOut of event %s (%s); it may still count an optIn",
            self.household.id,
            flex.event_id,
            reason,
        )

    async def _send_opt_out(self, flex: FlexEvent, reason: str) -> bool:
        """An unsolicited oadrCreatedEvent optOut for the event's current modification; True once the
        VTN acknowledged it. openleadr's `created_event` would say "OK" and hide the outcome, so the
        message is built with its own helpers, the reason in the event response's description."""
        request_id = uuid.uuid4().hex
        message = self.client._create_message(
            "oadrCreatedEvent",
            response={"response_code": 200, "response_description": "OK", "request_id": request_id},
            event_responses=[
                {
                    "response_code": 200,
                    "response_description": reason,
                    "request_id": request_id,
                    "event_id": flex.event_id,
                    "modification_number": flex.modification_number,
                    "opt_type": "optOut",
                }
            ],
            ven_id=self.client.ven_id,
        )
        result = await self.client._perform_request("EiEvent", message)
        return bool(result) and result[0] == "oadrResponse"
