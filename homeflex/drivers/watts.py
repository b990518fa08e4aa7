"""The one-setting commands of the drivers that take a power (SunSpec, S2): ``{key: W | None}``."""

from __future__ import annotations

import math

from homeflex.drivers import DeviceLink, DeviceRefused, Settings


def watts_setting(link: DeviceLink, key: str, settings: Settings, protocol: str) -> float | None:
    """The W of ``settings[key]`` (None: back to the device's own behaviour); anything else is
    DeviceRefused, said with what the driver takes."""
    if set(settings) != {key}:
        got = sorted(settings)
        raise DeviceRefused(f"{link.name}: a {protocol} {link.kind} takes only {key!r}, got {got}")
    value = settings[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DeviceRefused(f"{link.name}: {key} must be a number of W or null, got {value!r}")
    return float(value)
