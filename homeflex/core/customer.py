"""The customer's vocabulary, shared by the portal (which runs the journey: homeflex.portal.journey)
and its storage (homeflex.storage.portal): the journey's steps, who acts, a customer's place in the
journey with its audit entries, and category changes. Values only; the rules live in the portal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from homeflex.core.domain import Category


class Step(StrEnum):
    INTEREST = "interest"  # expression of interest received
    SESSION_BOOKED = "session_booked"  # information session booked
    INVITED = "invited"  # single-use portal invite sent
    ACCOUNT = "account"  # account created from the invite
    PROFILE = "profile"  # smart energy profile complete
    PLAN = "plan"  # plan chosen
    ASSESSMENT_BOOKED = "assessment_booked"  # installer chosen, assessment visit booked
    STAGE_1 = "stage_1"  # installed, VEN provisioned: manual (learning)
    STAGE_2 = "stage_2"  # automatic without flex
    STAGE_3 = "stage_3"  # automatic with flex
    LEFT = "left"  # left the journey; may return


class Role(StrEnum):
    PUBLIC = "public"
    HOUSEHOLDER = "householder"
    INSTALLER = "installer"
    OPERATOR = "operator"


class JourneyError(ValueError):
    """A transition that is not allowed; the message says why and what is allowed instead."""


@dataclass(frozen=True, kw_only=True)
class JourneyState:
    household_id: str
    step: Step
    since: datetime
    left_from: Step | None = None  # the step a customer who left returns to


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    household_id: str
    from_step: Step | None
    to_step: Step
    actor: str  # who: an email, "installer:<email>", or "public"
    role: Role
    at: datetime
    reason: str


@dataclass(frozen=True, kw_only=True)
class CategoryChange:
    household_id: str
    category: Category
    vulnerable: bool
    since: datetime
    reason: str
    actor: str
