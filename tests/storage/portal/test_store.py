"""storage/portal/'s PortalStore on both backends (a fresh SQLite file, a fresh PostgreSQL schema)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.domain import Category
from homeflex.portal.categories import change_category
from homeflex.portal.journey import JourneyError, Role, Step, start, transition
from homeflex.storage import Storage
from homeflex.storage.portal import PortalStore, TokenError
from tests.portal.helpers import add_event

T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)


async def new_customer(store: PortalStore, household_id: str, email: str) -> None:
    state, entry = start(household_id, T0)
    first = change_category(
        [],
        household_id=household_id,
        category=Category.C,
        vulnerable=False,
        at=T0,
        reason="eoi",
        actor="public",
    )
    await store.create_customer(
        name="Ada",
        email=email,
        postcode="M1 1AA",
        group="prospects",
        state=state,
        entry=entry,
        category=first,
        data={"owned": {"pv": "none"}},
    )


async def test_customer_journey_and_category_history(backend: Storage) -> None:
    store = backend.portal
    await new_customer(store, "hh1", "a@example.org")
    with pytest.raises(ValueError, match="already expressed interest"):
        await new_customer(store, "hh2", "a@example.org")
    c = await store.customer("hh1")
    assert c is not None and c.state.step is Step.INTEREST and c.state.since == T0
    assert c.data == {"owned": {"pv": "none"}}
    household = await backend.get_household("hh1")
    assert household is not None and household.group == "prospects" and household.category is Category.C

    later = T0 + timedelta(hours=1)
    new, entry = transition(c.state, Step.SESSION_BOOKED, actor="a@example.org", role=Role.PUBLIC, at=later)
    await store.apply(c.state, new, entry, data={"x": 1}, group="community")
    with pytest.raises(JourneyError, match="changed meanwhile"):
        await store.apply(c.state, new, entry)  # from a stale state: refused, nothing written
    c2 = await store.customer("hh1")
    assert c2 is not None and c2.state.step is Step.SESSION_BOOKED and c2.data["x"] == 1
    assert [(e.from_step, e.to_step) for e in await store.audit("hh1")] == [
        (None, Step.INTEREST),
        (Step.INTEREST, Step.SESSION_BOOKED),
    ]
    household = await backend.get_household("hh1")
    assert household is not None and household.group == "community"

    history = await store.categories("hh1")
    await store.change_category(
        change_category(
            history,
            household_id="hh1",
            category=Category.B,
            vulnerable=True,
            at=later,
            reason="wants events",
            actor="op",
        )
    )
    history = await store.categories("hh1")
    assert [(h.category, h.vulnerable) for h in history] == [(Category.C, False), (Category.B, True)]
    household = await backend.get_household("hh1")
    assert household is not None and household.category is Category.B and household.vulnerable


async def test_accounts_sessions_and_single_use_links(backend: Storage) -> None:
    store = backend.portal
    await new_customer(store, "hh1", "a@example.org")
    await store.create_account("a@example.org", Role.HOUSEHOLDER, "hh1", "hash1", T0)
    with pytest.raises(ValueError, match="exists already"):
        await store.create_account("a@example.org", Role.OPERATOR, None, "hash2", T0)
    await store.create_session("s1", "a@example.org", "csrf1", T0, T0 + timedelta(hours=1))
    found = await store.session("s1", T0 + timedelta(minutes=59))
    assert found is not None and found[0].household_id == "hh1" and found[1] == "csrf1"
    assert await store.session("s1", T0 + timedelta(hours=1)) is None  # expired
    await store.set_password("a@example.org", "hash3")  # ends every session
    assert await store.session("s1", T0) is None

    await store.create_token("invite", "t1", "a@example.org", "hh1", T0, T0 + timedelta(days=7))
    results = await asyncio.gather(
        *(store.use_token("invite", "t1", T0) for _ in range(4)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1  # used once, even concurrently
    with pytest.raises(TokenError, match="already been used"):
        await store.use_token("invite", "t1", T0)
    await store.create_token("reset", "t2", "a@example.org", "hh1", T0, T0 + timedelta(hours=1))
    with pytest.raises(TokenError, match="expired"):
        await store.use_token("reset", "t2", T0 + timedelta(hours=1))
    with pytest.raises(TokenError, match="not valid"):
        await store.use_token("invite", "t2", T0)  # a reset link is not an invite


async def test_information_session_capacity_and_bookings(backend: Storage) -> None:
    store = backend.portal
    for i in range(4):
        await new_customer(store, f"hh{i}", f"{i}@example.org")
    session_id = await store.create_info_session(T0 + timedelta(days=1), "online", "video", 2, T0)
    results = await asyncio.gather(
        *(store.book(session_id, f"hh{i}", T0) for i in range(3)), return_exceptions=True
    )
    assert sum(r is None for r in results) == 2
    assert any("full" in str(r) for r in results if isinstance(r, Exception))
    with pytest.raises(ValueError, match="already started"):
        await store.book(session_id, "hh3", T0 + timedelta(days=2))
    with pytest.raises(ValueError, match="no such"):
        await store.book("is-nope", "hh3", T0)
    with pytest.raises(ValueError, match="capacity"):
        await store.create_info_session(T0, "online", "x", 0, T0)
    [listed] = await store.info_sessions()
    assert (listed.booked, listed.capacity) == (2, 2)


async def test_outbox_skips_and_ven_provisioning(backend: Storage) -> None:
    store = backend.portal
    await new_customer(store, "hh1", "a@example.org")
    await store.enqueue_email("a@example.org", "hello", "body", T0 + timedelta(hours=2), T0)
    [mail] = await store.outbox("a@example.org")
    assert mail.subject == "hello" and mail.send_after == T0 + timedelta(hours=2)
    await add_event(backend, "ev1", "hh1", T0 + timedelta(hours=8), T0)
    assert await store.add_skip("ev1", "hh1", T0, "customer override")
    assert not await store.add_skip("ev1", "hh1", T0, "customer override")
    assert [s.reason for s in await store.skips("hh1")] == ["customer override"]
    await store.provision_ven("hh1", "ven-hh1", "h1", T0, "installer@example.org")
    await store.provision_ven("hh1", "ven-hh1", "h2", T0, "installer@example.org")  # re-provisioning
    assert await store.ven_of("hh1") == "ven-hh1"


async def test_outbox_delivery_is_claimed_once_and_marked(backend: Storage) -> None:
    store = backend.portal
    later = T0 + timedelta(hours=2)
    for subject, due in (("a", T0), ("b", T0), ("c", T0), ("later", later)):
        await store.enqueue_email("x@example.org", subject, "body", due, T0)
    due = sorted(await store.unsent(T0), key=lambda m: m.subject)  # same times: any order
    assert [m.subject for m in due] == ["a", "b", "c"] and {m.status for m in due} == {"queued"}
    a, b, c = (m.id for m in due)
    claims = await asyncio.gather(*(store.claim_email(a, T0) for _ in range(3)))
    assert sorted(claims) == [False, False, True]  # one sender only, even racing
    await store.mark_sent(a, T0)
    assert not await store.claim_email(a, T0)  # sent: never again
    assert await store.claim_email(b, T0)
    await store.release_email(b, "421 try later")  # nothing went out: queued again
    assert await store.claim_email(c, T0)
    await store.mark_failed(c, T0, "550 no such user")
    assert not await store.claim_email(c, T0)
    mails = {m.subject: m for m in await store.outbox()}
    assert (mails["a"].status, mails["a"].sent_at, mails["a"].attempts) == ("sent", T0, 1)
    assert (mails["b"].status, mails["b"].last_error, mails["b"].attempts) == ("queued", "421 try later", 1)
    assert (mails["c"].status, mails["c"].last_error) == ("failed", "550 no such user")
    assert [m.subject for m in await store.unsent(T0)] == ["b"]
    assert [m.subject for m in await store.unsent(later)] == ["b", "later"]  # by send_after
    assert await store.claim_email(b, T0)  # claimed, then nothing (a crash): in doubt, not due again
    await store.note_email_error(b, "in doubt: connection lost")
    assert [m.subject for m in await store.unsent(later)] == ["later"]
    assert {m.subject: m.status for m in await store.outbox()}["b"] == "in doubt"


async def test_concurrent_duplicates_are_refused_cleanly(backend: Storage) -> None:
    store = backend.portal
    results = await asyncio.gather(
        new_customer(store, "hh1", "same@example.org"),
        new_customer(store, "hh2", "same@example.org"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "ValueError"]
    assert len(await store.customers()) == 1
    results = await asyncio.gather(
        *(store.create_account("op@example.org", Role.OPERATOR, None, "h", T0) for _ in range(3)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, ValueError) for r in results if r is not None)


async def test_the_sql_seam_rolls_back_a_failed_transaction_and_counts_changes(backend: Storage) -> None:
    from homeflex.storage.composite import SqlStorage

    assert isinstance(backend, SqlStorage)
    db = backend.db
    insert = (
        "INSERT INTO portal_info_sessions (id, starts_at, mode, place, capacity, created_at)"
        " VALUES (?,?,?,?,?,?)"
    )
    row = ("is-seam", db.time(T0), "online", "call", 3, db.time(T0))

    async def fail_after_the_insert() -> None:
        async with db.transaction() as tx:
            await tx.execute(insert, row)
            raise RuntimeError("a later statement failed")

    with pytest.raises(RuntimeError):
        await fail_after_the_insert()
    assert await db.fetch("SELECT id FROM portal_info_sessions WHERE id=?", ("is-seam",)) == []
    assert await db.execute(insert, row) == 1
    [stored] = await db.fetch("SELECT starts_at FROM portal_info_sessions WHERE id=?", ("is-seam",))
    assert db.read_time(stored["starts_at"]) == T0
    assert await db.execute("UPDATE portal_info_sessions SET capacity=4 WHERE id=?", ("none",)) == 0
