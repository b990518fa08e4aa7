"""homeflex's own entities in a real Home Assistant 2025.4 (tests/homeassistant/harness.py), by MQTT
discovery on the real mosquitto: a stage-3 household's agent (its control loop, its openleadr VEN on the
portal stack's VTN, and the Home Assistant bridge) publishes them; they appear in HA's state machine with
the right states, units and device classes; and "skip next event" pressed in HA (`button.press` through
HA's API) reaches the VTN as the VEN's opt-out.

With HOMEFLEX_HA_SCREENSHOT=<path.png> it also photographs HA's own page of the household's device
(Debian's chromium, driven by playwright), as docs/screenshots/home-assistant-entities.png was made."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from homeflex.core import topics
from homeflex.mqtt import MqttSession
from homeflex.mqtt.session import parse_mqtt_url
from homeflex.settlement.settler import settle_event
from homeflex.storage.records import SettlementRecord
from homeflex.ven.ha_discovery import ENTITIES, availability_topic, discovery_configs, entity_id, state_topic
from homeflex.ven.homeassistant import HomeAssistantBridge
from homeflex.vtn.paymentnotice import notify_payments
from tests.homeassistant.harness import HomeAssistant
from tests.portal.conftest import Stack, event_day, stack
from tests.portal.home import Home, running_home, until
from tests.portal.test_ha_bridge import _is, clear
from tests.portal.test_skip_ven import _event, _opt, stage_3_customer

pytestmark = pytest.mark.homeassistant
__all__ = ["stack"]  # the portal stack's fixture, used here too
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
async def home(stack: Stack, mqtt_url: str, home_assistant: HomeAssistant) -> AsyncIterator[tuple[str, Home]]:
    broker = parse_mqtt_url(mqtt_url)
    await asyncio.to_thread(home_assistant.enable_mqtt, broker.host, broker.port)
    c = await stage_3_customer(stack, "ha-real@example.org", mqtt_url)
    async with running_home(stack, mqtt_url, c.household_id) as h:
        yield c.household_id, h


def ids(hh: str) -> dict[str, str]:
    return {e.object_id: entity_id(e.component, hh, e.object_id) for e in ENTITIES}


async def states(ha: HomeAssistant, hh: str) -> dict[str, dict[str, Any]]:
    """HA's state machine, for this household's entities (by object id)."""
    wanted = {v: k for k, v in ids(hh).items()}
    found = await asyncio.to_thread(ha.states)
    return {wanted[s["entity_id"]]: s for s in found if s["entity_id"] in wanted}


async def test_the_entities_appear_in_home_assistant_and_its_skip_reaches_the_vtn(
    stack: Stack, home: tuple[str, Home], mqtt_url: str, home_assistant: HomeAssistant
) -> None:
    _, h = home
    hh, ha = h.household_id, home_assistant
    try:
        await _run(stack, h, mqtt_url, ha)
    finally:  # HA drops the entities once their configs are gone
        configs = [topic for topic, _, _ in discovery_configs(hh)]
        await clear(mqtt_url, [*configs, state_topic(hh), availability_topic(hh), topics.payments(hh)])


async def _run(stack: Stack, h: Home, mqtt_url: str, ha: HomeAssistant) -> None:
    hh = h.household_id
    async with HomeAssistantBridge(h.ven, mqtt_url, part=None, refresh_s=0.2):

        async def all_there() -> bool:  # and each has read its availability and state
            s = await states(ha, hh)
            return len(s) == len(ENTITIES) and all(e["state"] != "unavailable" for e in s.values())

        await until(all_there, "Home Assistant to discover every entity", timeout=60)
        s = await states(ha, hh)
        assert s["stage"]["state"] == "flex"
        assert s["agent"]["state"] == "on" and s["agent"]["attributes"]["device_class"] == "connectivity"
        assert s["next_event_start"]["state"] == "unknown"  # no event yet
        assert s["opt_answer"]["state"] == "no_event"
        assert s["payments_month"]["attributes"]["unit_of_measurement"] == "GBP"
        assert s["payments_month"]["attributes"]["device_class"] == "monetary"

        at = event_day() + timedelta(hours=17, minutes=30)
        event_id = await _event(stack, at)
        later_at = at + timedelta(hours=1)
        later = await _event(stack, later_at)  # settled below: "payments this month"
        await until(lambda: event_id in h.controller.core.events, "the loop to accept the event")

        async def opted_in() -> bool:
            return (await states(ha, hh))["opt_answer"]["state"] == "opted_in"

        await until(opted_in, "Home Assistant to show the optIn")
        s = await states(ha, hh)
        assert s["next_event_start"]["state"] == at.isoformat()  # HA's timestamp: 2026-12-08T17:30:00+00:00
        assert s["next_event_start"]["attributes"]["device_class"] == "timestamp"
        assert s["next_event_start"]["attributes"]["event_id"] == event_id
        assert float(s["next_event_request"]["state"]) == 2000.0
        assert s["next_event_request"]["attributes"]["unit_of_measurement"] == "W"
        assert float(s["next_event_payment"]["state"]) > 0
        assert s["planned_import"]["attributes"]["unit_of_measurement"] == "kWh"
        assert s["opt_answer"]["attributes"]["reason"].startswith("plan delivers")
        assert await _opt(stack, event_id, hh) == "optIn"

        await asyncio.to_thread(ha.call, "button", "press", {"entity_id": ids(hh)["skip_next_event"]})
        await until(lambda: event_id in h.ven.released, "the VEN to release the event")
        assert h.ven.released[event_id] is True  # the VTN acknowledged the VEN's optOut
        assert h.ven.decisions[event_id].reason == "customer override"
        assert await _opt(stack, event_id, hh) == "optOut"

        async def skipped() -> bool:
            return (await states(ha, hh))["opt_answer"]["state"] == "skipped"

        await until(skipped, "Home Assistant to show the skip")
        assert float((await states(ha, hh))["next_event_payment"]["state"]) == 0.0

        # The later event, delivered and settled at the VTN (its clock moved past it); the VTN tells
        # the household's agent its month's payments, as `homeflex vtn` does after a settlement.
        await until(lambda: _is(stack, later, hh, "optIn"), "the VTN to store the later event's optIn")
        record = await settle_and_tell(stack, mqtt_url, hh, later, later_at)

        async def paid() -> bool:
            return (await states(ha, hh))["payments_month"]["state"] == record.household_gbp

        await until(paid, "Home Assistant to show the month's payments")
        assert Decimal(record.household_gbp) > 0
        shot = os.environ.get("HOMEFLEX_HA_SCREENSHOT")
        if shot:
            await screenshot(ha, hh, shot)

    async def unavailable() -> bool:  # the agent left: its entities say so, its connectivity is off
        s = await states(ha, hh)
        return s["stage"]["state"] == "unavailable" and s["agent"]["state"] == "off"

    await until(unavailable, "Home Assistant to see the agent go")


async def settle_and_tell(
    stack: Stack, mqtt_url: str, hh: str, event_id: str, at: datetime
) -> SettlementRecord:
    """The event delivered (0.3 kWh in its half-hour), settled, and the household's agent told."""
    await stack.clock.advance((at + timedelta(hours=2) - stack.clock.now()).total_seconds())
    await stack.meter_day(hh, at, event_kwh=0.3)
    [record] = await settle_event(stack.storage, event_id, stack.clock.now())
    async with MqttSession(mqtt_url, f"vtn-payments-{hh}") as vtn:

        async def publish(topic: str, payload: bytes) -> None:
            await vtn.publish(topic, payload, retain=True)

        await notify_payments(stack.storage, publish, [hh], stack.clock.now())
    return record


