"""The configuration on the broker: what the simulated population publishes is what the agent reads,
the same document the portal sends for a real home."""

from __future__ import annotations

from dataclasses import replace

import pytest

from homeflex.core import topics
from homeflex.core.strict import ConfigError
from homeflex.household.follow import publish_configs, retained_config
from homeflex.mqtt import MqttSession
from homeflex.scenarios.setup import household_config_for
from homeflex.sim.population import make_population


async def test_the_simulated_population_is_read_as_real_homes(mqtt_url: str, uid: str) -> None:
    sims = make_population(4, seed=3)
    configs = [
        replace(household_config_for(s), household_id=f"{s.spec.id}-{uid}") for s in sims
    ]  # ids of this test only: the broker may be shared
    try:
        await publish_configs(mqtt_url, configs)
        for config in configs:
            read = await retained_config(mqtt_url, config.household_id, wait_s=5)
            assert read is not None and read.to_document() == config.to_document()
        assert await retained_config(mqtt_url, f"hh-none-{uid}", wait_s=0.3) is None
    finally:
        async with MqttSession(mqtt_url, f"clear-{uid}") as s:
            for config in configs:
                await s.publish(topics.config(config.household_id), b"", retain=True)


async def test_another_households_document_is_refused(mqtt_url: str, uid: str) -> None:
    config = replace(household_config_for(make_population(1, seed=3)[0]), household_id=f"a-{uid}")
    async with MqttSession(mqtt_url, f"odd-{uid}") as s:
        await s.publish(topics.config(f"b-{uid}"), config.to_json(), retain=True)
        try:
            with pytest.raises(ConfigError, match=f"is 'a-{uid}', not 'b-{uid}'"):
                await retained_config(mqtt_url, f"b-{uid}")
        finally:
            await s.publish(topics.config(f"b-{uid}"), b"", retain=True)
