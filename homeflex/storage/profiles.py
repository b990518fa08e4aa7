"""Stage-1 household profiles in shared SQL: versions numbered atomically, kept forever, never edited."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from homeflex.storage.errors import CorruptRecordError
from homeflex.storage.records import ProfileRecord, ProfileVersion
from homeflex.storage.sql import Row, SqlRepository

VERSION_COLUMNS = "household_id, version, as_of, learned_at, ready, reasons"


class ProfileStore(Protocol):
    async def save_profile(
        self,
        household_id: str,
        *,
        as_of: datetime,
        learned_at: datetime,
        ready: bool,
        reasons: Sequence[str],
        profile: Mapping[str, Any],
    ) -> ProfileRecord:
        """Store the household's next profile version (1, 2, ...), numbered atomically even with
        concurrent writers; a stored version is never overwritten or edited. The stored document is
        `profile` with its "version" set to that number. LookupError if the household is unknown."""

    async def latest_profile(self, household_id: str) -> ProfileRecord | None:
        """The household's newest profile version, or None. CorruptRecordError if it cannot be read."""

    async def profile_versions(self, household_id: str) -> list[ProfileVersion]:
        """Every profile version's metadata (no document), oldest first."""


class SqlProfiles(SqlRepository):
    async def save_profile(
        self,
        household_id: str,
        *,
        as_of: datetime,
        learned_at: datetime,
        ready: bool,
        reasons: Sequence[str],
        profile: Mapping[str, Any],
    ) -> ProfileRecord:
        async with self.db.transaction() as tx:
            # Lock the household's row until commit: concurrent saves for one household take turns,
            # so each reads the maximum the previous one wrote (SQLite transactions are serial anyway).
            if not await tx.fetch(
                "UPDATE households SET group_name=group_name WHERE id=? RETURNING id", (household_id,)
            ):
                raise LookupError(f"unknown household {household_id!r}")
            rows = await tx.fetch(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM profiles WHERE household_id=?", (household_id,)
            )
            version = int(rows[0][0])
            record = ProfileRecord(
                household_id=household_id,
                version=version,
                as_of=as_of,
                learned_at=learned_at,
                ready=ready,
                reasons=tuple(reasons),
                profile={**profile, "version": version},
            )
            await tx.execute(
                f"INSERT INTO profiles ({VERSION_COLUMNS}, profile) VALUES (?,?,?,?,?,?,?)",
                (
                    household_id,
                    record.version,
                    self.db.time(as_of),
                    self.db.time(learned_at),
                    self.db.flag(ready),
                    json.dumps(list(record.reasons)),
                    json.dumps(record.profile),
                ),
            )
        return record

    async def latest_profile(self, household_id: str) -> ProfileRecord | None:
        rows = await self.db.fetch(
            f"SELECT {VERSION_COLUMNS}, profile FROM profiles WHERE household_id=?"
            " ORDER BY version DESC LIMIT 1",
            (household_id,),
        )
        if not rows:
            return None
        meta = self._profile_version(rows[0])
        profile = _decode(rows[0]["profile"], dict, meta, "profile")
        return ProfileRecord(**vars(meta), profile=profile)

    async def profile_versions(self, household_id: str) -> list[ProfileVersion]:
        rows = await self.db.fetch(
            f"SELECT {VERSION_COLUMNS} FROM profiles WHERE household_id=? ORDER BY version", (household_id,)
        )
        return [self._profile_version(r) for r in rows]

    def _profile_version(self, r: Row) -> ProfileVersion:
        meta = ProfileVersion(
            household_id=r["household_id"],
            version=r["version"],
            as_of=self.db.read_time(r["as_of"]),
            learned_at=self.db.read_time(r["learned_at"]),
            ready=bool(r["ready"]),
            reasons=(),
        )
        reasons = _decode(r["reasons"], list, meta, "reasons")
        if not all(isinstance(reason, str) for reason in reasons):
            raise _corrupt(meta, "reasons", "not a list of strings")
        return replace(meta, reasons=tuple(reasons))


def _decode(text: str, kind: type, meta: ProfileVersion, column: str) -> Any:
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as err:
        raise _corrupt(meta, column, f"not valid JSON ({err})") from err
    if not isinstance(value, kind):
        raise _corrupt(meta, column, f"a JSON {type(value).__name__}, not a {kind.__name__}")
    return value


def _corrupt(meta: ProfileVersion, column: str, why: str) -> CorruptRecordError:
    return CorruptRecordError(
        f"stored profile of household {meta.household_id!r} version {meta.version} is corrupt:"
        f" its {column} is {why}"
    )
