"""openleadr's OpenADRServer wired to the database instead of its in-memory queues.

External poll mode (shared/domain/openadr.md §6): every poll is answered from the database, opt
responses and reports are written to it, so a restarted VTN carries on where it stopped and VENs
need not register again. openleadr keeps report callbacks, report requests and opt callbacks in
memory; the handlers for those messages are replaced here with database-backed ones.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from openleadr import OpenADRServer, errors
from openleadr.service import VTNService

from homeflex import metrics
from homeflex.core.clock import Clock
from homeflex.storage import Storage
from homeflex.storage.records import EventRecord, VenRecord
from homeflex.vtn.events import openadr_event
from homeflex.vtn.groupcommit import GroupCommit
from homeflex.vtn.poll import PollState, Renderer, fast_path_middleware
from homeflex.vtn.push import push_url
from homeflex.vtn.tls import VtnTls, check_clocks, registration_refusal
from homeflex.vtn.xmlguard import xml_guard

log = logging.getLogger(__name__)
VTN_ID = "HOMEFLEX-VTN"


VEN_PREFIX = "ven-"


def ven_id_for(household_id: str) -> str:
    """A household's VEN id, also its OpenADR 3.1 VEN client's id."""
    return f"{VEN_PREFIX}{household_id}"


def household_of(ven_id: str) -> str | None:
    """The household a VEN id (or 3.1 VEN client id) is for; None if it is not `ven-<household>`."""
    household = ven_id.removeprefix(VEN_PREFIX)
    return household if household and household != ven_id else None


class OpenAdrHandlers:
    """The VTN's OpenADR behaviour, one method per message, state in `storage`."""

    def __init__(self, storage: Storage, clock: Clock, report_interval: timedelta) -> None:
        self.storage = storage
        self.clock = clock
        self.report_interval = report_interval
        self.polls = PollState(storage, clock)  # most polls answered from memory (homeflex.vtn.poll)
        self.renderer = Renderer(VTN_ID)
        # Deliveries and opt responses to many VENs are written a batch per transaction.
        self.sent = GroupCommit(storage.mark_sent_many)
        self.opts = GroupCommit(storage.record_opts)

    async def ven_lookup(self, ven_id: str) -> dict[str, Any] | None:
        ven = await self.polls.ven(ven_id)
        if ven is not None and ven.fingerprint:  # authentication reads a re-issued certificate at once
            ven = await self.storage.get_ven(ven_id)
        if ven is None:
            return None
        return {
            "ven_id": ven.ven_id,
            "ven_name": ven.ven_name,
            "fingerprint": ven.fingerprint,
            # "" = provisioned (certificate issued, homeflex.vtn.identity) but not registered yet
            "registration_id": ven.registration_id or None,
        }

    async def on_create_party_registration(self, payload: dict[str, Any]) -> tuple[str, str]:
        """A VEN's ven_name is its household id; only enrolled households may register. A refusal is an
        OpenADR error code in the oadrCreatedPartyRegistration (openleadr's `False` would answer
        200 OK with empty ids): 452 for a ven_name that is no enrolled household, 463 for the wrong
        certificate."""
        household_id = payload.get("ven_name") or ""
        if await self.storage.get_household(household_id) is None:
            log.warning("registration refused: unknown household %r", household_id)
            raise errors.InvalidIdError(f"invalid ID: venName {household_id!r} is no enrolled household")
        ven_id = ven_id_for(household_id)
        existing = await self.storage.get_ven(ven_id)
        provisioned = existing.fingerprint if existing else None
        refusal = registration_refusal(payload, provisioned)
        if refusal is not None:
            log.warning("registration refused for household %r: %s", household_id, refusal)
            raise errors.NotRegisteredOrAuthorizedError(f"registration refused: {refusal}")
        registration_id = (existing.registration_id if existing else "") or str(uuid.uuid4())
        # Stored before answering, or openleadr's ven_lookup loops on re-registration (#66).
        ven = VenRecord(
            ven_id=ven_id,
            household_id=household_id,
            ven_name=household_id,
            registration_id=registration_id,
            fingerprint=payload.get("fingerprint") or provisioned,
        )
        await self.storage.save_ven(ven, self.clock.now())
        await self.storage.save_push_url(ven_id, push_url(payload), self.clock.now())  # None: pull only
        self.polls.remember_ven(ven)  # its first polls need no lookup
        log.info("registered %s for household %s", ven_id, household_id)
        metrics.VEN_REGISTRATIONS.inc()
        return ven_id, registration_id

    async def _household(self, ven_id: str) -> str | None:
        ven = await self.polls.ven(ven_id)
        return ven.household_id if ven else None

    async def pending_events(self, ven_id: str) -> list[dict[str, Any]]:
        household_id = await self._household(ven_id)
        if household_id is None:
            return []
        now = self.clock.now()
        events = await self.polls.pending(household_id, now)
        await self.sent.add(self._deliveries(events, household_id))
        return [openadr_event(e, ven_id, now, self.polls.resources(e.event_id, household_id)) for e in events]

    def _deliveries(self, events: list[EventRecord], household_id: str) -> list[tuple[str, str, int]]:
        """(event, household, modification) sent: an aggregator's delivery is to each targeted member."""
        return [
            (e.event_id, h, e.modification_number)
            for e in events
            for h in self.polls.answering_for(e.event_id, household_id) or (household_id,)
        ]

    async def answer_poll(self, ven_id: str) -> str | None:
        """The rendered answer to a plain oadrPoll, or None to let openleadr answer (a VEN unknown or
        not registered gets its oadrRequestReregistration from there)."""
        ven = await self.polls.ven(ven_id)
        if ven is None or not ven.registration_id:
            return None
        household_id = ven.household_id
        metrics.POLLS.inc()
        now = self.clock.now()
        events = await self.polls.pending(household_id, now)
        if not events:
            return self.renderer.empty(ven_id)
        await self.sent.add(self._deliveries(events, household_id))
        resources = (
            {e.event_id: self.polls.resources(e.event_id, household_id) for e in events}
            if self.polls.is_aggregator(household_id)
            else None
        )
        return self.renderer.distribute(events, ven_id, now, resources)

    async def on_poll(self, ven_id: str) -> tuple[str, dict[str, Any]] | None:
        metrics.POLLS.inc()
        events = await self.pending_events(ven_id)
        # A tuple, not a list: openleadr 0.5.36 mishandles a bare list from on_poll.
        return ("oadrDistributeEvent", {"events": events}) if events else None

    async def on_request_event(self, ven_id: str) -> list[dict[str, Any]] | None:
        return await self.pending_events(ven_id) or None

    async def request_event(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """oadrRequestEvent (a VEN asking at start-up), answered with the statuses on our clock: openleadr's
        own handler recomputes each status from the wall clock, which tells a VEN "far" for an event that
        our clock (e.g. the demo's, running ahead) has already started."""
        events = await self.pending_events(payload["ven_id"])
        return ("oadrDistributeEvent", {"events": events}) if events else ("oadrResponse", {})

    async def created_event(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """oadrCreatedEvent with the modification number each response is for (openleadr's external
        mode drops it, so this replaces its handler)."""
        await self._store_answers(payload["ven_id"], payload.get("event_responses") or [])
        return "oadrResponse", {}

    async def answer_created(self, ven_id: str, responses: list[dict[str, Any]]) -> str | None:
        """The rendered answer to a plain oadrCreatedEvent, or None to let openleadr answer."""
        ven = await self.polls.ven(ven_id)
        if ven is None or not ven.registration_id:
            return None
        await self._store_answers(ven_id, responses)
        return self.renderer.empty(ven_id)  # what openleadr answers: an oadrResponse, no request id

    async def _store_answers(self, ven_id: str, responses: list[dict[str, Any]]) -> None:
        household_id = await self._household(ven_id)
        for response in responses:
            stored = household_id is not None and await self._store_opt(household_id, response)
            if stored:
                metrics.OPT_RESPONSES.labels(response["opt_type"]).inc()
                log.info(
                    "%s %s event %s (mod %s)",
                    ven_id,
                    response["opt_type"],
                    response["event_id"],
                    response["modification_number"],
                )
            else:
                log.warning("%s answered event %s that is not for it", ven_id, response["event_id"])

    async def _store_opt(self, household_id: str, response: dict[str, Any]) -> bool:
        await self.polls.ensure_read()
        if self.polls.is_aggregator(household_id):
            return await self._store_portfolio_opt(household_id, response)
        event_id, modification = response["event_id"], int(response["modification_number"])
        row = (event_id, household_id, modification, response["opt_type"], self.clock.now())
        targeted = self.polls.targeted(event_id, household_id)
        if targeted is None:  # not a live event in this worker's view: the database decides
            stored = await self.storage.record_opt(*row)
        elif targeted:
            await self.opts.add([row])  # committed before the VEN gets its oadrResponse
            stored = True
        else:
            stored = False
        if stored:
            self.polls.answered(event_id, household_id, modification)
        return stored

    async def _store_portfolio_opt(self, aggregator_id: str, response: dict[str, Any]) -> bool:
        """An aggregator's one answer stands for every member the event targets (openleadr's
        oadrCreatedEvent carries no per-resource answer)."""
        event_id, modification = response["event_id"], int(response["modification_number"])
        members = self.polls.answering_for(event_id, aggregator_id)
        if members is None:  # not live here: read the targets and the portfolio from the database
            aggregator = await self.storage.get_aggregator(aggregator_id)
            portfolio = {m.household_id for m in aggregator.members} if aggregator else set()
            targets = await self.storage.event_targets(event_id)
            members = tuple(t.household_id for t in targets if t.household_id in portfolio)
        if not members:
            return False
        at = self.clock.now()
        await self.opts.add([(event_id, h, modification, response["opt_type"], at) for h in members])
        for h in members:
            self.polls.answered(event_id, h, modification)
        return True

    async def on_register_report(
        self,
        ven_id: str,
        resource_id: str,
        measurement: str,
        unit: str,
        scale: str,
        min_sampling_interval: timedelta,
        max_sampling_interval: timedelta,
    ) -> tuple[Any, timedelta] | None:
        if measurement not in ("RealPower", "Real Power", "powerReal"):
            return None
        interval = min(max(self.report_interval, min_sampling_interval), max_sampling_interval)
        return _unused_callback, interval

    async def update_report(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Store reported values; a report for a request this VTN never made is ignored."""
        ven_id = payload["ven_id"]
        now = self.clock.now()
        for report in payload.get("reports") or []:
            request_id = report.get("report_request_id")
            if await self.storage.report_request_ven(request_id) != ven_id:
                log.warning("%s sent a report for unknown request %s", ven_id, request_id)
                continue
            values = [
                (i["report_payload"]["r_id"], i["dtstart"], float(i["report_payload"]["value"]))
                for i in report.get("intervals") or []
            ]
            await self.storage.save_ven_reports(ven_id, request_id, values, now)
        return "oadrUpdatedReport", {}

    async def created_report(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "oadrResponse", {}


def registration_error(
    poll_interval: timedelta,
) -> Callable[[str, int, str], tuple[str, dict[str, Any]]]:
    """The registration service's answer to an OpenADR error. openleadr 0.5.36 means to answer
    oadrCreatePartyRegistration with oadrCreatedPartyRegistration but falls through to oadrResponse and
    leaves out the vtnID; a VEN expecting the registration answer gets it here, with the error code."""

    def error_response(message_type: str, code: int, description: str) -> tuple[str, dict[str, Any]]:
        payload: dict[str, Any] = {
            "response": {"response_code": code, "response_description": description},
            "vtn_id": VTN_ID,
        }
        if message_type != "oadrCreatePartyRegistration":
            return "oadrResponse", payload
        profiles = [{"profile_name": "2.0b", "transports": [{"transport_name": "simpleHttp"}]}]
        return "oadrCreatedPartyRegistration", {
            **payload,
            "profiles": profiles,
            "requested_oadr_poll_freq": poll_interval,
        }

    return error_response


def _unused_callback(data: object) -> None:
    """openleadr wants a callback per requested report; values go through `update_report` instead."""


def build_server(
    handlers: OpenAdrHandlers,
    *,
    host: str,
    port: int,
    poll_interval: timedelta,
    tls: VtnTls | None = None,
) -> OpenADRServer:
    server = OpenADRServer(
        vtn_id=VTN_ID,
        http_host=host,
        http_port=port,
        requested_poll_freq=poll_interval,
        ven_lookup=handlers.ven_lookup,
        show_fingerprint=False,
        **(tls.server_options() if tls else {}),
    )
    if tls is not None:
        check_clocks(handlers.clock)
    # First of all middlewares: no DTD reaches openleadr's parser (homeflex.vtn.xmlguard).
    server.app.middlewares.insert(0, xml_guard(server.http_path_prefix))
    # openleadr stores a bare partial as a class attribute; Python 3.14 would bind it as a method.
    VTNService._create_message = staticmethod(VTNService._create_message)
    server.add_handler("on_create_party_registration", handlers.on_create_party_registration)
    server.services["registration_service"].error_response = registration_error(poll_interval)
    server.add_handler("on_poll", handlers.on_poll)
    server.add_handler("on_request_event", handlers.on_request_event)
    server.add_handler("on_register_report", handlers.on_register_report)
    server.app.middlewares.append(fast_path_middleware(server.http_path_prefix, handlers))
    events = server.services["event_service"]
    events.handlers["oadrCreatedEvent"] = handlers.created_event
    events.handlers["oadrRequestEvent"] = handlers.request_event
    reports = server.services["report_service"]
    register = reports.handlers["oadrRegisterReport"]

    async def register_report(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response_type, response = await register(payload)
        for request in response.get("report_requests") or []:
            await handlers.storage.save_report_request(
                request.report_request_id, payload["ven_id"], handlers.clock.now()
            )
        return response_type, response

    reports.handlers["oadrRegisterReport"] = register_report
    reports.handlers["oadrUpdateReport"] = handlers.update_report
    reports.handlers["oadrCreatedReport"] = handlers.created_report
    return server
