"""The household VEN: openleadr OpenADRClient -> opt decision -> the household's control loop.

`on_event` runs inside openleadr's poll job and blocks polling while it runs, so it only decides
(pure planning, milliseconds) and hands the event to the control loop's task; actuation happens there.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from types import TracebackType
from typing import Any

from openleadr import OpenADRClient, enums

from homeflex.control.loop import HouseholdController
from homeflex.core.clock import Clock
from homeflex.core.domain import FlexEvent, Stage
from homeflex.ven.decision import OptDecision, decide_opt
from homeflex.ven.events import parse_event
from homeflex.ven.tls import VenTls, guard_vtn_responses

log = logging.getLogger(__name__)


class VenAgent:
    def __init__(
        self,
        controller: HouseholdController,
        clock: Clock,
        vtn_url: str,
        *,
        report_interval: timedelta = timedelta(seconds=10),
        tls: VenTls | None = None,
    ) -> None:
        self.controller = controller
        self.household = controller.household
        self.clock = clock
        self.decisions: dict[str, OptDecision] = {}
        self.events: dict[str, FlexEvent] = {}
        guard_vtn_responses()
        self.client = OpenADRClient(
            ven_name=self.household.id,
            vtn_url=vtn_url,
            show_fingerprint=False,
            **(tls.client_options() if tls else {}),
        )
        self.client.add_handler("on_event", self.on_event)
        self.client.add_handler("on_update_event", self.on_update_event)
        self.client.add_report(
            callback=self.metered_power,
            resource_id=f"{self.household.id}-meter",
            measurement=enums.MEASUREMENTS.REAL_POWER,
            sampling_rate=report_interval,
            report_duration=timedelta(hours=1),  # how much the VEN may buffer while the VTN is away
            unit="W",
        )

    @property
    def ven_id(self) -> str | None:
        return self.client.ven_id

    async def __aenter__(self) -> VenAgent:
        await self.client.run()
        if not self.client.registration_id:
            raise RuntimeError(f"VEN {self.household.id}: the VTN refused registration")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.client.stop()

    def metered_power(self) -> float:
        """Latest net household power (W) from the meter's state, for the VTN's telemetry report."""
        meter = self.controller.states.get("meter", {})
        value = meter.get("power_w", 0.0)
        return float(value) if isinstance(value, int | float) else 0.0

    async def on_event(self, event: dict[str, Any]) -> str:
        try:
            flex = parse_event(event)
        except (KeyError, TypeError, ValueError) as err:
            log.error("%s: unreadable event, opting out: %s", self.household.id, err)
            return "optOut"
        assessment = self.controller.assess(flex) if self.household.stage >= Stage.FLEX else None
        decision = decide_opt(
            self.household,
            flex,
            self.clock.now(),
            assessment,
            min_share=self.controller.setup.preferences.min_event_share,
        )
        self.decisions[flex.event_id] = decision
        self.events[flex.event_id] = flex
        log.info("%s %s event %s: %s", self.household.id, decision.opt_type, flex.event_id, decision.reason)
        if decision.opt_in:
            self.controller.schedule_event(flex)
        else:
            self.controller.cancel(flex.event_id)
        return decision.opt_type

    async def on_update_event(self, event: dict[str, Any]) -> str:
        """A new modification: a cancellation stops the event; anything else is decided afresh."""
        return await self.on_event(event)
