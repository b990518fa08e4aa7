"""Device adapters, one per file, found through a registry by device kind (evcc-style).

An adapter turns the household's schedule into its device's settings for one step, says what its
default behaviour is, and how much its settings let it draw (for the household's import limit).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from homeflex.core.domain import DeviceKind, DeviceSpec, HouseholdSpec
from homeflex.core.registry import Registry

if TYPE_CHECKING:
    from homeflex.control.schedule import Schedule

Settings = dict[str, Any]  # a command's "set" object; None for a key means "back to default"
States = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Step:
    """What an adapter may look at to set its device for step ``t`` of an optimal schedule."""

    household: HouseholdSpec
    schedule: Schedule
    t: int
    states: States
    capped: bool = False  # a DSO cap applies in this step
    shed_plugs: bool = False  # an accepted event is on: switch off sheddable loads
    elapsed: float = 0.0  # fraction of step ``t`` already gone (0..1), for duty cycles within a step


class DeviceAdapter(Protocol):
    spec: DeviceSpec

    def default(self) -> Settings:
        """Settings that return the device to its own behaviour."""
        ...

    def setpoint(self, step: Step) -> Settings:
        """Settings for ``step`` (the device's default when the schedule does not manage it)."""
        ...

    def max_draw_w(self, settings: Settings) -> float:
        """The most the device may consume under ``settings`` (W)."""
        ...


@runtime_checkable
class DutyCycled(Protocol):
    """An adapter whose settings change within a step (e.g. a heat pump run for part of it)."""

    def changes_at(self, step: Step) -> float | None:
        """The fraction of ``step`` (after ``step.elapsed``) at which its settings next change, or None."""
        ...


Factory = Callable[[DeviceSpec], DeviceAdapter]
ADAPTERS: Registry[Factory] = Registry(
    "device kind",
    builtin=(
        "homeflex.control.devices.battery",
        "homeflex.control.devices.ev_charger",
        "homeflex.control.devices.heat_pump",
        "homeflex.control.devices.pv_inverter",
        "homeflex.control.devices.smart_plug",
    ),
)
register = ADAPTERS.register


@functools.lru_cache(maxsize=4096)
def adapter_for(spec: DeviceSpec) -> DeviceAdapter:
    """The adapter for ``spec`` (adapters hold only their spec: one per spec, cached: adapters are
    looked up on every control tick)."""
    return ADAPTERS.get(spec.kind)(spec)


def registered_kinds() -> list[DeviceKind]:
    return [DeviceKind(name) for name in ADAPTERS.names()]


def number(state: Mapping[str, Any] | None, key: str) -> float | None:
    value = None if state is None else state.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
