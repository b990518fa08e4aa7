"""The portal's repository: its own tables (migration 0006) on the platform's Database. Built by the
composite storage (`storage.portal`) or alone: `PortalStore(db)`."""

from __future__ import annotations

from homeflex.storage.portal.accounts import AccountStore
from homeflex.storage.portal.customers import CustomerStore
from homeflex.storage.portal.outbox import OutboxStore
from homeflex.storage.portal.records import Account, Customer, Email, InfoSession, Skip, TokenError

__all__ = [
    "Account",
    "AccountStore",
    "Customer",
    "CustomerStore",
    "Email",
    "InfoSession",
    "OutboxStore",
    "PortalStore",
    "Skip",
    "TokenError",
]


class PortalStore(CustomerStore, AccountStore, OutboxStore):
    """The portal's three parts on one Database: customers and their journey, accounts and links, the
    mail outbox. Each depends on the Database alone; no two define the same name (tests/storage)."""
