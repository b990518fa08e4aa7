"""What the portal does, once, for both the HTML pages and the REST API: each action checks the
journey (journey.py), writes through PortalStore and the platform's Storage, and queues mail. Access
(invite, accounts, reset) is in accounts.py, events (skip, create) in eventactions.py; the shared
ground in base.py.

Every action takes the actor and role from the caller's session; route handlers only decide who may
call an action on which household (authorisation), never what the action does.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeflex.core.domain import Category, Stage
from homeflex.metering.importer import import_intervals, rejected_rows
from homeflex.metering.validate import ReadingRejected
from homeflex.portal import auth
from homeflex.portal.accounts import AccountActions
from homeflex.portal.base import (
    EMAIL,
    MAX_UPLOAD_BYTES,
    SKIP_REASON,
    ActionError,
    LoginError,
    PortalBase,
    PortalConfig,
    Session,
)
from homeflex.portal.categories import INTENTIONS, change_category
from homeflex.portal.configactions import ConfigActions
from homeflex.portal.deviceform import keep_secrets
from homeflex.portal.energy import PLANS, eligible_plans, parse_profile
from homeflex.portal.eventactions import EventActions
from homeflex.portal.interest import parse_interest
from homeflex.portal.journey import ORDER, TITLES, JourneyError, Role, Step, stage_of, start, transition
from homeflex.profiles.job import learn_and_store
from homeflex.storage.portal import Customer
from homeflex.storage.records import ProfileRecord
from homeflex.vtn.oadr3.auth import provision_client
from homeflex.vtn.openadr import ven_id_for

__all__ = [
    "EMAIL",
    "MAX_UPLOAD_BYTES",
    "SKIP_REASON",
    "ActionError",
    "LoginError",
    "Portal",
    "PortalBase",
    "PortalConfig",
    "Session",
    "Upload",
]


@dataclass(frozen=True, kw_only=True)
class Upload:
    intervals: int
    stored: int
    duplicates: int
    rejected: list[tuple[int, str]]  # (line, why)


@dataclass
class Portal(AccountActions, EventActions, ConfigActions):
    """Every portal action (the journey's steps here, access in AccountActions, events in
    EventActions, the household's configuration in ConfigActions)."""

    # -- 1. expression of interest; 2. information session ---------------------------------------

    async def express_interest(self, form: Mapping[str, Any]) -> tuple[str, str]:
        """Returns (household id, the applicant's private link token)."""
        interest = parse_interest(form)
        now = self.clock.now()
        household_id = f"hh-{uuid.uuid4().hex[:10]}"
        state, entry = start(household_id, now)
        change = change_category(
            [],
            household_id=household_id,
            category=interest.category,
            vulnerable=interest.vulnerable,
            at=now,
            actor="public",
            reason="from what the customer wants to do: " + (", ".join(interest.intentions) or "none"),
        )
        try:
            await self.store.create_customer(
                name=interest.name,
                email=interest.email,
                postcode=interest.postcode,
                group=self.config.prospect_group,
                state=state,
                entry=entry,
                category=change,
                data={"owned": interest.owned, "intentions": interest.intentions},
            )
        except ValueError as err:
            raise ActionError(str(err)) from err
        token = auth.new_token()
        await self.store.create_token(
            "applicant",
            auth.token_hash(token),
            interest.email,
            household_id,
            now,
            now + self.config.applicant_ttl,
        )
        await self._mail(
            interest.email,
            "Thank you for your interest",
            f"Book an information session: {self.config.base_url}/apply/{token}",
        )
        return household_id, token

    async def applicant(self, token: str) -> Customer:
        _, household_id = await self.store.use_token("applicant", auth.token_hash(token), self.clock.now())
        assert household_id is not None
        return await self.customer(household_id)

    async def book_session(self, c: Customer, session_id: str) -> Customer:
        # Check the journey first, so a refused move books nothing.
        transition(c.state, Step.SESSION_BOOKED, actor=c.email, role=Role.PUBLIC, at=self.clock.now())
        try:
            await self.store.book(session_id, c.household_id, self.clock.now())
        except ValueError as err:
            raise ActionError(str(err)) from err
        return await self._move(c, Step.SESSION_BOOKED, c.email, Role.PUBLIC, reason=f"booked {session_id}")

    async def cancel_session(
        self, c: Customer, actor: str | None = None, role: Role = Role.PUBLIC
    ) -> Customer:
        who = actor or c.email
        transition(c.state, Step.INTEREST, actor=who, role=role, at=self.clock.now())
        await self.store.cancel_booking(c.household_id)
        return await self._move(c, Step.INTEREST, who, role, reason="booking cancelled")

    # -- 5. profile; 6. plan; 7. pre-installation -------------------------------------------------

    async def save_profile(
        self,
        c: Customer,
        form: Mapping[str, str],
        actor: str,
        role: Role,
        csv_text: str | None = None,
        timezone: str = "UTC",
    ) -> Upload | None:
        # ProfileError lists the form's mistakes (passwords are not shown back: a blank one is kept).
        document = parse_profile(keep_secrets(form, c.data.get("profile")))
        config = await self.config_for(c, document)  # ... and the configuration's, beside its field
        if c.state.step not in (
            Step.ACCOUNT,
            Step.PROFILE,
            Step.PLAN,
            Step.ASSESSMENT_BOOKED,
            Step.STAGE_1,
            Step.STAGE_2,
            Step.STAGE_3,
        ):
            raise ActionError("the profile can be filled in once your account exists")
        upload = await self._import(c.household_id, csv_text, timezone) if csv_text else None
        await self.save_config(config, actor)  # a new version, sent to the household's agent
        if c.state.step is Step.ACCOUNT:
            await self._move(
                c, Step.PROFILE, actor, role, reason="profile complete", data={"profile": document}
            )
        else:
            await self.store.update_data(c.household_id, {"profile": document})
        return upload

    async def _import(self, household_id: str, text: str, timezone: str) -> Upload:
        now = self.clock.now()
        try:
            result = import_intervals(household_id, text, received_at=now, timezone=timezone)
        except ReadingRejected as err:
            raise ActionError(f"the file cannot be read: {err.message}") from err
        except ValueError as err:
            raise ActionError(str(err)) from err
        stored = await self.storage.insert_readings(result.readings, now) if result.readings else 0
        await self.storage.insert_rejected(rejected_rows(result, household_id, "portal-upload", now))
        if result.intervals:
            await learn_and_store(self.storage, household_id, now)  # seeds the stage-1 profile
        return Upload(
            intervals=result.intervals,
            stored=stored,
            duplicates=result.duplicates,
            rejected=[(line, f"{why.reason}: {why.message}") for line, why in result.rejected],
        )

    async def choose_plan(self, c: Customer, plan_id: str, actor: str, role: Role) -> Customer:
        profile = c.data.get("profile") or {}
        verdicts = {p.id: (ok, why) for p, ok, why in eligible_plans(profile)}
        if plan_id not in verdicts:
            raise ActionError(f"no plan {plan_id!r}: choose one of {', '.join(PLANS)}")
        ok, why = verdicts[plan_id]
        if not ok:
            raise ActionError(f"{PLANS[plan_id].name} is not available for your home: it {why}")
        if c.state.step is Step.PLAN:
            await self.store.update_data(c.household_id, {"plan": plan_id})
            return await self.customer(c.household_id)
        return await self._move(c, Step.PLAN, actor, role, reason=f"chose {plan_id}", data={"plan": plan_id})

    async def quotes(self, c: Customer) -> list[tuple[str, int]]:
        """(installer email, price £) for the chosen plan, one per registered installer."""
        plan = PLANS.get(str(c.data.get("plan")))
        if plan is None:
            return []
        installers = await self.store.accounts(Role.INSTALLER)
        return [(a.email, plan.quote_gbp + 25 * i) for i, a in enumerate(installers)]

    async def book_assessment(
        self, c: Customer, installer: str, visit: str, actor: str, role: Role
    ) -> Customer:
        quotes = dict(await self.quotes(c))
        if installer not in quotes:
            raise ActionError("choose one of the installers that quoted")
        try:
            visit_at = datetime.fromisoformat(visit)
        except ValueError as err:
            raise ActionError("choose a date for the assessment visit") from err
        if visit_at.date() <= self.clock.now().date():
            raise ActionError("the assessment visit must be on a later day")
        return await self._move(
            c,
            Step.ASSESSMENT_BOOKED,
            actor,
            role,
            reason=f"assessment with {installer}",
            data={
                "installer": installer,
                "quote_gbp": quotes[installer],
                "visit": visit_at.date().isoformat(),
            },
        )

    # -- 8. installation; 9. stages -----------------------------------------------------------------

    async def record_installation(self, c: Customer, actor: str, role: Role) -> dict[str, str]:
        """Stage 1 begins; returns the VEN's identity and credentials (shown once, stored hashed)."""
        if role is Role.INSTALLER and c.data.get("installer") != actor:
            raise ActionError("this job is not assigned to you")
        transition(c.state, Step.STAGE_1, actor=actor, role=role, at=self.clock.now())
        await self.resend_config(c, actor, stage=Stage.MANUAL, group=self.group_for(Step.STAGE_1))
        ven_id = ven_id_for(c.household_id)
        # The VEN's OpenADR 3.1 client (the VTN verifies it); its MQTT login comes from mqtt-access.
        secret = await provision_client(self.storage, self.clock, ven_id, "ven")
        await self.store.provision_ven(
            c.household_id, ven_id, auth.token_hash(secret), self.clock.now(), actor
        )
        await self._move(
            c,
            Step.STAGE_1,
            actor,
            role,
            reason="installed; VEN provisioned",
            data={"installed_on": self.clock.now().date().isoformat()},
        )
        return {
            "ven_name": c.household_id,
            "ven_id": ven_id,
            "oadr3_client_id": ven_id,
            "oadr3_client_secret": secret,
            "mqtt_credentials": f"homeflex mqtt-access --out DIR --ids {c.household_id}",
        }

    async def readiness(self, household_id: str) -> ProfileRecord | None:
        return await self.storage.latest_profile(household_id)

    async def move_stage(self, c: Customer, to: Step, actor: str) -> Customer:
        blockers: list[str] = []
        if c.state.step is Step.STAGE_1 and to is Step.STAGE_2:
            record = await learn_and_store(self.storage, c.household_id, self.clock.now())
            if not record.ready:
                blockers = list(record.reasons)
        # The household's agent runs the stage its configuration says: a new version first (checked
        # move, then sent), so a move whose version cannot be sent changes nothing.
        transition(c.state, to, actor=actor, role=Role.OPERATOR, at=self.clock.now(), blockers=blockers)
        await self.resend_config(c, actor, stage=stage_of(to), group=self.group_for(to))
        return await self._move(c, to, actor, Role.OPERATOR, reason=f"moved to {to.value}", blockers=blockers)

    async def operator_move(self, c: Customer, to: Step, actor: str, reason: str = "") -> dict[str, str]:
        """The console's and the API's moves; returns the VEN credentials when installation is recorded.
        Moves that need the customer's own data (profile, plan, assessment) go through their forms."""
        if to is Step.LEFT:
            await self.leave(c, actor, Role.OPERATOR, reason)
        elif c.state.step is Step.LEFT:
            await self.come_back(c, actor, Role.OPERATOR)
        elif to is Step.INVITED:
            await self.invite(c, actor)
        elif to is Step.INTEREST:
            await self.cancel_session(c, actor, Role.OPERATOR)
        elif to is Step.STAGE_1 and c.state.step is Step.ASSESSMENT_BOOKED:
            return await self.record_installation(c, actor, Role.OPERATOR)
        elif to in (Step.STAGE_1, Step.STAGE_2, Step.STAGE_3):
            await self.move_stage(c, to, actor)
        elif ORDER.index(to) < ORDER.index(c.state.step):  # a step back, e.g. to change the plan
            await self._move(c, to, actor, Role.OPERATOR, reason=reason or "moved back by the operator")
        else:
            transition(c.state, to, actor=actor, role=Role.OPERATOR, at=self.clock.now())  # refuse if invalid
            raise ActionError(f"{TITLES[to]} needs the customer's details: fill in the form on their page")
        return {}

    async def leave(self, c: Customer, actor: str, role: Role, reason: str) -> Customer:
        return await self._move(c, Step.LEFT, actor, role, reason=reason.strip() or "left")

    async def come_back(self, c: Customer, actor: str, role: Role) -> Customer:
        if c.state.left_from is None:
            raise JourneyError("this customer has not left")
        return await self._move(c, c.state.left_from, actor, role, reason="returned")

    async def set_category(
        self, c: Customer, category: str, vulnerable: bool, reason: str, actor: str
    ) -> None:
        try:
            cat = Category(category)
        except ValueError as err:
            raise ActionError("category must be one of A, B, C, D") from err
        history = await self.store.categories(c.household_id)
        try:
            change = change_category(
                history,
                household_id=c.household_id,
                category=cat,
                vulnerable=vulnerable,
                at=self.clock.now(),
                reason=reason,
                actor=actor,
            )
        except ValueError as err:
            raise ActionError(str(err)) from err
        await self.resend_config(c, actor, category=cat, vulnerable=vulnerable)
        await self.store.change_category(change)


INTENTION_CHOICES = [(k, v[0]) for k, v in INTENTIONS.items()]
