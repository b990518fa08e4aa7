"""Device settings described as data: a table of settable points, validated once at the boundary.

A value of None means "the device's default behaviour" for that key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from homeflex.core.domain import DeviceKind

Value = float | bool | None


@dataclass(frozen=True)
class NumberSetting:
    key: str
    low: float
    high: float
    unit: str

    def parse(self, value: object) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{self.key} must be a number in {self.unit} or null, got {value!r}")
        if not self.low <= value <= self.high:
            raise ValueError(
                f"{self.key} must be between {self.low:g} and {self.high:g} {self.unit}, got {value:g}"
            )
        return float(value)


@dataclass(frozen=True)
class SwitchSetting:
    key: str

    def parse(self, value: object) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        raise ValueError(f"{self.key} must be true, false or null, got {value!r}")


Setting = NumberSetting | SwitchSetting


class Settings:
    """Current values of a device's settings; every key starts at None (default behaviour)."""

    def __init__(self, table: Sequence[Setting]) -> None:
        self.table = {s.key: s for s in table}
        self.values: dict[str, Value] = dict.fromkeys(self.table)

    def validate(self, changes: Mapping[str, object]) -> dict[str, Value]:
        """Parsed `changes`; ValueError naming the key for an unknown key or a bad value."""
        parsed: dict[str, Value] = {}
        for key, value in changes.items():
            setting = self.table.get(key)
            if setting is None:
                valid = ", ".join(self.table) or "none"
                raise ValueError(f"unknown setting {key!r} (valid: {valid})")
            parsed[key] = setting.parse(value)
        return parsed

    def number(self, key: str) -> float | None:
        value = self.values[key]
        return None if value is None else float(value)

    def switch(self, key: str) -> bool | None:
        value = self.values[key]
        return None if value is None else bool(value)


class DeviceModel:
    """What the household needs from every controllable model besides its kind-specific `step`."""

    kind: ClassVar[DeviceKind]

    def __init__(self, table: Sequence[Setting]) -> None:
        self.settings = Settings(table)
        self.power_w = 0.0  # AC power over the last step, + consumption

    def apply(self, values: Mapping[str, Value], now: datetime | None) -> None:
        """Apply already validated values; `now` is when the command arrived (None: at the next step)."""
        self.settings.values.update(values)

    def state(self) -> dict[str, object]:
        """Kind-specific state fields, JSON-able."""
        return {}
