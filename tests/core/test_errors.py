"""Every classified error says whether to retry: transient (no answer, retry with backoff) or permanent
(a refusal or a configuration that cannot work), never both."""

from __future__ import annotations

import pytest

from homeflex.core.errors import HomeflexError, Permanent, Transient
from homeflex.core.strict import ConfigError, from_mapping
from homeflex.drivers import DeviceError, DeviceRefused, DeviceUnreachable
from homeflex.mqtt import MqttUnavailable
from homeflex.mqtt.session import MqttEndpoint
from homeflex.storage.errors import CorruptRecordError, DuplicateKey, OverlappingEventError


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (DeviceUnreachable, Transient),
        (MqttUnavailable, Transient),
        (DeviceRefused, Permanent),
        (ConfigError, Permanent),
        (DuplicateKey, Permanent),
        (OverlappingEventError, Permanent),
        (CorruptRecordError, Permanent),
    ],
)
def test_each_boundary_error_is_transient_or_permanent(error: type[Exception], kind: type[Exception]) -> None:
    other = Permanent if kind is Transient else Transient
    assert issubclass(error, kind) and issubclass(error, HomeflexError)
    assert not issubclass(error, other)


@pytest.mark.parametrize("error", [DeviceUnreachable, DeviceRefused])
def test_a_device_errors_transient_flag_agrees_with_its_class(error: type[DeviceError]) -> None:
    assert error("x").transient == isinstance(error("x"), Transient)


def test_a_bad_configuration_is_still_a_value_error_and_permanent() -> None:
    with pytest.raises(ValueError, match="unknown keys") as err:
        from_mapping(MqttEndpoint, {"host": "h", "port": 1, "hots": "x"}, "mqtt")
    assert isinstance(err.value, Permanent) and err.value.field == "mqtt"
