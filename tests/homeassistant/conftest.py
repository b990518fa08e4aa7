"""The real Home Assistant of tests/homeassistant/harness.py, for tests marked ``homeassistant``."""

from __future__ import annotations

import asyncio

import pytest

from tests.homeassistant.harness import HomeAssistant, shared


@pytest.fixture(scope="session")
def home_assistant() -> HomeAssistant:
    """One Home Assistant for the session (started on first use, stopped at exit); skips saying why when
    it cannot run here. ``home_assistant.enable_mqtt(host, port)`` sets up its MQTT integration."""
    return shared()


@pytest.fixture
async def ha(home_assistant: HomeAssistant) -> HomeAssistant:
    """Home Assistant with its test household as configured (a test before may have moved it)."""
    await asyncio.to_thread(home_assistant.reset)
    return home_assistant
