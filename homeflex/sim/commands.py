"""Device commands on MQTT, parsed at the boundary: {"id", "set": {key: value|null}, "expires_at"}."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from homeflex.core.timeutil import parse_utc


class CommandRejected(ValueError):
    """A command the device refuses; `command_id` is None when the payload did not carry a usable id."""

    def __init__(self, message: str, command_id: str | None = None) -> None:
        super().__init__(message)
        self.command_id = command_id


@dataclass(frozen=True, kw_only=True)
class Command:
    id: str
    set: dict[str, object]
    expires_at: datetime | None


def parse_command(payload: bytes) -> Command:
    """The command in `payload`; CommandRejected with a clear message otherwise. Extra keys are ignored."""
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as err:
        raise CommandRejected(f"malformed JSON: {err}") from None
    if not isinstance(body, dict):
        raise CommandRejected("a command must be a JSON object")
    command_id = body.get("id")
    if not isinstance(command_id, str) or not command_id:
        raise CommandRejected("missing or empty command id")
    settings = body.get("set")
    if not isinstance(settings, dict):
        raise CommandRejected('"set" must be an object of settings', command_id)
    expires = body.get("expires_at")
    if expires is None:
        return Command(id=command_id, set=settings, expires_at=None)
    try:
        if not isinstance(expires, str):
            raise TypeError(expires)
        expires_at = parse_utc(expires)
    except (TypeError, ValueError):
        message = f"expires_at must be an ISO 8601 time with an offset, got {expires!r}"
        raise CommandRejected(message, command_id) from None
    return Command(id=command_id, set=settings, expires_at=expires_at)


def ack(command_id: str | None, error: str | None = None) -> dict[str, object]:
    if error is None:
        return {"id": command_id, "ok": True}
    return {"id": command_id, "ok": False, "error": error}
