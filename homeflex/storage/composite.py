"""SqlStorage: every context's repository over one Database, for wiring (homeflex.storage.base.Storage).
Each repository keeps only its own tables and depends on nothing but the Database, so one can also be
built alone: `SqlReadings(db)`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from homeflex.storage.aggregators import SqlAggregators
from homeflex.storage.configs import SqlConfigs
from homeflex.storage.deliveries import SqlDeliveries
from homeflex.storage.events import SqlEvents
from homeflex.storage.households import SqlHouseholds
from homeflex.storage.oadr3 import SqlOadr3
from homeflex.storage.portal import PortalStore
from homeflex.storage.profiles import SqlProfiles
from homeflex.storage.programmes import SqlProgrammes
from homeflex.storage.readings import SqlReadings
from homeflex.storage.reports import SqlReports
from homeflex.storage.settlement import SqlSettlements


class SqlStorage(
    SqlHouseholds,
    SqlEvents,
    SqlDeliveries,
    SqlReports,
    SqlReadings,
    SqlSettlements,
    SqlProgrammes,
    SqlProfiles,
    SqlConfigs,
    SqlOadr3,
    SqlAggregators,
):
    """The repositories above on one Database (self.db); a test in tests/storage holds that no two of
    them define the same name, so nothing here is overridden by accident."""

    @property
    def portal(self) -> PortalStore:
        """The portal's repository, on the same database (it shares its transactions)."""
        return PortalStore(self.db)

    async def close(self) -> None:
        await self.db.close()

    async def migrate(self) -> list[int]:
        return await self.db.migrate()

    async def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self.db.execute_raw(sql, params)


REPOSITORIES: tuple[type, ...] = SqlStorage.__bases__
