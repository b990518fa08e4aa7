"""The VTN's side of an aggregator's VEN, message by message on SQLite and PostgreSQL: the poll answer
names the targeted members as resourceIDs, the one answer is stored for each of them, a cancellation
reaches the aggregator, and a worker that has not served the event yet stores the answer from the
database. The openleadr end-to-end run is in test_aggregator.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openleadr.messaging import parse_message

from homeflex.core.clock import ManualClock
from homeflex.core.domain import Category
from homeflex.storage import Storage
from homeflex.storage.records import AggregatorRecord, EventRecord, HouseholdRecord, PortfolioMember
from homeflex.vtn.openadr import OpenAdrHandlers

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def setup(storage: Storage) -> None:
    for hid in ("agg", "m1", "m2", "m3", "solo"):
        await storage.upsert_household(HouseholdRecord(id=hid, group="g", category=Category.A), NOW)
    members = tuple(PortfolioMember(household_id=h, offered_kw=1.0) for h in ("m1", "m2", "m3"))
    await storage.save_aggregator(AggregatorRecord(id="agg", name="Flex Co", members=members), NOW)
    await storage.create_event(
        EventRecord(
            event_id="e1",
            modification_number=0,
            status="scheduled",
            start=NOW + timedelta(hours=1),
            duration=timedelta(minutes=30),
            reduction_kw=1.0,
            price_gbp_per_mwh=300.0,
            created_at=NOW,
        ),
        ["m1", "m3", "solo"],
    )


def handlers(storage: Storage) -> OpenAdrHandlers:
    return OpenAdrHandlers(storage, ManualClock(NOW), timedelta(seconds=10))


async def register(h: OpenAdrHandlers, name: str) -> str:
    registered = await h.on_create_party_registration({"ven_name": name})
    assert isinstance(registered, tuple)
    return registered[0]


def events(answer: str | None) -> list[dict[str, Any]]:
    assert answer is not None
    kind, payload = parse_message(answer.encode())
    return list(payload["events"]) if kind == "oadrDistributeEvent" else []


async def opts(storage: Storage) -> dict[str, tuple[str | None, int | None, int | None]]:
    return {
        t.household_id: (t.opt_type, t.sent_modification, t.acked_modification)
        for t in await storage.event_targets("e1")
    }


def answer(modification: int, opt_type: str = "optIn") -> list[dict[str, Any]]:
    return [{"event_id": "e1", "modification_number": modification, "opt_type": opt_type}]


async def test_the_aggregator_is_sent_its_targeted_members_and_answers_for_them(backend: Storage) -> None:
    await setup(backend)
    vtn = handlers(backend)
    agg, solo = await register(vtn, "agg"), await register(vtn, "solo")
    [event] = events(await vtn.answer_poll(agg))
    assert event["targets_by_type"] == {"ven_id": [agg], "resource_id": ["m1", "m3"]}  # m2 not targeted
    assert event["event_signals"][0]["intervals"][0]["signal_payload"] == 1.0  # per resource
    [own] = events(await vtn.answer_poll(solo))
    assert own["targets_by_type"] == {"ven_id": [solo]}  # a household's own VEN: no resources
    assert await vtn.answer_created(agg, answer(0)) is not None
    assert await opts(backend) == {
        "m1": ("optIn", 0, 0),
        "m3": ("optIn", 0, 0),
        "solo": (None, 0, None),
    }
    assert events(await vtn.answer_poll(agg)) == []  # answered: not sent again

    await backend.cancel_event("e1", NOW)
    await vtn.polls.refresh(force=True)
    [cancelled] = events(await vtn.answer_poll(agg))
    assert cancelled["event_descriptor"]["event_status"] == "cancelled"
    assert cancelled["event_descriptor"]["modification_number"] == 1


async def test_an_answer_reaching_a_worker_that_never_served_the_event_is_stored_for_the_members(
    backend: Storage,
) -> None:
    await setup(backend)
    first = handlers(backend)
    agg = await register(first, "agg")
    events(await first.answer_poll(agg))
    other = handlers(backend)  # another worker: nothing read yet
    await other.created_event({"ven_id": agg, "event_responses": answer(0, "optOut")})
    assert {h: o for h, (o, _, _) in (await opts(backend)).items()} == {
        "m1": "optOut",
        "m3": "optOut",
        "solo": None,
    }


async def test_an_answer_for_an_event_that_targets_none_of_its_members_is_refused(backend: Storage) -> None:
    await setup(backend)
    await backend.create_event(
        EventRecord(
            event_id="e2",
            modification_number=0,
            status="scheduled",
            start=NOW + timedelta(hours=2),
            duration=timedelta(minutes=30),
            reduction_kw=1.0,
            price_gbp_per_mwh=300.0,
            created_at=NOW,
        ),
        ["solo"],
    )
    vtn = handlers(backend)
    agg = await register(vtn, "agg")
    assert [e["event_descriptor"]["event_id"] for e in events(await vtn.answer_poll(agg))] == ["e1"]
    await vtn.created_event({"ven_id": agg, "event_responses": [{**answer(0)[0], "event_id": "e2"}]})
    assert [t.opt_type for t in await backend.event_targets("e2")] == [None]
