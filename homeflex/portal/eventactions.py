"""Portal actions on events: the household's events, skipping one (customer override), and the
operator creating one through the VTN with a notice to each targeted household."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from homeflex.core import topics
from homeflex.core.timeutil import iso
from homeflex.mqtt import MqttUnavailable
from homeflex.portal.base import SKIP_REASON, ActionError, PortalBase
from homeflex.portal.notify import event_notice_at
from homeflex.portal.skipnotice import skips_message
from homeflex.storage.portal import Customer
from homeflex.storage.records import EventRecord

log = logging.getLogger(__name__)


class EventActions(PortalBase):
    async def events_for(self, household_id: str) -> list[tuple[EventRecord, str | None]]:
        """Events targeting the household, newest first, with its opt answer."""
        return [(e, t.opt_type) for e, t in await self.storage.household_events(household_id)]

    async def skip_event(self, c: Customer, event_id: str, actor: str) -> None:
        """The household sits this event out with the reason 'customer override': its VEN is told
        (skipnotice.py) and opts out, releasing the event if it had accepted it; the VTN's record of
        the household's answer becomes an opt-out at once, even while the VEN is offline. Either the
        skip is stored and published, or neither (ActionError: try again)."""
        event = await self.storage.get_event(event_id)
        now = self.clock.now()
        events = await self.events_for(c.household_id)
        if event is None or event_id not in {e.event_id for e, _ in events}:
            raise ActionError("no such event for your home")
        if event.status == "cancelled":
            raise ActionError("that event was cancelled")
        if now >= event.start:
            raise ActionError("that event has already started and can no longer be skipped")
        async with self.skip_lock:
            if not await self.store.add_skip(event_id, c.household_id, now, SKIP_REASON):
                raise ActionError("you have already skipped this event")
            if self.publisher is not None:
                ends = {e.event_id: e.end for e, _ in events if e.status != "cancelled"}
                payload = skips_message(await self.store.skips(c.household_id), ends, now)
                try:
                    await self.publisher.publish(topics.skips(c.household_id), payload)
                except MqttUnavailable as err:
                    await self.store.remove_skip(event_id, c.household_id)
                    log.error("skip of %s by %s not sent to its VEN: %s", event_id, c.household_id, err)
                    raise ActionError(
                        "your home's controller cannot be reached just now, so nothing was changed:"
                        " try again in a minute"
                    ) from err
            else:
                log.warning(
                    "skip of %s by %s: no MQTT broker configured, its VEN is not told",
                    event_id,
                    c.household_id,
                )
        await self.storage.record_opt(event_id, c.household_id, event.modification_number, "optOut", now)

    async def create_event(self, body: dict[str, Any]) -> dict[str, Any]:
        """Through the VTN's operator API; then each targeted stage-3 household gets a notice ahead."""
        created = await self.vtn.create_event(body)
        start_at = datetime.fromisoformat(created["start"].replace("Z", "+00:00"))
        now = self.clock.now()
        for t in created["targets"]:
            c = await self.store.customer(t["household_id"])
            if c is None:
                continue
            at = max(now, event_notice_at(start_at))
            await self.store.enqueue_email(
                c.email,
                "A flexibility event is coming up",
                f"On {iso(start_at)} your home is asked to use {created['reduction_kw']} kW less for "
                f"{created['price_gbp_per_mwh']} £/MWh. To sit it out, skip it in the portal: "
                f"{self.config.base_url}/households/{c.household_id}/events",
                at,
                now,
            )
        return created
