"""The household's entities in its Home Assistant, by MQTT discovery, on the real mosquitto with a real
openleadr VEN on the real VTN (the portal stack's): an independent MQTT client reads what the agent's
bridge publishes and checks it against HA's discovery rules; "skip next event" pressed on the command
topic (as HA's button publishes it) takes the portal's skip path and reaches the VTN as the VEN's
opt-out; junk, a press on another household's topic, a retained press and a replayed press change
nothing more; and `homeflex ven` publishes it all and goes "offline" when it is killed.

Each test uses its own discovery prefix, so a Home Assistant reading the shared broker sees none of it."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aiomqtt
import pytest

from homeflex.core import topics
from homeflex.core.domain import Category, DeviceKind, DeviceSpec, HouseholdSpec, Stage
from homeflex.drivers.homeflex_mqtt import HomeflexAddress
from homeflex.household import DeviceConfig, HouseholdConfig
from homeflex.mqtt import MqttSession
from homeflex.mqtt.session import parse_mqtt_url
from homeflex.settlement.settler import settle_event
from homeflex.ven.ha_discovery import ENTITIES, PRESS, availability_topic, skip_topic, state_topic
from homeflex.ven.homeassistant import HomeAssistantBridge
from homeflex.ven.skips import parse_skips
from homeflex.vtn.paymentnotice import notify_payments
from tests.portal.conftest import Stack, event_day
from tests.portal.home import Home, running_home, until
from tests.portal.test_skip_ven import _event, _opt, stage_3_customer
from tests.reliability.helpers import Service
from tests.ven.ha_schema import problems


@asynccontextmanager
async def client(mqtt_url: str) -> AsyncIterator[aiomqtt.Client]:
    """An MQTT client of the test's own (HA's side), not homeflex's session class."""
    e = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(e.host, e.port, identifier=f"ha-side-{uuid.uuid4().hex[:8]}") as c:
        yield c


async def retained(
    mqtt_url: str, topic_filter: str, count: int, timeout: float = 10.0, *, live: bool = False
) -> dict[str, bytes]:
    """The first `count` messages on `topic_filter` (retained ones arrive at once), each checked to be
    retained (`live`: or sent while subscribed, with the retain flag the broker then drops); fewer
    after `timeout` s fails."""
    got: dict[str, bytes] = {}
    async with client(mqtt_url) as c:
        await c.subscribe(topic_filter, qos=1)
        try:
            async with asyncio.timeout(timeout):
                async for m in c.messages:
                    assert m.retain or live, f"{m.topic} is not retained"
                    got[str(m.topic)] = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
                    if len(got) >= count:
                        break
        except TimeoutError:
            raise AssertionError(f"{len(got)} of {count} retained messages on {topic_filter}") from None
    return got


async def clear(mqtt_url: str, topic_list: list[str]) -> None:
    async with client(mqtt_url) as c:
        for t in topic_list:
            await c.publish(t, b"", qos=1, retain=True)


async def state_of(mqtt_url: str, hh: str) -> dict[str, object]:
    doc: dict[str, object] = json.loads(next(iter((await retained(mqtt_url, state_topic(hh), 1)).values())))
    return doc


@pytest.fixture
async def home(stack: Stack, mqtt_url: str) -> AsyncIterator[tuple[str, Home]]:
    c = await stage_3_customer(stack, "ha@example.org", mqtt_url)
    async with running_home(stack, mqtt_url, c.household_id) as h:
        yield c.household_id, h


@asynccontextmanager
async def bridge(h: Home, mqtt_url: str, prefix: str) -> AsyncIterator[HomeAssistantBridge]:
    hh = h.household_id
    try:
        async with HomeAssistantBridge(h.ven, mqtt_url, prefix=prefix, part=None, refresh_s=0.2) as b:
            yield b
    finally:
        configs = await retained(mqtt_url, topics.ha_config_filter(hh, prefix), len(ENTITIES))
        await clear(mqtt_url, [*configs, state_topic(hh), availability_topic(hh), skip_topic(hh)])


