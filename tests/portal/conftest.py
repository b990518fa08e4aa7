"""Portal fixtures: a real VTN (openleadr + operator API) and the portal on free loopback ports, on a
fresh SQLite database, sharing one manual clock; helpers to walk a customer along the journey."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from homeflex.core import topics
from homeflex.core.clock import ManualClock, WallClock
from homeflex.metering.importer import import_intervals
from homeflex.mqtt import MqttSession
from homeflex.portal.actions import Portal
from homeflex.portal.journey import Role
from homeflex.portal.service import PortalService
from homeflex.settlement.settler import settle_event
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import SettlementRecord
from homeflex.vtn.service import VtnService

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday
OPERATOR = ("operator@example.org", "operator-password-1")
INSTALLER = ("installer@example.org", "installer-password-1")
HISTORY_START = NOW - timedelta(days=28)
HISTORY_END = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


def event_day() -> datetime:
    """Midnight UTC of the next weekday after today's (wall) date: openleadr's VEN judges whether an
    event is over by the wall clock, so tests with a real VEN put their events in the real future.
    Always after NOW, so the stack's manual clock can be advanced to it."""
    day = WallClock().now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return max(day, NOW.replace(hour=0) + timedelta(days=1))


def kwh_at(t: datetime) -> float:
    """A household using more in the evening peak (17:00-19:00 UTC)."""
    return 1.2 if 17 <= t.hour < 19 else 0.4


def history_csv(start: datetime = HISTORY_START, end: datetime = HISTORY_END) -> str:
    rows, t = ["start,value"], start
    while t < end:
        rows.append(f"{t:%Y-%m-%d %H:%M:%S},{kwh_at(t)}")
        t += timedelta(minutes=30)
    return "\n".join(rows) + "\n"


def history_kwh(start: datetime = HISTORY_START, end: datetime = HISTORY_END) -> float:
    total, t = 0.0, start
    while t < end:
        total += kwh_at(t)
        t += timedelta(minutes=30)
    return total


@dataclass
class Stack:
    portal_url: str
    vtn_url: str
    openadr_url: str
    portal: Portal
    storage: SQLiteStorage
    clock: ManualClock

    async def meter_day(self, household_id: str, event_start: datetime, event_kwh: float) -> None:
        """The household's meter for the event day (as telemetry stores it): the registers carry on
        from the uploaded history; the event's half-hours use `event_kwh`."""
        rows, t = ["start,value"], HISTORY_END
        end = event_start + timedelta(hours=2)
        while t < end:
            in_event = event_start <= t < event_start + timedelta(minutes=30)
            rows.append(f"{t:%Y-%m-%d %H:%M:%S},{event_kwh if in_event else kwh_at(t)}")
            t += timedelta(minutes=30)
        result = import_intervals(
            household_id,
            "\n".join(rows) + "\n",
            received_at=self.clock.now(),
            start_register_wh=history_kwh() * 1000,
        )
        assert not result.rejected
        await self.storage.insert_readings(result.readings, self.clock.now())


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    storage = await SQLiteStorage.open(tmp_path / "portal.db")
    clock = ManualClock(NOW)

    async def settle(event_id: str) -> list[SettlementRecord]:
        return await settle_event(storage, event_id, clock.now())

    try:
        async with (
            # VENs poll twice a second, so tests with a real VEN see its answers quickly.
            VtnService(
                storage,
                clock,
                settle,
                port=0,
                poll_interval=timedelta(seconds=0.5),
                report_interval=timedelta(seconds=1),
            ) as vtn,
            PortalService(storage, clock, vtn.url, port=0) as service,
        ):
            await service.portal.create_account(OPERATOR[0], Role.OPERATOR, OPERATOR[1])
            await service.portal.create_account(INSTALLER[0], Role.INSTALLER, INSTALLER[1])
            yield Stack(
                portal_url=service.url,
                vtn_url=vtn.url,
                openadr_url=vtn.openadr_url,
                portal=service.portal,
                storage=storage,
                clock=clock,
            )
    finally:
        await storage.close()


@pytest.fixture
async def cleared(mqtt_url: str) -> AsyncIterator[list[str]]:
    """Households whose retained configuration is cleared at the end (the broker may be shared)."""
    households: list[str] = []
    yield households
    async with MqttSession(mqtt_url, "clear-configs") as s:
        for hh in households:
            await s.publish(topics.config(hh), b"", retain=True)
