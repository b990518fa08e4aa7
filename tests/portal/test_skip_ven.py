"""A skip in the portal reaches the household's VEN: a real openleadr VEN on the real VTN, its control
loop and simulated battery on a real mosquitto. The portal publishes the household's skips (retained)
on its MQTT subtree; the VEN opts out with the reason "customer override", releasing an event it had
accepted, and answers the VTN again over OpenADR."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from homeflex.core.timeutil import iso
from homeflex.mqtt.access import OPERATOR, issue_passwords, with_credentials
from homeflex.mqtt.broker import find_mosquitto, mosquitto
from homeflex.portal.actions import ActionError
from homeflex.portal.journey import Step
from homeflex.portal.skipnotice import MqttRetainedPublisher
from homeflex.storage.portal import Customer
from tests.portal.conftest import Stack, event_day
from tests.portal.helpers import customer_at
from tests.portal.home import Home, running_home, until


async def stage_3_customer(stack: Stack, email: str, mqtt_url: str) -> Customer:
    """A stage-3 customer; the stack's clock then stands at 16:00 UTC on the event day."""
    c = await customer_at(stack.portal, Step.STAGE_3, email)
    start = event_day() + timedelta(hours=16)
    await stack.clock.advance((start - stack.clock.now()).total_seconds())
    stack.portal.publisher = MqttRetainedPublisher(mqtt_url)
    return c


@pytest.fixture
async def home(stack: Stack, mqtt_url: str) -> AsyncIterator[tuple[Customer, Home]]:
    c = await stage_3_customer(stack, "skip@example.org", mqtt_url)
    async with running_home(stack, mqtt_url, c.household_id) as h:
        yield c, h


async def _event(stack: Stack, at: datetime) -> str:
    created = await stack.portal.create_event(
        {
            "group": "community",
            "start": iso(at),
            "duration_minutes": 30,
            "reduction_kw": 2.0,
            "price_gbp_per_mwh": 1812.0,
        }
    )
    return str(created["event_id"])


async def _opt(stack: Stack, event_id: str, household_id: str) -> str | None:
    targets = await stack.storage.event_targets(event_id)
    return next(t.opt_type for t in targets if t.household_id == household_id)


async def test_a_skipped_event_is_released_by_the_vens_control_loop(
    stack: Stack, home: tuple[Customer, Home]
) -> None:
    c, h = home
    hh = c.household_id
    day = event_day()
    accepted = await _event(stack, day + timedelta(hours=17, minutes=30))
    await until(lambda: accepted in h.controller.core.events, "the loop to accept the event")
    assert h.ven.decisions[accepted].opt_in, h.ven.decisions[accepted].reason

    async def vtn_has(opt: str) -> bool:
        return await _opt(stack, accepted, hh) == opt

    await until(lambda: vtn_has("optIn"), "the VTN to store the VEN's optIn")

    await stack.portal.skip_event(c, accepted, c.email)
    await until(lambda: accepted in h.ven.released, "the VEN to release the event")
    assert h.ven.released[accepted] is True  # the VTN acknowledged the VEN's new oadrCreatedEvent
    decision = h.ven.decisions[accepted]
    assert not decision.opt_in and decision.reason == "customer override"
    assert accepted not in h.controller.core.events  # the loop no longer carries it out
    assert await _opt(stack, accepted, hh) == "optOut"
    assert h.ven.client.responded_events[accepted] == "optOut"  # a re-delivery is answered optOut

    # A second event: skipped as soon as it is created. Whether the VEN saw it first or not, it ends
    # opted out with the household's reason and never in the loop; the first skip still stands.
    later = await _event(stack, day + timedelta(hours=18, minutes=30))
    await stack.portal.skip_event(c, later, c.email)
    await until(lambda: later in h.ven.skipped, "the VEN to learn of the second skip")
    assert h.ven.skipped == {accepted: "customer override", later: "customer override"}
    await asyncio.sleep(1.5)  # three VTN poll intervals: a delivery of `later` would have come by now
    assert later not in h.controller.core.events
    if later in h.ven.decisions:
        assert h.ven.decisions[later].reason == "customer override"
    assert await _opt(stack, later, hh) == "optOut"


async def test_a_ven_that_starts_after_the_skip_reads_it_and_never_takes_the_event(
    stack: Stack, mqtt_url: str
) -> None:
    """The VEN was offline (or restarting) when the household skipped: the retained message tells it
    as soon as its loop connects, and the event never reaches the loop."""
    c = await stage_3_customer(stack, "offline@example.org", mqtt_url)
    event_id = await _event(stack, event_day() + timedelta(hours=17, minutes=30))
    await stack.portal.skip_event(c, event_id, c.email)
    async with running_home(stack, mqtt_url, c.household_id) as h:
        await until(lambda: event_id in h.ven.skipped, "the VEN to read the retained skip")
        assert h.ven.skipped[event_id] == "customer override"
        await asyncio.sleep(1.5)  # three VTN poll intervals: a delivery would have come by now
        assert event_id not in h.controller.core.events
        if event_id in h.ven.decisions:
            assert h.ven.decisions[event_id].reason == "customer override"
    assert await _opt(stack, event_id, c.household_id) == "optOut"


@pytest.fixture
async def locked_broker() -> AsyncIterator[str]:
    """A private mosquitto that refuses the portal's login (a wrong password)."""
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("needs mosquitto on PATH")
    passwords = issue_passwords([OPERATOR])
    async with mosquitto(binary, passwords) as url:
        yield with_credentials(url, OPERATOR, "not-the-password")


async def test_a_skip_the_ven_cannot_be_told_of_changes_nothing(stack: Stack, locked_broker: str) -> None:
    c = await customer_at(stack.portal, Step.STAGE_3, "locked@example.org")
    event_id = await _event(stack, event_day() + timedelta(hours=17))
    before = await _opt(stack, event_id, c.household_id)
    stack.portal.publisher = MqttRetainedPublisher(locked_broker)
    with pytest.raises(ActionError, match="cannot be reached"):
        await stack.portal.skip_event(c, event_id, c.email)
    assert await stack.portal.store.skips(c.household_id) == []
    assert await _opt(stack, event_id, c.household_id) == before