def device_id(ha: HomeAssistant, hh: str) -> str:
    """The id HA gave the household's device (its template API answers in plain text)."""
    body = json.dumps({"template": f"{{{{ device_id('{ids(hh)['stage']}') }}}}"}).encode()
    headers = {"Authorization": f"Bearer {ha.token}", "Content-Type": "application/json"}
    req = urllib.request.Request(f"{ha.url}/api/template", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=30) as answer:
        return answer.read().decode().strip()


def finish_onboarding(ha: HomeAssistant) -> None:
    """The harness onboards the owner only; the UI wants the remaining steps done (each once)."""
    steps = {
        "core_config": {},
        "analytics": {},
        "integration": {"client_id": f"{ha.url}/", "redirect_uri": f"{ha.url}/?auth_callback=1"},
    }
    for step, body in steps.items():
        with contextlib.suppress(urllib.error.HTTPError):  # 403: done already
            ha.request("POST", f"/api/onboarding/{step}", body)


async def screenshot(ha: HomeAssistant, hh: str, path: str) -> None:
    """HA's own page of the household's device, logged in as the test owner."""
    from playwright.async_api import async_playwright

    device = await asyncio.to_thread(device_id, ha, hh)
    await asyncio.to_thread(finish_onboarding, ha)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM)
        page = await browser.new_page(viewport={"width": 1280, "height": 1000})
        await page.goto(f"{ha.url}/config/devices/device/{device}")
        await page.get_by_label("Username").fill("owner")
        await page.get_by_label("Password", exact=True).fill("homeflex-test-pw")
        await page.keyboard.press("Enter")
        await page.get_by_text("Skip next event").first.wait_for(timeout=60_000)
        await asyncio.sleep(2)  # let the cards settle (icons, history)
        await page.screenshot(path=path, full_page=True)
        await browser.close()
