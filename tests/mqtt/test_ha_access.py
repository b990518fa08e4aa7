"""Home Assistant discovery on the platform's broker (a real mosquitto with the platform's password and
ACL files): a household's agent bridge (`<household>.ha`) writes exactly its own discovery configs and
hears HA's birth; the household's Home Assistant (`<household>.hass`) reads its own configs and none of
another household's; no other login of the household writes discovery configs, and no other household presses
its "skip next event"."""

from __future__ import annotations

import asyncio

from homeflex.core import topics
from homeflex.mqtt import MqttSession
from homeflex.mqtt.access import acl_text
from tests.mqtt.test_access import Broker, broker, nothing_arrives, received

__all__ = ["broker"]  # the fixture, shared with test_access


def config(hh: str) -> str:
    return f"homeassistant/sensor/{topics.ha_node_id(hh)}/stage/config"


def test_the_acl_gives_the_bridge_exactly_its_own_discovery_topics() -> None:
    text = acl_text(["hh001"])
    assert "user hh001.ha\ntopic readwrite homeflex/v1/hh001/#\n" in text
    assert "topic write homeassistant/+/homeflex_hh001/+/config\ntopic read homeassistant/status\n" in text
    hass = "user hh001.hass\ntopic readwrite homeflex/v1/hh001/#\n"
    assert hass + "topic read homeassistant/+/homeflex_hh001/+/config\n" in text
    assert text.count("homeassistant/") == 4  # only those two logins


async def test_a_household_writes_only_its_own_discovery_configs(broker: Broker) -> None:
    async with (
        MqttSession(broker.as_user("hh001"), "x", part="ha") as bridge,
        MqttSession(broker.as_user("hh001"), "x", part="ctl") as loop,
        MqttSession(broker.as_user("hh001"), "x", part="hass") as own_ha,
        MqttSession(broker.as_user("hh002"), "x", part="hass") as other_ha,
    ):
        own = await received(own_ha, topics.ha_config_filter("hh001"))
        everything = await received(own_ha, "homeassistant/#")
        other = await received(other_ha, "homeassistant/#")
        births = await received(bridge, topics.HA_BIRTH)
        presses = await received(bridge, f"{topics.PREFIX}/hh001/ha/skip")
        await bridge.publish(config("hh001"), b'{"name": "Stage"}')
        assert await asyncio.wait_for(own.get(), 5) == (config("hh001"), b'{"name": "Stage"}')
        assert await asyncio.wait_for(everything.get(), 5) == (config("hh001"), b'{"name": "Stage"}')
        await own_ha.publish(topics.HA_BIRTH, b"online")
        assert await asyncio.wait_for(births.get(), 5) == (topics.HA_BIRTH, b"online")
        await bridge.publish(config("hh002"), b'{"name": "forged"}')  # another household's entities
        await bridge.publish("homeassistant/sensor/stranger/stage/config", b"{}")
        await loop.publish(config("hh001"), b'{"name": "from the control loop"}')  # not the bridge
        await other_ha.publish(f"{topics.PREFIX}/hh001/ha/skip", b"PRESS")  # another household's button
        await nothing_arrives(other)
        await nothing_arrives(everything)
        await nothing_arrives(presses)
        await own_ha.publish(f"{topics.PREFIX}/hh001/ha/skip", b"PRESS")  # its own
        assert (await asyncio.wait_for(presses.get(), 5))[1] == b"PRESS"
