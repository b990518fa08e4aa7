"""What every portal action builds on: its configuration, errors, and the one place a journey move
is made and stored (`_move`)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from homeflex.core.clock import Clock
from homeflex.portal import auth
from homeflex.portal.journey import Role, Step, transition
from homeflex.portal.mailer import SmtpServer
from homeflex.portal.notify import send_after
from homeflex.portal.skipnotice import RetainedPublisher
from homeflex.portal.vtnclient import VtnClient
from homeflex.storage import Storage
from homeflex.storage.portal import Account, Customer, PortalStore

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SKIP_REASON = "customer override"
MAX_UPLOAD_BYTES = 5_000_000


class ActionError(ValueError):
    """The request cannot be done as asked; the message is for the person who asked."""


class LoginError(ActionError):
    pass


@dataclass(frozen=True, kw_only=True)
class PortalConfig:
    base_url: str = "http://127.0.0.1:8090"  # for links in mail
    community_group: str = "community"  # stage-3 households: the group events target
    prospect_group: str = "prospects"  # everyone else
    applicant_ttl: timedelta = timedelta(days=60)
    invite_ttl: timedelta = timedelta(days=7)
    reset_ttl: timedelta = timedelta(hours=1)
    session_ttl: timedelta = timedelta(hours=12)
    smtp: SmtpServer | None = None  # None: mail stays queued in the outbox (the console says so)
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client: behind one, every
    # request comes from the proxy, and the login throttle must count the real client addresses.
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Session:
    token: str
    csrf: str
    account: Account


@dataclass
class PortalBase:
    storage: Storage  # the platform's records (readings, profiles, configurations, settlement)
    store: PortalStore  # the portal's own tables
    clock: Clock
    vtn: VtnClient
    config: PortalConfig = field(default_factory=PortalConfig)
    limits: auth.LoginThrottle = field(default_factory=auth.LoginThrottle)
    # Tells each household's agent its skips and configuration (skipnotice.py); None: no broker, they
    # reach only the platform's records.
    publisher: RetainedPublisher | None = None
    skip_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one household list at a time

    async def customer(self, household_id: str) -> Customer:
        found = await self.store.customer(household_id)
        if found is None:
            raise LookupError(f"no customer {household_id!r}")
        return found

    async def _mail(self, to: str, subject: str, body: str, at: datetime | None = None) -> None:
        now = self.clock.now()
        await self.store.enqueue_email(to, subject, body, send_after(at or now), now)

    def group_for(self, step: Step) -> str:
        """The VTN group of a household at ``step``: stage-3 households are the ones events target."""
        return self.config.community_group if step is Step.STAGE_3 else self.config.prospect_group

    async def _move(
        self,
        c: Customer,
        to: Step,
        actor: str,
        role: Role,
        *,
        reason: str = "",
        blockers: Sequence[str] = (),
        data: Mapping[str, Any] | None = None,
    ) -> Customer:
        new, entry = transition(
            c.state, to, actor=actor, role=role, at=self.clock.now(), reason=reason, blockers=blockers
        )
        await self.store.apply(c.state, new, entry, data=data, group=self.group_for(to))
        return await self.customer(c.household_id)
