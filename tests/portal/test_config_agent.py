"""The household's configuration from the portal to its running agent, on a real broker: each saved
profile (and each stage move) is a new stored version, sent retained on the household's subtree; the
agent starts from the retained one and re-plans at once on a newer one, with the new preferences and
tariff. The document is the one the API serves, and another household's login cannot read it."""

from __future__ import annotations

from contextlib import AsyncExitStack

import aiohttp
import pytest

from homeflex.control.loop import HouseholdController
from homeflex.control.setup import HouseholdSetup
from homeflex.core import topics
from homeflex.core.clock import ScaledClock
from homeflex.core.domain import Stage
from homeflex.household import parse_config
from homeflex.household.follow import ConfigFollower, agent_config, retained_config
from homeflex.mqtt import MqttSession
from homeflex.portal.actions import ActionError
from homeflex.portal.energy import ProfileError
from homeflex.portal.journey import Role, Step
from homeflex.portal.skipnotice import MqttRetainedPublisher
from homeflex.sim.devices import HouseholdSimulator
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.ev import EvCharger
from homeflex.sim.physics.weather import LondonWeather
from tests.portal.conftest import OPERATOR, Stack
from tests.portal.helpers import PASSWORD, PROFILE_FORM, customer_at
from tests.portal.home import until

API = "/api/portal"


async def test_a_profile_saved_in_the_portal_replans_the_running_agent(
    stack: Stack, mqtt_url: str, cleared: list[str]
) -> None:
    p = stack.portal
    p.publisher = MqttRetainedPublisher(mqtt_url)
    c = await customer_at(p, Step.STAGE_2, "agent@example.org")
    hh = c.household_id
    cleared.append(hh)
    # Saved at the profile, sent again at installation (stage 1) and at the move to stage 2.
    assert [v.version for v in await p.storage.household_config_versions(hh)] == [1, 2, 3]
    config = await agent_config(mqtt_url, hh, None)
    stored = await p.storage.latest_household_config(hh)
    assert stored is not None and config.to_document() == stored.document
    assert config.version == 3 and config.stage is Stage.AUTOMATIC and config.category.value == "B"
    [ev] = config.devices
    assert (ev.id, ev.kind.value, ev.max_power_w, ev.protocol) == ("ev", "ev_charger", 7400.0, "homeflex")
    assert config.equipment.ev_capacity_kwh == 60 and HouseholdSetup.of(config).tariff.name == "two_rate"

    clock = ScaledClock(stack.clock.now(), 1.0)
    sim = SimHousehold(
        hh, base_load=BaseLoad(seed=0), weather=LondonWeather(seed=1), devices={"ev": EvCharger(seed=0)}
    )
    async with AsyncExitStack() as es:
        await es.enter_async_context(HouseholdSimulator(sim, clock, mqtt_url, meter_interval_s=1e9))
        controller = await es.enter_async_context(HouseholdController(config, clock, mqtt_url))
        follower = await es.enter_async_context(ConfigFollower(controller))
        await until(lambda: controller.core.replans, "the agent's first plan")
        planned = len(controller.core.replans)

        form = {**PROFILE_FORM, "ev_ready_by": "06:00", "ev_target_pct": "90", "tariff": "three_rate"}
        await p.save_profile(await p.customer(hh), form, c.email, Role.HOUSEHOLDER)
        await until(lambda: follower.applied == [4], "the agent to apply version 4")
        assert controller.config.version == 4
        assert controller.setup.preferences.ev_ready_by_h == 6.0
        assert controller.setup.preferences.ev_target_soc == 0.9
        assert controller.setup.tariff.name == "three_rate"
        await until(lambda: len(controller.core.replans) > planned, "a re-plan with the new setup")
        assert controller.core.replans[planned][1] == "configuration changed"
        assert controller.core.setup.tariff.name == "three_rate"

        # The retained message again (as after a reconnect) and an invalid document: both ignored.
        async with MqttSession(mqtt_url, f"odd-{hh}") as s:
            await s.publish(topics.config(hh), b'{"household_id": "' + hh.encode() + b'", "colour": 1}')
        await until(lambda: follower.refused, "the agent to refuse the invalid document")
        assert "unknown keys ['colour']" in str(follower.refused[0])
        assert follower.applied == [4] and controller.config.version == 4
    # The invalid one was not retained: the agent's next start reads version 4.
    again = await retained_config(mqtt_url, hh)
    assert again is not None and again.version == 4


async def test_a_bad_device_field_is_refused_beside_it_and_nothing_is_stored(stack: Stack) -> None:
    p = stack.portal
    c = await customer_at(p, Step.ACCOUNT, "badfield@example.org")
    form = {**PROFILE_FORM, "ev_charger_protocol": "telepathy"}
    with pytest.raises(ProfileError) as caught:
        await p.save_profile(c, form, c.email, Role.HOUSEHOLDER)
    assert list(caught.value.errors) == ["ev_charger_protocol"]
    # The driver's own check (its address dataclass), mapped back to the field it names.
    with pytest.raises(ProfileError) as caught:
        await p.save_profile(
            c, {**PROFILE_FORM, "ev_charger_homeflex_device": "a/b"}, c.email, Role.HOUSEHOLDER
        )
    [(field, why)] = caught.value.errors.items()
    assert field == "ev_charger_homeflex_device" and "one MQTT topic level" in why
    with pytest.raises(ProfileError) as caught:
        await p.save_profile(
            c, {**PROFILE_FORM, "ev_charger_homeflex_attempts": "x"}, c.email, Role.HOUSEHOLDER
        )
    assert list(caught.value.errors) == ["ev_charger_homeflex_attempts"]
    assert await p.storage.household_config_versions(c.household_id) == []


async def test_a_version_the_broker_refuses_is_not_kept(stack: Stack, cleared: list[str]) -> None:
    p = stack.portal
    c = await customer_at(p, Step.PROFILE, "nobroker@example.org")
    p.publisher = MqttRetainedPublisher("mqtt://127.0.0.1:9", timeout_s=0.5)  # nothing listens there
    with pytest.raises(ActionError, match="cannot be reached"):
        await p.save_profile(c, {**PROFILE_FORM, "ev_ready_by": "05:00"}, c.email, Role.HOUSEHOLDER)
    assert [v.version for v in await p.storage.household_config_versions(c.household_id)] == [1]
    assert (await p.customer(c.household_id)).data["profile"]["preferences"]["ev_ready_by_h"] == 7.5


async def test_the_api_serves_the_configuration_to_the_household_and_operators_only(stack: Stack) -> None:
    p = stack.portal
    mine = await customer_at(p, Step.PROFILE, "cfg-me@example.org")
    theirs = await customer_at(p, Step.PROFILE, "cfg-them@example.org")
    base = f"{stack.portal_url}{API}/households"
    async with aiohttp.ClientSession() as http:

        async def token(email: str, password: str) -> dict[str, str]:
            login = {"email": email, "password": password}
            async with http.post(f"{stack.portal_url}{API}/login", json=login) as r:
                return {"Authorization": f"Bearer {(await r.json())['token']}"}

        me, op = await token("cfg-me@example.org", PASSWORD), await token(*OPERATOR)
        async with http.get(f"{base}/{mine.household_id}/config", headers=me) as r:
            assert r.status == 200
            document = await r.json()
        assert parse_config(document).household_id == mine.household_id and document["version"] == 1
        async with http.get(f"{base}/{mine.household_id}/config/versions", headers=me) as r:
            [version] = await r.json()
            assert version["version"] == 1 and "actor" not in version  # staff emails are not shown
        async with http.get(f"{base}/{mine.household_id}/config/versions", headers=op) as r:
            assert [v["actor"] for v in await r.json()] == ["cfg-me@example.org"]
        for path in ("config", "config/versions"):  # the attacker's view: another household's login
            async with http.get(f"{base}/{theirs.household_id}/{path}", headers=me) as r:
                assert r.status == 403 and "cfg-them" not in await r.text()
            async with http.get(f"{base}/{theirs.household_id}/{path}") as r:
                assert r.status == 401
        async with http.get(f"{base}/hh-nobody/config", headers=op) as r:
            assert r.status == 404
        fresh = await customer_at(p, Step.ACCOUNT, "cfg-new@example.org")
        async with http.get(f"{base}/{fresh.household_id}/config", headers=op) as r:
            assert r.status == 404 and "fill in the smart energy profile" in (await r.json())["error"]


async def test_stage_moves_and_category_changes_are_new_versions(stack: Stack) -> None:
    """The agent runs the stage its configuration says, so each move (and a new category) is sent."""
    p = stack.portal
    c = await customer_at(p, Step.STAGE_3, "stages@example.org")
    versions = await p.storage.household_config_versions(c.household_id)
    assert [v.version for v in versions] == [1, 2, 3, 4]  # profile, installation, stage 2, stage 3
    latest = await p.storage.latest_household_config(c.household_id)
    assert latest is not None
    assert (latest.document["stage"], latest.document["group"]) == (3, p.config.community_group)
    assert latest.actor == OPERATOR[0]
    await p.set_category(await p.customer(c.household_id), "A", True, "contract", OPERATOR[0])
    latest = await p.storage.latest_household_config(c.household_id)
    assert latest is not None and latest.version == 5
    assert (latest.document["category"], latest.document["vulnerable"]) == ("A", True)
    early = await customer_at(p, Step.ACCOUNT, "early@example.org")  # no profile yet: nothing to send
    assert await p.storage.household_config_versions(early.household_id) == []
