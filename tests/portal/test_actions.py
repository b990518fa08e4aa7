"""Unhappy paths of the portal's actions: each refusal says why and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from homeflex.portal.actions import ActionError
from homeflex.portal.energy import ProfileError
from homeflex.portal.journey import JourneyError, Role, Step
from homeflex.storage.portal import TokenError
from tests.portal.conftest import INSTALLER, OPERATOR, Stack
from tests.portal.helpers import PASSWORD, PROFILE_FORM, Client, add_event, customer_at


async def test_expression_of_interest_is_checked(stack: Stack) -> None:
    p = stack.portal
    with pytest.raises(ActionError, match="enter a valid email address; enter your postcode"):
        await p.express_interest({"name": "Ada", "email": "not-an-email", "postcode": ""})
    with pytest.raises(ActionError, match="choose how each device you own connects"):
        await p.express_interest(
            {
                "name": "Ada",
                "email": "a@example.org",
                "postcode": "M1 1AA",
                "owned": {"ev_charger": "telepathy"},
            }
        )
    await p.express_interest({"name": "Ada", "email": "a@example.org", "postcode": "M1 1AA"})
    with pytest.raises(ActionError, match="already expressed interest"):
        await p.express_interest({"name": "Ada", "email": "A@example.org ", "postcode": "M1 1AA"})
    assert len(await p.store.customers()) == 1
    anon = Client(stack.portal_url)
    status, text = await anon.post("/interest", {"name": "", "email": "x", "postcode": "M1"})
    assert status == 400 and "enter your name" in text
    await anon.close()


async def test_an_invite_creates_one_account_only(stack: Stack) -> None:
    c = await customer_at(stack.portal, Step.SESSION_BOOKED, "inv@example.org")
    token = await stack.portal.invite(c, OPERATOR[0])
    with pytest.raises(ActionError, match="at least 10 characters"):
        await stack.portal.accept_invite(token, "short")
    await stack.portal.accept_invite(token, PASSWORD)  # a refused password did not use the link up
    with pytest.raises(TokenError, match="already been used"):
        await stack.portal.accept_invite(token, PASSWORD)
    with pytest.raises(JourneyError, match="cannot move from Account to Invited"):
        await stack.portal.invite(await stack.portal.customer(c.household_id), OPERATOR[0])


async def test_profile_upload_plan_and_assessment_refusals(stack: Stack) -> None:
    p = stack.portal
    c = await customer_at(p, Step.ACCOUNT, "prof@example.org")
    with pytest.raises(ActionError, match="the file cannot be read: the CSV needs a header"):
        await p.save_profile(c, PROFILE_FORM, c.email, Role.HOUSEHOLDER, "when,kwh\n2026-11-01 00:00,1\n")
    with pytest.raises(ProfileError):
        await p.save_profile(c, {**PROFILE_FORM, "occupants": "many"}, c.email, Role.HOUSEHOLDER)
    assert (await p.customer(c.household_id)).state.step is Step.ACCOUNT
    upload = await p.save_profile(
        c,
        PROFILE_FORM,
        c.email,
        Role.HOUSEHOLDER,
        "start,value\n2026-11-01 00:00:00,0.5\n2026-11-01 00:30:00,abc\n",
    )
    assert upload is not None and upload.intervals == 1
    assert upload.rejected == [(3, "wrong_type: value 'abc' is not a number")]
    c = await p.customer(c.household_id)
    with pytest.raises(
        ActionError, match="Solar \\+ battery is not available for your home: it needs Solar PV"
    ):
        await p.choose_plan(c, "solar_battery", c.email, Role.HOUSEHOLDER)
    with pytest.raises(ActionError, match="no plan 'yacht'"):
        await p.choose_plan(c, "yacht", c.email, Role.HOUSEHOLDER)
    c = await p.choose_plan(c, "ev", c.email, Role.HOUSEHOLDER)
    assert await p.quotes(c) == [(INSTALLER[0], 350)]
    today = p.clock.now().date().isoformat()
    with pytest.raises(ActionError, match="must be on a later day"):
        await p.book_assessment(c, INSTALLER[0], today, c.email, Role.HOUSEHOLDER)
    with pytest.raises(ActionError, match="installers that quoted"):
        await p.book_assessment(c, "rogue@example.org", "2026-12-01", c.email, Role.HOUSEHOLDER)
    assert (await p.customer(c.household_id)).state.step is Step.PLAN


async def test_a_booked_out_session_refuses_and_changes_nothing(stack: Stack) -> None:
    p = stack.portal
    session_id = await p.store.create_info_session(
        p.clock.now() + timedelta(days=1), "face_to_face", "hall", 1, p.clock.now()
    )
    first, _ = await p.express_interest({"name": "A", "email": "s1@example.org", "postcode": "M1 1AA"})
    second, _ = await p.express_interest({"name": "B", "email": "s2@example.org", "postcode": "M1 1AA"})
    await p.book_session(await p.customer(first), session_id)
    with pytest.raises(ActionError, match="full"):
        await p.book_session(await p.customer(second), session_id)
    assert (await p.customer(second)).state.step is Step.INTEREST


async def test_an_event_that_has_started_cannot_be_skipped(stack: Stack) -> None:
    c = await customer_at(stack.portal, Step.STAGE_3, "late-skip@example.org")
    now = stack.clock.now()
    await add_event(stack.storage, "ev-started", c.household_id, now + timedelta(minutes=10), now)
    assert await stack.storage.record_opt("ev-started", c.household_id, 0, "optIn", now)
    await stack.clock.advance(600)
    with pytest.raises(ActionError, match="already started"):
        await stack.portal.skip_event(c, "ev-started", c.email)
    [target] = await stack.storage.event_targets("ev-started")
    assert target.opt_type == "optIn" and await stack.portal.store.skips(c.household_id) == []
