"""Shared fixtures: the real Mosquitto broker and a real SQLite database per test."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from homeflex.mqtt.broker import mqtt_broker
from homeflex.storage import SQLiteStorage, Storage
from tests.storage.conftest import new_schema, open_postgres


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def system_mqtt() -> str | None:
    """Mosquitto on 127.0.0.1:1883 where it runs (as on CI)."""
    return "mqtt://127.0.0.1:1883" if _listening(1883) else None


@pytest.fixture
async def mqtt_url(system_mqtt: str | None) -> AsyncIterator[str]:
    """Real Mosquitto: the system one, else a private one on a free port. Never the embedded broker."""
    if system_mqtt:
        yield system_mqtt
        return
    async with _own_mosquitto("no mosquitto is running or installed") as url:
        yield url


@pytest.fixture
async def private_mqtt_url() -> AsyncIterator[str]:
    """A Mosquitto of this test's own, on a free port: for tests that subscribe to every household's
    topics (wildcards) and count what arrives, which another run on the shared broker would disturb."""
    async with _own_mosquitto("mosquitto is not installed") as url:
        yield url


@asynccontextmanager
async def _own_mosquitto(missing: str) -> AsyncIterator[str]:
    """A Mosquitto started for this test on a free port (fails under HOMEFLEX_REQUIRE_SERVICES=1
    without one, else skips)."""
    from homeflex.mqtt.broker import find_mosquitto

    if not find_mosquitto():
        if os.environ.get("HOMEFLEX_REQUIRE_SERVICES") == "1":
            pytest.fail(f"HOMEFLEX_REQUIRE_SERVICES=1 but {missing}")
        pytest.skip("no mosquitto on this machine")
    async with mqtt_broker(None) as url:
        yield url


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    s = await SQLiteStorage.open(tmp_path / "homeflex.db")
    yield s
    await s.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """A fresh SQLite file, then a fresh PostgreSQL schema (skipped or failed as open_postgres says)."""
    if request.param == "sqlite":
        lite = await SQLiteStorage.open(tmp_path / "homeflex.db")
        yield lite
        await lite.close()
        return
    pg = await open_postgres(new_schema())
    try:
        yield pg
    finally:
        await pg.drop_schema()
        await pg.close()


@pytest.fixture
def uid() -> str:
    """A suffix that keeps this test's households and topics apart from every other test's."""
    return uuid.uuid4().hex[:8]


@pytest.hookimpl(trylast=True)  # after `-m` deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Build Home Assistant's venv before the first test that needs it: a cold build takes minutes, more
    than one test's timeout (tests/homeassistant/harness.py; a failure is said by those tests)."""
    if any(item.get_closest_marker("homeassistant") for item in items):
        from tests.homeassistant.harness import prepare

        prepare()
