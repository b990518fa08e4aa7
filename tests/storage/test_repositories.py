"""The repositories over the shared SQL layer: one concern each, the same errors on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from homeflex.core.domain import Category
from homeflex.storage import DuplicateKey, Storage
from homeflex.storage.composite import REPOSITORIES, SqlStorage
from homeflex.storage.households import SqlHouseholds
from homeflex.storage.portal import PortalStore
from homeflex.storage.portal.base import StoreBase
from homeflex.storage.records import HouseholdRecord, VenRecord
from homeflex.storage.sql import SqlRepository

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def shared_names(parts: tuple[type, ...]) -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for part in parts:
        for name in vars(part):
            if not name.startswith("__"):
                owners.setdefault(name, []).append(part.__name__)
    return {name: owner for name, owner in owners.items() if len(owner) > 1}


def test_no_two_repositories_define_the_same_name() -> None:
    """The composites inherit their parts: a name two of them defined would hide one silently."""
    assert shared_names(REPOSITORIES) == {}
    assert shared_names(PortalStore.__bases__) == {}


def test_a_repository_depends_on_the_database_alone() -> None:
    assert all(repo.__bases__ == (SqlRepository,) for repo in REPOSITORIES)
    assert all(part.__bases__ == (StoreBase,) for part in PortalStore.__bases__)


async def test_both_backends_raise_the_same_duplicate_key_for_the_same_duplicate(backend: Storage) -> None:
    await backend.upsert_household(HouseholdRecord(id="hh1", group="g", category=Category.B), NOW)
    ven = VenRecord(ven_id="ven-1", household_id="hh1", ven_name="hh1", registration_id="r")
    await backend.save_ven(ven, NOW)
    with pytest.raises(DuplicateKey) as raised:  # vens: one per household (a unique index)
        await backend.save_ven(
            VenRecord(ven_id="ven-2", household_id="hh1", ven_name="x", registration_id="r"), NOW
        )
    assert "household_id" in (raised.value.constraint or "")
    assert await backend.get_ven("ven-2") is None
    assert not isinstance(raised.value, ValueError)  # not a caller's bad input: a stored row's key


async def test_a_duplicate_inside_a_transaction_rolls_it_back_as_duplicate_key(backend: Storage) -> None:
    assert isinstance(backend, SqlStorage)
    insert = "INSERT INTO households (id, group_name, category, vulnerable, created_at) VALUES (?,?,?,?,?)"
    row = ("hh2", "g", "B", backend.db.flag(False), backend.db.time(NOW))

    async def twice_in_one_transaction() -> None:
        async with backend.db.transaction() as tx:
            await tx.execute(insert, row)
            await tx.execute(insert, row)

    with pytest.raises(DuplicateKey):
        await twice_in_one_transaction()
    assert await SqlHouseholds(backend.db).get_household("hh2") is None
    await backend.db.execute(insert, ("hh3", *row[1:]))
    with pytest.raises(DuplicateKey):  # outside a transaction too
        await backend.db.execute(insert, ("hh3", *row[1:]))
    assert await backend.get_household("hh3") is not None
