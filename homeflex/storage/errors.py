"""What storage raises that a caller may act on; a driver's other errors pass unchanged."""

from __future__ import annotations

from homeflex.core.errors import Permanent


class CorruptRecordError(ValueError, Permanent):
    """A stored row cannot be read back (e.g. its JSON is not valid): repair the data, retrying won't help."""


class OverlappingEventError(ValueError, Permanent):
    """A new event would overlap, for some household, an event it is already in: the same energy would
    be baselined and paid twice. Nothing was stored; the message names the households and the event."""


class DuplicateKey(Permanent):
    """A unique key refused the row (the same on SQLite and PostgreSQL): the write changed nothing, and
    retrying it will not help. The driver's error is the cause; `constraint` names the key if known."""

    def __init__(self, message: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint
