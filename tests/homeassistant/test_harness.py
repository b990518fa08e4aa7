"""The harness itself: a real Home Assistant is up, its token opens the websocket API, the test
household's entities follow their helpers, and its MQTT integration can be set up on the broker."""

from __future__ import annotations

import asyncio
import urllib.error

import aiohttp
import pytest

from tests.homeassistant.harness import ENTITIES, HomeAssistant

pytestmark = pytest.mark.homeassistant


async def test_the_token_opens_the_websocket_api(home_assistant: HomeAssistant) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(home_assistant.ws_url) as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "auth_required"
        await ws.send_json({"type": "auth", "access_token": home_assistant.token})
        assert (await ws.receive_json(timeout=10))["type"] == "auth_ok"
        await ws.send_json({"id": 1, "type": "get_states"})
        answer = await ws.receive_json(timeout=10)
        assert answer["success"]
        assert set(ENTITIES.values()) <= {s["entity_id"] for s in answer["result"]}


def test_a_wrong_token_is_refused(home_assistant: HomeAssistant) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        home_assistant.request("GET", "/api/states", token="not-a-token")
    assert err.value.code == 401


async def test_the_entities_follow_their_helpers(home_assistant: HomeAssistant) -> None:
    home_assistant.call("input_number", "set_value", {"entity_id": "input_number.plug_power", "value": 123})
    home_assistant.call("switch", "turn_on", {"entity_id": ENTITIES["plug"]})
    async with asyncio.timeout(10):
        while home_assistant.state(ENTITIES["plug_power"])["state"] != "123.0":
            await asyncio.sleep(0.1)
    thermostat = ENTITIES["thermostat"]
    home_assistant.call("climate", "set_temperature", {"entity_id": thermostat, "temperature": 21.5})
    assert home_assistant.state(thermostat)["attributes"]["temperature"] == 21.5
    home_assistant.call("climate", "set_temperature", {"entity_id": thermostat, "temperature": 20})


def test_the_mqtt_integration_is_set_up_on_the_broker(home_assistant: HomeAssistant) -> None:
    entry = home_assistant.enable_mqtt("127.0.0.1", 1883)
    assert home_assistant.enable_mqtt("127.0.0.1", 1883) == entry  # once
    entries = home_assistant.request("GET", "/api/config/config_entries/entry?domain=mqtt")
    assert [(e["entry_id"], e["state"]) for e in entries] == [(entry, "loaded")]
