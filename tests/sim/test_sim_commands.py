from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from homeflex.sim.commands import CommandRejected, ack, parse_command


def test_a_full_command_parses() -> None:
    command = parse_command(b'{"id": "c1", "set": {"max_power_w": 0}, "expires_at": "2026-11-24T18:00:00Z"}')
    assert command.id == "c1"
    assert command.set == {"max_power_w": 0}
    assert command.expires_at == datetime(2026, 11, 24, 18, tzinfo=UTC)
    assert parse_command(b'{"id": "c2", "set": {"on": null}}').expires_at is None


@pytest.mark.parametrize(
    ("payload", "command_id", "message"),
    [
        (b"{not json", None, "malformed JSON"),
        (b"\xff\xfe", None, "malformed JSON"),
        (b"[1, 2]", None, "must be a JSON object"),
        (b'{"set": {}}', None, "missing or empty command id"),
        (b'{"id": 7, "set": {}}', None, "missing or empty command id"),
        (b'{"id": "c1"}', "c1", '"set" must be an object'),
        (b'{"id": "c1", "set": {}, "expires_at": "tomorrow"}', "c1", "expires_at must be an ISO 8601"),
        (b'{"id": "c1", "set": {}, "expires_at": "2026-11-24T18:00:00"}', "c1", "expires_at must be"),
    ],
)
def test_bad_commands_are_rejected_with_the_id_when_known(
    payload: bytes, command_id: str | None, message: str
) -> None:
    with pytest.raises(CommandRejected, match=re.escape(message)) as err:
        parse_command(payload)
    assert err.value.command_id == command_id


def test_ack_shapes() -> None:
    assert ack("c1") == {"id": "c1", "ok": True}
    assert ack(None, "bad") == {"id": None, "ok": False, "error": "bad"}
