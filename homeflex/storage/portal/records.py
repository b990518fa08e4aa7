"""What the portal's repository reads and writes (migration 0006): plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeflex.core.customer import JourneyState, Role


class TokenError(ValueError):
    """A link that cannot be used: unknown, already used or expired (the message says which)."""


@dataclass(frozen=True, kw_only=True)
class Account:
    email: str
    role: Role
    household_id: str | None
    password_hash: str


@dataclass(frozen=True, kw_only=True)
class Customer:
    household_id: str
    name: str
    email: str
    postcode: str
    state: JourneyState
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class InfoSession:
    id: str
    starts_at: datetime
    mode: str  # face_to_face | online
    place: str
    capacity: int
    booked: int


@dataclass(frozen=True, kw_only=True)
class Skip:
    event_id: str
    household_id: str
    at: datetime
    reason: str


@dataclass(frozen=True, kw_only=True)
class Email:
    id: str
    to_email: str
    subject: str
    body: str
    send_after: datetime
    created_at: datetime
    claimed_at: datetime | None = None  # handed to the SMTP sender (mailer.py)
    sent_at: datetime | None = None
    failed_at: datetime | None = None  # refused for good
    attempts: int = 0
    last_error: str | None = None

    @property
    def status(self) -> str:
        """queued | sent | failed | in doubt (claimed, never confirmed: a crash mid-send)."""
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        return "in doubt" if self.claimed_at is not None else "queued"
