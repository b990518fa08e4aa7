"""The books from storage: reconciliation and monthly statements (thin adapters over pure code)."""

from __future__ import annotations

from homeflex.ledger.reconcile import Reconciliation, reconcile
from homeflex.ledger.statements import Statement, build_statement, month_bounds
from homeflex.storage import Storage


async def reconcile_books(storage: Storage) -> Reconciliation:
    latest = [s for e in await storage.list_events() for s in await storage.latest_settlements(e.event_id)]
    return reconcile(await storage.ledger(), latest)


async def household_statement(storage: Storage, household_id: str, month: str) -> Statement:
    _, end = month_bounds(month)
    entries = [e for e in await storage.ledger() if e.household_id == household_id]
    events = {e.event_id: e for e in await storage.list_events()}
    settlements = {}
    for event_id in {e.event_id for e in entries}:
        for s in await storage.household_settlements(household_id, events[event_id].created_at, end):
            settlements[(s.event_id, s.version)] = s
    return build_statement(household_id, month, entries, settlements, events)
