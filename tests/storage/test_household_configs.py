"""Stored household configurations: versions numbered per household, atomically, kept and never edited;
a version that could not be sent can be taken back while it is the newest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from homeflex.core.domain import Category
from homeflex.storage import CorruptRecordError, Storage
from homeflex.storage.records import ConfigVersion, HouseholdRecord
from tests.storage.test_contract import integrity_error

NOW = datetime(2026, 11, 25, 17, 0, 0, 123456, tzinfo=UTC)


async def enrol(storage: Storage, *ids: str) -> None:
    for hid in ids:
        await storage.upsert_household(HouseholdRecord(id=hid, group="g", category=Category.B), NOW)


def doc(hid: str, **extra: object) -> dict[str, object]:
    return {"schema": 1, "household_id": hid, "version": 0, "devices": [], **extra}


async def test_versions_count_up_per_household(backend: Storage) -> None:
    await enrol(backend, "hh1", "hh2")
    assert await backend.latest_household_config("hh1") is None
    assert await backend.household_config_versions("hh1") == []
    first = await backend.save_household_config("hh1", doc("hh1"), saved_at=NOW, actor="a@example.org")
    second = await backend.save_household_config(
        "hh1", doc("hh1", group="x \u2013 \u201cq\u201d"), saved_at=NOW, actor="b@example.org"
    )
    other = await backend.save_household_config("hh2", doc("hh2"), saved_at=NOW, actor="a@example.org")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert second.document["version"] == 2 and second.document["group"] == "x \u2013 \u201cq\u201d"
    assert await backend.latest_household_config("hh1") == second
    assert await backend.household_config_versions("hh1") == [
        ConfigVersion(household_id="hh1", version=1, saved_at=NOW, actor="a@example.org"),
        ConfigVersion(household_id="hh1", version=2, saved_at=NOW, actor="b@example.org"),
    ]


async def test_unknown_household_is_refused(backend: Storage) -> None:
    with pytest.raises(LookupError, match="unknown household"):
        await backend.save_household_config("nobody", doc("nobody"), saved_at=NOW, actor="a")


async def test_concurrent_saves_get_distinct_versions(backend: Storage) -> None:
    await enrol(backend, "hh1")
    saved = await asyncio.gather(
        *(backend.save_household_config("hh1", doc("hh1", n=i), saved_at=NOW, actor="a") for i in range(8))
    )
    assert sorted(r.version for r in saved) == list(range(1, 9))


async def test_only_the_newest_version_can_be_taken_back_and_none_edited(backend: Storage) -> None:
    await enrol(backend, "hh1")
    await backend.save_household_config("hh1", doc("hh1"), saved_at=NOW, actor="a")
    await backend.save_household_config("hh1", doc("hh1"), saved_at=NOW, actor="a")
    assert not await backend.discard_household_config("hh1", 1)  # not the newest: kept
    assert await backend.discard_household_config("hh1", 2)
    assert [v.version for v in await backend.household_config_versions("hh1")] == [1]
    with pytest.raises(integrity_error(backend), match="never edited"):
        await backend.execute_raw("UPDATE household_configs SET actor='x'")


async def test_a_corrupt_document_is_a_clear_error(backend: Storage) -> None:
    await enrol(backend, "hh1")
    await backend.save_household_config("hh1", doc("hh1"), saved_at=NOW, actor="a")
    await backend.execute_raw(
        "INSERT INTO household_configs VALUES ('hh1', 2, '2026-11-25T00:00:00.000000Z', 'a', '[1]')"
    )
    with pytest.raises(CorruptRecordError, match="household 'hh1' version 2 is corrupt: its document is a"):
        await backend.latest_household_config("hh1")
    assert len(await backend.household_config_versions("hh1")) == 2  # the metadata still reads
