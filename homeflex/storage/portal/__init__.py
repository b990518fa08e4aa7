"""The portal's repository: its own tables (migration 0006) on the platform's Database. Built by the
composite storage (`storage.portal`) or alone: `PortalStore(db)`."""

from __future__ import annotations

from homeflex.storage.portal.accounts import AccountStore
from homeflex.storage.portal.customers import PortalStore
from homeflex.storage.portal.outbox import OutboxStore
from homeflex.storage.portal.records import Account, Customer, Email, InfoSession, Skip, TokenError

__all__ = [
    "Account",
    "AccountStore",
    "Customer",
    "Email",
    "InfoSession",
    "OutboxStore",
    "PortalStore",
    "Skip",
    "TokenError",
]
