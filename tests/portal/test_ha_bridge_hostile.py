"""The agent's Home Assistant bridge under a storm of Home Assistant births. `homeassistant/status` is
one topic for every household on the platform broker (each household's `<hh>.hass` may write it), so a
birth from any household's Home Assistant, or a Home Assistant restarting in a loop, reaches every
household's bridge. Each birth used to send all the discovery configs again at once: one message became
(households x entities) messages, without bound. Now the configs go again once per refresh however many
births came, and still after the storm (so a real restart is answered).

The Home Assistant side runs on a Mosquitto of the test's own, so the storm disturbs no other run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiomqtt
import pytest

from homeflex.core import topics
from homeflex.mqtt.session import parse_mqtt_url
from homeflex.ven.ha_discovery import ENTITIES, skip_topic
from homeflex.ven.homeassistant import HomeAssistantBridge
from tests.portal.conftest import Stack
from tests.portal.home import Home, running_home, until
from tests.portal.test_skip_ven import stage_3_customer

BIRTHS = 50


@pytest.fixture
async def home(stack: Stack, mqtt_url: str) -> AsyncIterator[tuple[str, Home]]:
    c = await stage_3_customer(stack, "ha-storm@example.org", mqtt_url)
    async with running_home(stack, mqtt_url, c.household_id) as h:
        yield c.household_id, h


async def test_a_storm_of_births_sends_the_configs_once_per_refresh(
    home: tuple[str, Home], private_mqtt_url: str, uid: str
) -> None:
    _hh, h = home
    prefix = f"hastorm-{uid}"
    e = parse_mqtt_url(private_mqtt_url)
    async with (
        HomeAssistantBridge(h.ven, private_mqtt_url, prefix=prefix, part=None, refresh_s=0.5) as bridge,
        aiomqtt.Client(e.host, e.port, identifier=f"ha-side-{uuid.uuid4().hex[:8]}") as ha,
    ):
        await ha.subscribe(f"{prefix}/#", qos=1)
        configs: list[str] = []

        async def count() -> None:
            async for m in ha.messages:
                configs.append(str(m.topic))

        counting = asyncio.get_running_loop().create_task(count())
        try:
            await until(lambda: len(configs) >= len(ENTITIES), "the retained configs")
            configs.clear()
            for _ in range(BIRTHS):
                await ha.publish(topics.HA_BIRTH, b"online", qos=1)
            # Sent after the births on one connection: once the bridge has refused it, it has read them all.
            await ha.publish(skip_topic(h.household_id), b"not a press", qos=1)
            await until(lambda: bridge.refused == 1, "the bridge to read the storm")
            await until(lambda: len(configs) >= len(ENTITIES), "the configs sent again")
            sent = len(configs)
            # one sending for the storm (a second only if a refresh fell inside it), never one per birth
            assert sent <= 2 * len(ENTITIES), f"{sent} config messages for {BIRTHS} births"
            await ha.publish(topics.HA_BIRTH, b"online", qos=1)  # a later restart is still answered
            await until(lambda: len(configs) >= sent + len(ENTITIES), "the configs after a later birth")
        finally:
            counting.cancel()
            await asyncio.gather(counting, return_exceptions=True)
            for topic in {*configs}:
                await ha.publish(topic, b"", qos=1, retain=True)
