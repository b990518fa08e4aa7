"""Storage contract for deliveries at scale: many sends and opt responses in one transaction, on SQLite
and PostgreSQL alike (homeflex.vtn.groupcommit writes them in batches)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from homeflex.core.domain import Category
from homeflex.storage import Storage
from homeflex.storage.records import EventRecord, HouseholdRecord, VenRecord

NOW = datetime(2026, 11, 25, 17, 0, 0, 250000, tzinfo=UTC)


async def setup(storage: Storage, households: int) -> list[str]:
    ids = [f"h{i:03d}" for i in range(households)]
    for hid in ids:
        await storage.upsert_household(HouseholdRecord(id=hid, group="g", category=Category.A), NOW)
    for n, event_id in enumerate(("e1", "e2")):  # one after the other: a household is in one at a time
        await storage.create_event(
            EventRecord(
                event_id=event_id,
                modification_number=0,
                status="scheduled",
                start=NOW + timedelta(hours=1 + n),
                duration=timedelta(minutes=30),
                reduction_kw=1.0,
                price_gbp_per_mwh=100.0,
                created_at=NOW,
            ),
            ids,
        )
    return ids


async def test_mark_sent_many_and_record_opts_write_every_row(backend: Storage) -> None:
    ids = await setup(backend, 120)
    await backend.mark_sent_many([("e1", h, 0) for h in reversed(ids)] + [("e2", ids[0], 0)])
    opts = [
        ("e1", h, 0, "optIn" if i % 2 else "optOut", NOW + timedelta(seconds=i)) for i, h in enumerate(ids)
    ]
    await backend.record_opts(opts)
    targets = await backend.event_targets("e1")
    assert [t.sent_modification for t in targets] == [0] * len(ids)
    assert [(t.household_id, t.acked_modification, t.opt_type, t.opt_at) for t in targets] == [
        (h, 0, o, at) for _, h, _, o, at in opts
    ]
    other = await backend.event_targets("e2")
    assert [t.sent_modification for t in other] == [0] + [None] * (len(ids) - 1)
    assert all(t.opt_type is None for t in other)
    assert await backend.events_for_poll(ids[0], NOW) == [await backend.get_event("e2")]


async def test_later_response_in_one_batch_wins_and_unknown_pairs_change_nothing(backend: Storage) -> None:
    ids = await setup(backend, 2)
    await backend.record_opts(
        [
            ("e1", ids[0], 0, "optIn", NOW),
            ("e1", "stranger", 0, "optIn", NOW),  # not a target: no row to update
            ("nope", ids[1], 0, "optIn", NOW),
            ("e1", ids[0], 0, "optOut", NOW + timedelta(seconds=1)),
        ]
    )
    targets = await backend.event_targets("e1")
    assert [(t.household_id, t.opt_type) for t in targets] == [(ids[0], "optOut"), (ids[1], None)]
    await backend.mark_sent_many([])
    await backend.record_opts([])


async def test_claim_deliveries_gives_each_household_to_one_claimer(backend: Storage) -> None:
    ids = await setup(backend, 600)  # more than one chunk
    await backend.mark_sent_many([("e1", ids[0], 0)])  # already sent by a poll
    first = await backend.claim_deliveries("e1", 0, ids[:400])
    second = await backend.claim_deliveries("e1", 0, ids)
    assert first == ids[1:400]
    assert second == ids[400:]
    assert await backend.claim_deliveries("e1", 0, ids) == []
    assert await backend.claim_deliveries("e1", 1, ids[:2]) == ids[:2]  # a new modification
    assert await backend.claim_deliveries("nope", 0, ids[:2]) == []
    targets = {t.household_id: t.sent_modification for t in await backend.event_targets("e1")}
    assert targets[ids[0]] == 1 and targets[ids[2]] == 0 and targets[ids[599]] == 0


async def test_push_urls_are_kept_per_ven_and_removed_for_pull(backend: Storage) -> None:
    ids = await setup(backend, 2)
    for hid in ids:
        await backend.save_ven(
            VenRecord(ven_id=f"ven-{hid}", household_id=hid, ven_name=hid, registration_id="r"), NOW
        )
    await backend.save_push_url("ven-h000", "http://127.0.0.1:9/a", NOW)
    await backend.save_push_url("ven-h001", "http://127.0.0.1:9/b", NOW)
    await backend.save_push_url("ven-h001", "http://127.0.0.1:9/c", NOW)
    assert await backend.push_vens() == {
        "h000": ("ven-h000", "http://127.0.0.1:9/a"),
        "h001": ("ven-h001", "http://127.0.0.1:9/c"),
    }
    await backend.save_push_url("ven-h000", None, NOW)
    assert await backend.push_vens() == {"h001": ("ven-h001", "http://127.0.0.1:9/c")}
