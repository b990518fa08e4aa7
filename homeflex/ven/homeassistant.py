"""The household's own entities in its Home Assistant, by MQTT discovery: the MQTT edge of
homeflex.ven.ha_discovery.

The bridge holds its own connection to the broker the household's Home Assistant reads (a setting of
the agent: usually the household's local broker; by default the agent's own). It publishes the
discovery configs retained, again whenever HA announces itself online on `homeassistant/status`, the
agent's availability ("online"; "offline" as its last will, so HA shows the entities unavailable when
the agent dies), and the entities' state whenever it changes (checked every `refresh_s`). The configs go
again at the refresh after HA announces itself, once however many announcements came.

"Skip next event" is the portal's skip: a press adds the next event, with the reason "customer
override", to the household's retained skips message on the platform broker (topics.skips), which the
VEN reads as it reads the portal's (homeflex.ven.agent): it opts out, releasing an event it had
accepted and telling the VTN. The portal rewrites that message from its own records when the household
skips there, so the bridge adds its skips back whenever a rewrite lacks them. Only a live press counts
(a retained message on the command topic is not one), only the exact payload, and a second press on
the same event changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from homeflex.core import topics
from homeflex.core.tasks import stop_tasks
from homeflex.core.timeutil import iso
from homeflex.mqtt import MqttSession, MqttUnavailable
from homeflex.ven.ha_discovery import (
    BIRTH_TOPIC,
    DEFAULT_PREFIX,
    OFFLINE,
    ONLINE,
    PRESS,
    HaState,
    NextEvent,
    availability_topic,
    discovery_configs,
    next_event,
    payments_of,
    planned_import,
    skip_topic,
    state_message,
)
from homeflex.ven.skips import CUSTOMER_OVERRIDE, with_skips

if TYPE_CHECKING:
    from homeflex.ven.agent import VenAgent

log = logging.getLogger(__name__)
HA_PART = "ha"  # the bridge's login on the platform broker: <household>.ha (homeflex.mqtt.access)


class HomeAssistantBridge:
    def __init__(
        self,
        agent: VenAgent,
        ha_mqtt_url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        part: str | None = HA_PART,
        refresh_s: float = 1.0,
    ) -> None:
        """`part`: this connection's name within the URL's account on the platform broker; None on a
        broker of the household's own, whose login is used as given."""
        self.agent = agent
        self.household_id = hh = agent.household.id
        self.prefix = prefix
        self.refresh_s = refresh_s
        self.session = MqttSession(
            ha_mqtt_url, f"ha-{hh}", will=(availability_topic(hh), OFFLINE.encode()), part=part
        )
        self.session.announce(availability_topic(hh), ONLINE.encode())
        self.session.subscribe(BIRTH_TOPIC, self._on_birth)
        self.session.subscribe(skip_topic(hh), self._on_press, retained=False)
        agent.controller.subscribe(topics.skips(hh), self._on_skips)  # on the platform broker
        agent.controller.subscribe(topics.payments(hh), self._on_payments)
        self.own_skips: dict[str, dict[str, str]] = {}  # event id -> the skip pressed in HA
        self.presses: list[str] = []  # event ids skipped from HA (a replay adds nothing)
        self.refused = 0  # command messages that were not a press
        self.payments: tuple[str, float] | None = None
        self._skips_payload = b""  # the retained skips message as last seen
        self._last_state = b""
        # HA's birth asks for the configs again; answered at the next refresh, once however many came
        # (every household's Home Assistant may announce itself on the shared birth topic)
        self._configs_wanted = False
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> HomeAssistantBridge:
        await self.session.__aenter__()
        await self.publish_configs()
        self._spawn(self._run(), f"ha-state-{self.household_id}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await stop_tasks(self._tasks)
        with contextlib.suppress(MqttUnavailable):  # a clean stop sends no last will: say it
            await self.session.publish(availability_topic(self.household_id), OFFLINE, retain=True, timeout=2)
        await self.session.__aexit__(exc_type, exc, tb)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def publish_configs(self) -> None:
        for topic, payload, retain in discovery_configs(self.household_id, self.prefix):
            await self.session.publish(topic, payload, retain=retain)

    # --- state --------------------------------------------------------------------------------

    def next(self) -> NextEvent | None:
        agent = self.agent
        answers = {
            eid: (d.opt_in, d.reason, d.assessment.deliverable_kw if d.assessment else 0.0)
            for eid, d in agent.decisions.items()
        }
        pending = {eid: s["reason"] for eid, s in self.own_skips.items()}
        return next_event(agent.events, answers, {**pending, **agent.skipped}, agent.clock.now())

    def state(self) -> HaState:
        controller, now = self.agent.controller, self.agent.clock.now()
        schedule = controller.schedule
        plan: list[tuple[datetime, float]] = []
        step_h = 0.5
        if schedule is not None and schedule.ok:
            step_h = schedule.problem.step_h
            plan = planned_import(schedule.problem.start, step_h, list(schedule.plan.grid_import_kw), now)
        return HaState(
            household_id=self.household_id,
            stage=controller.household.stage,
            now=now,
            next=self.next(),
            plan_step_h=step_h,
            plan=plan,
            payments=self.payments,
        )

    async def _run(self) -> None:
        away = False  # the broker did not take the last state: said once, not at every refresh
        while True:
            try:
                if self._configs_wanted:  # cleared first: a birth while they go asks again
                    self._configs_wanted = False
                    try:
                        await self.publish_configs()
                    except MqttUnavailable:
                        self._configs_wanted = True
                        raise
                    self._last_state = b""  # and the state
                topic, payload, _ = state_message(self.state())
                if payload != self._last_state:
                    await self.session.publish(topic, payload, retain=True)
                    self._last_state = payload
                away = False
            except MqttUnavailable as err:
                if not away:
                    log.warning("%s: Home Assistant state not sent: %s", self.household_id, err)
                away = True
            except Exception:
                log.exception("%s: Home Assistant state failed", self.household_id)
            try:
                async with asyncio.timeout(self.refresh_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    # --- from Home Assistant ------------------------------------------------------------------

    async def _on_birth(self, topic: str, payload: bytes) -> None:
        if payload.strip() != ONLINE.encode():
            return
        if not self._configs_wanted:
            log.info("%s: Home Assistant online: discovery sent again", self.household_id)
        self._configs_wanted = True  # not woken: a storm of births is one sending per refresh

    async def _on_press(self, topic: str, payload: bytes) -> None:
        if payload != PRESS.encode():
            self.refused += 1
            log.warning("%s: not a press on %s, ignored (%d bytes)", self.household_id, topic, len(payload))
            return
        coming = self.next()
        if coming is None:
            log.info("%s: skip pressed in Home Assistant, but no event is coming", self.household_id)
            return
        event_id = coming.event.event_id
        if coming.skipped or event_id in self.own_skips:
            log.info("%s: event %s is already skipped", self.household_id, event_id)
            return
        now = self.agent.clock.now()
        self.own_skips[event_id] = {"event_id": event_id, "reason": CUSTOMER_OVERRIDE, "at": iso(now)}
        self.presses.append(event_id)
        log.info("%s: event %s skipped in Home Assistant", self.household_id, event_id)
        await self._send_skips()
        self._wake.set()

    # --- from the platform --------------------------------------------------------------------

    async def _send_skips(self) -> None:
        """Our skips added to the retained skips message on the platform broker, if it lacks any."""
        now = self.agent.clock.now()
        events = self.agent.events
        for eid in [e for e in self.own_skips if e in events and events[e].end <= now]:
            del self.own_skips[eid]  # over: the portal's message drops it too
        # The VEN's skips too: a press before the retained message reached the bridge keeps the portal's.
        known = [{"event_id": e, "reason": r} for e, r in self.agent.skipped.items()]
        payload = with_skips(self._skips_payload, [*known, *self.own_skips.values()])
        if payload is None:
            return
        self._skips_payload = payload
        try:
            await self.agent.controller.publish(topics.skips(self.household_id), payload, retain=True)
        except MqttUnavailable as err:
            log.error("%s: skip not sent to the VEN: %s", self.household_id, err)

    def _on_skips(self, topic: str, payload: bytes) -> None:
        self._skips_payload = payload
        if self.own_skips and with_skips(payload, list(self.own_skips.values())) is not None:
            # The portal rewrote the message from its records, which lack the skips pressed in HA.
            # Not awaited here: this runs on the control loop's session (device acks queue behind it).
            self._spawn(self._send_skips(), f"ha-skips-{self.household_id}")

    def _on_payments(self, topic: str, payload: bytes) -> None:
        try:
            self.payments = payments_of(payload)
        except ValueError as err:
            log.warning("%s: %s", self.household_id, err)
            return
        self._wake.set()
