"""Stored stage-1 profiles: versions numbered per household, atomically, never overwritten or edited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homeflex.core.domain import Category
from homeflex.storage import CorruptRecordError, Storage
from homeflex.storage.records import HouseholdRecord, ProfileRecord, ProfileVersion
from tests.storage.test_contract import integrity_error

NOW = datetime(2026, 11, 25, 17, 0, 0, 123456, tzinfo=UTC)
AS_OF = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
REASONS = ["3 of 14 days observed", "coverage 50 % < 80 %", "na\u00efve \u2013 \u201cquoted\u201d \u2713"]


async def enrol(storage: Storage, *ids: str) -> None:
    for hid in ids:
        await storage.upsert_household(HouseholdRecord(id=hid, group="g", category=Category.B), NOW)


async def save(
    storage: Storage, hid: str = "hh1", ready: bool = False, reasons: list[str] | None = None, **doc: Any
) -> ProfileRecord:
    return await storage.save_profile(
        hid,
        as_of=AS_OF,
        learned_at=NOW,
        ready=ready,
        reasons=REASONS if reasons is None else reasons,
        profile={"schema": 1, "household_id": hid, "version": 0, **doc},
    )


async def test_versions_count_up_per_household(backend: Storage) -> None:
    await enrol(backend, "hh1", "hh2")
    assert await backend.latest_profile("hh1") is None
    assert await backend.profile_versions("hh1") == []
    first = await save(backend, "hh1", n=1)
    second = await save(backend, "hh1", ready=True, reasons=["15 of 14 days observed"], n=2)
    other = await save(backend, "hh2", n=1)
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert await backend.latest_profile("hh1") == second
    assert second.profile == {"schema": 1, "household_id": "hh1", "version": 2, "n": 2}
    assert await backend.profile_versions("hh1") == [
        ProfileVersion(
            household_id="hh1",
            version=1,
            as_of=AS_OF,
            learned_at=NOW,
            ready=False,
            reasons=tuple(REASONS),
        ),
        ProfileVersion(
            household_id="hh1",
            version=2,
            as_of=AS_OF,
            learned_at=NOW,
            ready=True,
            reasons=("15 of 14 days observed",),
        ),
    ]


async def test_reasons_and_document_round_trip(backend: Storage) -> None:
    await enrol(backend, "hh1")
    nested = {"mean_kwh": [0.25, None, 1e-9], "sessions": [{"plug_in": "2026-11-20T18:00:00Z"}]}
    saved = await save(backend, reasons=[], weekday=nested)
    assert saved.reasons == ()
    again = await backend.latest_profile("hh1")
    assert again == saved
    await save(backend)
    latest = await backend.latest_profile("hh1")
    assert latest is not None and latest.reasons == tuple(REASONS)


async def test_unknown_household_is_refused(backend: Storage) -> None:
    with pytest.raises(LookupError, match="unknown household 'nobody'"):
        await save(backend, "nobody")
    assert await backend.profile_versions("nobody") == []


async def test_concurrent_saves_never_share_a_version(backend: Storage) -> None:
    await enrol(backend, "hh1", "hh2")
    saved = await asyncio.gather(*(save(backend, f"hh{1 + k % 2}", k=k) for k in range(20)))
    for hid in ("hh1", "hh2"):
        mine = [r for r in saved if r.household_id == hid]
        assert sorted(r.version for r in mine) == list(range(1, 11))
        assert [v.version for v in await backend.profile_versions(hid)] == list(range(1, 11))
        latest = await backend.latest_profile(hid)
        assert latest is not None and latest.version == 10
        assert latest.profile == next(r.profile for r in mine if r.version == 10)


async def test_stored_versions_are_never_edited(backend: Storage) -> None:
    await enrol(backend, "hh1")
    await save(backend)
    with pytest.raises(integrity_error(backend), match="never edited"):
        await backend.execute_raw("UPDATE profiles SET ready=true")
    with pytest.raises(integrity_error(backend)):  # the primary key refuses a second version 1
        await backend.execute_raw(
            "INSERT INTO profiles SELECT household_id, version, as_of, learned_at, ready, reasons, profile"
            " FROM profiles"
        )
    assert [v.version for v in await backend.profile_versions("hh1")] == [1]


async def insert_raw(storage: Storage, version: int, reasons: str, profile: str) -> None:
    """A row as a faulty writer might have left it: plain SQL both dialects accept."""
    await storage.execute_raw(
        "INSERT INTO profiles VALUES ('hh1', "
        + f"{version}, '2026-11-25T00:00:00.000000Z', '2026-11-25T00:00:00.000000Z', false,"
        + f" '{reasons}', '{profile}')"
    )


@pytest.mark.parametrize(
    ("reasons", "profile", "message"),
    [
        ("[]", "{not json", r"its profile is not valid JSON \(Expecting property name"),
        ("[]", "[1, 2]", "its profile is a JSON list, not a dict"),
        ("oops", "{}", "its reasons is not valid JSON"),
        ("[1]", "{}", "its reasons is not a list of strings"),
    ],
)
async def test_corrupt_rows_are_a_clear_error(
    backend: Storage, reasons: str, profile: str, message: str
) -> None:
    await enrol(backend, "hh1")
    await save(backend)
    await insert_raw(backend, 2, reasons, profile)
    with pytest.raises(CorruptRecordError, match=f"household 'hh1' version 2 is corrupt: {message}"):
        await backend.latest_profile("hh1")
    if reasons != "[]":
        with pytest.raises(CorruptRecordError, match="version 2 is corrupt: its reasons"):
            await backend.profile_versions("hh1")
    else:
        assert len(await backend.profile_versions("hh1")) == 2  # the metadata still reads
    assert (await save(backend)).version == 3  # and learning can go on past it


async def test_metadata_times_keep_microseconds(backend: Storage) -> None:
    await enrol(backend, "hh1")
    await backend.save_profile(
        "hh1", as_of=AS_OF + timedelta(microseconds=7), learned_at=NOW, ready=True, reasons=[], profile={}
    )
    (version,) = await backend.profile_versions("hh1")
    assert version.as_of == AS_OF + timedelta(microseconds=7)
    assert version.learned_at == NOW
