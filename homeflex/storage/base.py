"""The whole storage interface, for wiring: every context's repository protocol in one. A consumer
types against the narrow protocol it needs (e.g. the ingest a ReadingStore, the VTN's poll an
EventStore and a DeliveryStore); construction goes through `open_storage`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from homeflex.storage.aggregators import AggregatorStore
from homeflex.storage.configs import ConfigStore
from homeflex.storage.deliveries import DeliveryStore
from homeflex.storage.errors import CorruptRecordError, DuplicateKey, OverlappingEventError
from homeflex.storage.events import EventStore
from homeflex.storage.households import HouseholdStore
from homeflex.storage.oadr3 import Oadr3Store
from homeflex.storage.portal import PortalStore
from homeflex.storage.profiles import ProfileStore
from homeflex.storage.programmes import ProgrammeStore
from homeflex.storage.readings import ReadingStore
from homeflex.storage.reports import ReportStore
from homeflex.storage.settlement import SettlementStore

__all__ = ["CorruptRecordError", "DuplicateKey", "OverlappingEventError", "Storage"]


class Storage(
    HouseholdStore,
    EventStore,
    DeliveryStore,
    ReportStore,
    ReadingStore,
    SettlementStore,
    ProgrammeStore,
    ProfileStore,
    ConfigStore,
    Oadr3Store,
    AggregatorStore,
    Protocol,
):
    """Times are aware datetimes (UTC); money is decimal strings; energy kWh, power kW or W as named."""

    @property
    def portal(self) -> PortalStore:
        """The portal's repository (its own tables), on the same database."""

    async def close(self) -> None:
        """Release the connection (or pool)."""

    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied now."""

    async def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """For tests and diagnostics only: SQL and placeholders in the backend's own dialect."""
