"""No secrets in logs or error messages: URLs carrying a password are shown without it."""

from __future__ import annotations

import logging

import pytest

from homeflex.core.redact import redact_url
from homeflex.mqtt.broker import mqtt_broker
from homeflex.storage import open_storage


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mqtt://hh001:pa55@127.0.0.1:1883", "mqtt://hh001:***@127.0.0.1:1883"),
        ("postgresql://app:s3cret@db:5432/homeflex", "postgresql://app:***@db:5432/homeflex"),
        ("mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1883"),
        ("sqlite:///data/homeflex.db", "sqlite:///data/homeflex.db"),
        ("mqtt://:only@host", "mqtt://:***@host"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


async def test_broker_url_is_logged_without_its_password(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        async with mqtt_broker("mqtt://svc-telemetry:t0p-secret@127.0.0.1:1883") as url:
            assert "t0p-secret" in url  # the clients still get it
    assert "t0p-secret" not in caplog.text
    assert "svc-telemetry:***@127.0.0.1" in caplog.text


async def test_bad_database_url_error_hides_the_password() -> None:
    with pytest.raises(ValueError, match="unsupported database URL") as err:
        await open_storage("postgress://app:s3cret@db/homeflex")
    assert "s3cret" not in str(err.value)
