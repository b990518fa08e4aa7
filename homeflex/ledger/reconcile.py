"""Prove the books balance: the ledger against itself and against the settlements it came from."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from homeflex.storage.records import LedgerEntry, SettlementRecord

DSO, COMMUNITY = "dso", "community"


@dataclass(kw_only=True)
class Reconciliation:
    balances: dict[str, Decimal] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def household_account(household_id: str) -> str:
    return f"household:{household_id}"


def aggregator_account(aggregator_id: str) -> str:
    """An aggregator is paid for its portfolio's members (DSO -> aggregator)."""
    return f"aggregator:{aggregator_id}"


def reconcile(entries: list[LedgerEntry], latest: list[SettlementRecord]) -> Reconciliation:
    """Every entry moves money between two accounts, so balances sum to zero; for each settled
    (event, household) the DSO's payments add up to the latest settlement, and the household's to
    its share; versions of a settlement are numbered without gaps."""
    result = Reconciliation()
    paid: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    from_dso: dict[tuple[str, str], Decimal] = defaultdict(Decimal)  # to the community or an aggregator
    versions: dict[tuple[str, str], set[int]] = defaultdict(set)
    for e in entries:
        amount = Decimal(e.amount_gbp)
        result.balances[e.debit_account] = result.balances.get(e.debit_account, Decimal(0)) - amount
        result.balances[e.credit_account] = result.balances.get(e.credit_account, Decimal(0)) + amount
        paid[(e.event_id, e.household_id, e.credit_account)] += amount
        if e.debit_account == DSO:
            from_dso[(e.event_id, e.household_id)] += amount
        versions[(e.event_id, e.household_id)].add(e.settlement_version)
    total = sum(result.balances.values(), Decimal(0))
    if total != 0:
        result.problems.append(f"balances sum to {total}, not 0")
    for s in latest:
        key = (s.event_id, s.household_id)
        to_community = from_dso[key]
        to_household = paid[(*key, household_account(s.household_id))]
        if to_community != Decimal(s.payment_gbp):
            result.problems.append(
                f"{key}: DSO paid {to_community}, settlement v{s.version} says {s.payment_gbp}"
            )
        if to_household != Decimal(s.household_gbp):
            result.problems.append(
                f"{key}: household got {to_household}, settlement v{s.version} says {s.household_gbp}"
            )
        if versions[key] and max(versions[key]) > s.version:
            result.problems.append(f"{key}: ledger has entries for a version after v{s.version}")
    return result
