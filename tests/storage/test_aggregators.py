"""Storage contract for aggregators and their portfolios (migration 0009), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from homeflex.core.domain import Category
from homeflex.storage import DuplicateKey, Storage
from homeflex.storage.records import AggregatorRecord, HouseholdRecord, PortfolioMember
from tests.storage.test_contract import integrity_error

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def households(storage: Storage, *ids: str) -> None:
    for hid in ids:
        await storage.upsert_household(HouseholdRecord(id=hid, group="g", category=Category.A), NOW)


def portfolio(aggregator_id: str, **offered: float) -> AggregatorRecord:
    members = tuple(PortfolioMember(household_id=h, offered_kw=kw) for h, kw in sorted(offered.items()))
    return AggregatorRecord(id=aggregator_id, name=f"{aggregator_id} ltd", members=members)


async def test_an_aggregator_and_its_portfolio_round_trip_and_can_be_replaced(backend: Storage) -> None:
    await households(backend, "agg1", "h1", "h2", "h3")
    assert await backend.get_aggregator("agg1") is None
    assert await backend.list_aggregators() == []
    await backend.save_aggregator(portfolio("agg1", h2=1.5, h1=0.5), NOW)
    assert await backend.get_aggregator("agg1") == portfolio("agg1", h1=0.5, h2=1.5)
    await backend.save_aggregator(portfolio("agg1", h3=2.0), NOW)  # the portfolio is replaced whole
    assert await backend.list_aggregators() == [portfolio("agg1", h3=2.0)]
    await backend.save_aggregator(portfolio("agg1"), NOW)
    assert await backend.get_aggregator("agg1") == portfolio("agg1")


async def test_a_household_is_in_one_portfolio_at_most_and_a_failed_save_changes_nothing(
    backend: Storage,
) -> None:
    await households(backend, "agg1", "agg2", "h1", "h2")
    await backend.save_aggregator(portfolio("agg1", h1=1.0), NOW)
    with pytest.raises(DuplicateKey):
        await backend.save_aggregator(portfolio("agg2", h2=1.0, h1=1.0), NOW)
    assert await backend.get_aggregator("agg2") is None
    assert await backend.list_aggregators() == [portfolio("agg1", h1=1.0)]


async def test_an_aggregator_and_its_members_must_be_households(backend: Storage) -> None:
    await households(backend, "agg1", "h1")
    with pytest.raises(integrity_error(backend)):
        await backend.save_aggregator(portfolio("agg1", ghost=1.0), NOW)
    with pytest.raises(integrity_error(backend)):
        await backend.save_aggregator(portfolio("nobody", h1=1.0), NOW)
    with pytest.raises(integrity_error(backend)):  # offered flexibility cannot be negative
        await backend.save_aggregator(portfolio("agg1", h1=-1.0), NOW)
    assert await backend.list_aggregators() == []


async def test_two_aggregators_are_listed_by_id_each_with_its_own_members(backend: Storage) -> None:
    await households(backend, "agg1", "agg2", "h1", "h2", "h3")
    await backend.save_aggregator(portfolio("agg2", h3=3.0), NOW)
    await backend.save_aggregator(portfolio("agg1", h2=2.0, h1=1.0), NOW)
    assert await backend.list_aggregators() == [portfolio("agg1", h1=1.0, h2=2.0), portfolio("agg2", h3=3.0)]
