"""Household configuration versions in shared SQL (migration 0010): numbered atomically per household,
kept, never edited. The document is stored as the portal validated it; storage does not interpret it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from homeflex.storage.errors import CorruptRecordError
from homeflex.storage.records import ConfigRecord, ConfigVersion
from homeflex.storage.sql import Row, SqlRepository

COLUMNS = "household_id, version, saved_at, actor"


class ConfigStore(Protocol):
    """Household configurations (homeflex.household: the portal's profile writes them)."""

    async def save_household_config(
        self, household_id: str, document: Mapping[str, Any], *, saved_at: datetime, actor: str
    ) -> ConfigRecord:
        """Store the household's next configuration version (1, 2, ...), numbered atomically even with
        concurrent writers; the stored document is `document` with its "version" set to that number.
        LookupError if the household is unknown."""

    async def discard_household_config(self, household_id: str, version: int) -> bool:
        """Undo save_household_config when what it saved could not be sent (the version must still be
        the household's newest); False if it was not."""

    async def latest_household_config(self, household_id: str) -> ConfigRecord | None:
        """The household's newest configuration, or None. CorruptRecordError if it cannot be read."""

    async def household_config_versions(self, household_id: str) -> list[ConfigVersion]:
        """Every configuration version's metadata (no document), oldest first."""


class SqlConfigs(SqlRepository):
    async def save_household_config(
        self, household_id: str, document: Mapping[str, Any], *, saved_at: datetime, actor: str
    ) -> ConfigRecord:
        async with self.db.transaction() as tx:
            # Lock the household's row until commit, so concurrent saves take turns (as save_profile).
            if not await tx.fetch(
                "UPDATE households SET group_name=group_name WHERE id=? RETURNING id", (household_id,)
            ):
                raise LookupError(f"unknown household {household_id!r}")
            rows = await tx.fetch(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM household_configs WHERE household_id=?",
                (household_id,),
            )
            version = int(rows[0][0])
            record = ConfigRecord(
                household_id=household_id,
                version=version,
                saved_at=saved_at,
                actor=actor,
                document={**document, "version": version},
            )
            await tx.execute(
                f"INSERT INTO household_configs ({COLUMNS}, document) VALUES (?,?,?,?,?)",
                (household_id, version, self.db.time(saved_at), actor, json.dumps(record.document)),
            )
        return record

    async def discard_household_config(self, household_id: str, version: int) -> bool:
        changed = await self.db.execute(
            "DELETE FROM household_configs WHERE household_id=? AND version=? AND version ="
            " (SELECT MAX(version) FROM household_configs WHERE household_id=?)",
            (household_id, version, household_id),
        )
        return changed == 1

    async def latest_household_config(self, household_id: str) -> ConfigRecord | None:
        rows = await self.db.fetch(
            f"SELECT {COLUMNS}, document FROM household_configs WHERE household_id=?"
            " ORDER BY version DESC LIMIT 1",
            (household_id,),
        )
        if not rows:
            return None
        meta = self._config_version(rows[0])
        try:
            document = json.loads(rows[0]["document"])
        except (TypeError, ValueError) as err:
            raise _corrupt(meta, f"not valid JSON ({err})") from err
        if not isinstance(document, dict):
            raise _corrupt(meta, f"a JSON {type(document).__name__}, not an object")
        return ConfigRecord(**vars(meta), document=document)

    async def household_config_versions(self, household_id: str) -> list[ConfigVersion]:
        rows = await self.db.fetch(
            f"SELECT {COLUMNS} FROM household_configs WHERE household_id=? ORDER BY version",
            (household_id,),
        )
        return [self._config_version(r) for r in rows]

    def _config_version(self, r: Row) -> ConfigVersion:
        return ConfigVersion(
            household_id=r["household_id"],
            version=r["version"],
            saved_at=self.db.read_time(r["saved_at"]),
            actor=r["actor"],
        )


def _corrupt(meta: ConfigVersion, why: str) -> CorruptRecordError:
    return CorruptRecordError(
        f"stored configuration of household {meta.household_id!r} version {meta.version} is corrupt:"
        f" its document is {why}"
    )