async def test_the_retained_configs_pass_home_assistants_rules_and_the_state_follows(
    stack: Stack, home: tuple[str, Home], mqtt_url: str, uid: str
) -> None:
    hh, h = home
    prefix = f"hatest-{uid}"
    async with bridge(h, mqtt_url, prefix):
        configs = await retained(mqtt_url, f"{prefix}/#", len(ENTITIES))
        assert {json.loads(p)["unique_id"] for p in configs.values()} == {
            f"homeflex_{hh}_{e.object_id}" for e in ENTITIES
        }
        assert [p for t, body in configs.items() for p in problems(t, body)] == []
        assert await retained(mqtt_url, availability_topic(hh), 1) == {availability_topic(hh): b"online"}
        doc = await state_of(mqtt_url, hh)
        assert doc["stage"] == "flex" and doc["next_event_start"] is None and doc["opt_answer"] == "no_event"

        at = event_day() + timedelta(hours=17, minutes=30)
        event_id = await _event(stack, at)
        await until(lambda: event_id in h.controller.core.events, "the loop to accept the event")

        async def shows_event() -> bool:
            return (await state_of(mqtt_url, hh))["opt_answer"] == "opted_in"

        await until(shows_event, "the state to show the event")
        doc = await state_of(mqtt_url, hh)
        assert doc["next_event_start"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert doc["next_event_request_w"] == 2000.0  # the VTN's 2 kW for this household
        assert isinstance(doc["next_event_payment_gbp"], float) and doc["next_event_payment_gbp"] > 0
        assert doc["next_event"]["event_id"] == event_id  # type: ignore[index]

        # HA restarts: its birth message brings every config again (here, after they were wiped).
        await clear(mqtt_url, list(configs))
        async with client(mqtt_url) as c:
            await c.publish("homeassistant/status", b"online", qos=1)
        again = await retained(mqtt_url, f"{prefix}/#", len(ENTITIES), live=True)
        assert again == configs
        assert (await retained(mqtt_url, f"{prefix}/#", len(ENTITIES))) == configs  # and retained


async def test_skip_pressed_in_home_assistant_reaches_the_vtn_as_the_vens_opt_out(
    stack: Stack, home: tuple[str, Home], mqtt_url: str, uid: str
) -> None:
    hh, h = home
    day = event_day()
    prefix = f"hatest-{uid}"
    # A press retained on the command topic before the bridge starts: not a press (it would be carried
    # out again on every reconnect).
    async with client(mqtt_url) as c:
        await c.publish(skip_topic(hh), PRESS.encode(), qos=1, retain=True)
    first = await _event(stack, day + timedelta(hours=17, minutes=30))
    later = await _event(stack, day + timedelta(hours=18, minutes=30))
    await until(lambda: first in h.controller.core.events, "the loop to accept the event")
    await until(lambda: _is(stack, first, hh, "optIn"), "the VTN to store the VEN's optIn")
    async with bridge(h, mqtt_url, prefix) as b, client(mqtt_url) as ha:
        await ha.publish(skip_topic(hh), b"", qos=1, retain=True)  # clears it; reaches the bridge as b""
        junk = [b"", b"press", b"PRESS ", b"\xff\xfe\x00", b'{"press": true}', b"P" * 100_000]
        for payload in junk:
            await ha.publish(skip_topic(hh), payload, qos=1)
        refused = len(junk) + 1  # and the clearing message
        await until(lambda: b.refused == refused, "the junk to be refused")
        assert b.presses == [] and h.ven.skipped == {}  # the retained press came first and did nothing
        await ha.publish(skip_topic(f"other-{uid}"), PRESS.encode(), qos=1)  # another household's button

        await ha.publish(skip_topic(hh), PRESS.encode(), qos=1)  # HA's button.press
        await until(lambda: first in h.ven.released, "the VEN to release the event")
        assert h.ven.released[first] is True  # the VTN acknowledged the VEN's new optOut
        decision = h.ven.decisions[first]
        assert not decision.opt_in and decision.reason == "customer override"
        assert first not in h.controller.core.events
        assert await _opt(stack, first, hh) == "optOut"

        await ha.publish(skip_topic(hh), PRESS.encode(), qos=1)  # pressed again: the same next event
        await ha.publish(skip_topic(hh), b"nonsense", qos=1)  # (arrives after the replay)
        await until(lambda: b.refused == refused + 1, "the replay to be handled")
        assert b.presses == [first]  # one skip
        skips = await retained(mqtt_url, topics.skips(hh), 1)
        assert parse_skips(skips[topics.skips(hh)]) == {first: "customer override"}
        assert later not in h.ven.skipped and await _opt(stack, later, hh) == "optIn"

        async def shows_skip() -> bool:
            return (await state_of(mqtt_url, hh))["opt_answer"] == "skipped"

        await until(shows_skip, "HA's state to show the skip")

        # The household then skips the later event in the portal, which rewrites the skips message
        # from its own records (without the HA skip): the bridge puts the HA skip back.
        await stack.portal.skip_event(await stack.portal.customer(hh), later, "ha@example.org")  # type: ignore[arg-type]

        async def both() -> bool:
            message = (await retained(mqtt_url, topics.skips(hh), 1))[topics.skips(hh)]
            return parse_skips(message).keys() == {first, later}

        await until(both, "the skips message to hold both skips")
        assert h.ven.skipped == {first: "customer override", later: "customer override"}


async def _is(stack: Stack, event_id: str, hh: str, opt: str) -> bool:
    return await _opt(stack, event_id, hh) == opt


async def test_homeflex_ven_publishes_discovery_and_goes_offline_when_killed(
    stack: Stack, mqtt_url: str, tmp_path: Path, uid: str
) -> None:
    c = await stage_3_customer(stack, "ha-ven@example.org", mqtt_url)
    hh = c.household_id
    spec = HouseholdSpec(
        id=hh,
        category=Category.B,
        stage=Stage.FLEX,
        devices=(DeviceSpec(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000),),
    )
    path = tmp_path / "household.json"
    battery = DeviceConfig(id="battery", kind=DeviceKind.BATTERY, max_power_w=5000, address=HomeflexAddress())
    path.write_bytes(HouseholdConfig.from_spec(spec, devices=(battery,)).to_json())
    prefix = f"hatest-{uid}"
    env = {
        "HOMEFLEX_MQTT_URL": mqtt_url,
        "HOMEFLEX_VTN_URL": stack.vtn_url,
        "HOMEFLEX_HA_DISCOVERY_PREFIX": prefix,
        "PYTHONPATH": os.getcwd(),
    }
    agent = Service("ven", env, tmp_path / "ven.log", ("--config", str(path)))
    configs: dict[str, bytes] = {}
    try:
        agent.start()
        configs = await retained(mqtt_url, f"{prefix}/#", len(ENTITIES), timeout=60, live=True)
        assert await retained(mqtt_url, f"{prefix}/#", len(ENTITIES)) == configs  # retained
        assert [p for t, body in configs.items() for p in problems(t, body)] == []

        async def online() -> bool:
            return (await retained(mqtt_url, availability_topic(hh), 1))[availability_topic(hh)] == b"online"

        await until(online, "the agent's availability", timeout=30)
        agent.kill()  # no goodbye: the broker sends the agent's last will

        async def offline() -> bool:
            return (await retained(mqtt_url, availability_topic(hh), 1))[availability_topic(hh)] == b"offline"

        await until(offline, "the last will", timeout=30)
    finally:
        agent.stop()
        await clear(mqtt_url, [*configs, state_topic(hh), availability_topic(hh), topics.status(hh)])
    log = (tmp_path / "ven.log").read_text()
    assert "Traceback" not in log, log


async def test_a_press_before_the_bridge_has_read_the_skips_keeps_the_portals(
    stack: Stack, home: tuple[str, Home], mqtt_url: str, uid: str
) -> None:
    hh, h = home
    day = event_day()
    first = await _event(stack, day + timedelta(hours=17, minutes=30))
    later = await _event(stack, day + timedelta(hours=18, minutes=30))
    await stack.portal.skip_event(await stack.portal.customer(hh), later, "ha@example.org")  # type: ignore[arg-type]
    await until(lambda: later in h.ven.skipped, "the VEN to read the portal's skip")
    async with bridge(h, mqtt_url, f"hatest-{uid}") as b, client(mqtt_url) as ha:
        await until(lambda: first in h.ven.events, "the VEN to receive the event")
        b._skips_payload = b""  # as if the retained skips message had not reached the bridge yet
        await ha.publish(skip_topic(hh), PRESS.encode(), qos=1)
        await until(lambda: first in h.ven.skipped, "the VEN to take the skip")
        assert h.ven.skipped == {first: "customer override", later: "customer override"}


async def test_a_settled_events_payment_shows_as_payments_this_month(
    stack: Stack, home: tuple[str, Home], mqtt_url: str, uid: str
) -> None:
    """The VTN's settlement (the stack's, as `homeflex vtn` runs it) and its payments notice, then the
    household's entity."""
    hh, h = home
    start = event_day() + timedelta(hours=17, minutes=30)
    event_id = await _event(stack, start)
    await until(lambda: _is(stack, event_id, hh, "optIn"), "the VTN to store the VEN's optIn")
    try:
        async with bridge(h, mqtt_url, f"hatest-{uid}"):
            assert (await state_of(mqtt_url, hh))["payments_month_gbp"] == 0.0
            await stack.clock.advance((start + timedelta(hours=2) - stack.clock.now()).total_seconds())
            await stack.meter_day(hh, start, event_kwh=0.3)  # 0.3 kWh in the event's half-hour
            [record] = await settle_event(stack.storage, event_id, stack.clock.now())
            assert Decimal(record.household_gbp) > 0
            async with MqttSession(mqtt_url, f"vtn-payments-{uid}") as vtn:

                async def publish(topic: str, payload: bytes) -> None:
                    await vtn.publish(topic, payload, retain=True)

                assert await notify_payments(stack.storage, publish, [hh], stack.clock.now()) == 1

            async def paid() -> bool:
                return (await state_of(mqtt_url, hh))["payments_month_gbp"] == float(record.household_gbp)

            await until(paid, "the household's entity to show the payment")
    finally:
        await clear(mqtt_url, [topics.payments(hh)])
