"""Device adapters, one per file, found through a registry by device kind (evcc-style)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from homeflex.core.domain import DeviceKind, DeviceSpec

Settings = dict[str, Any]  # a command's "set" object; None for a key means "back to default"


@dataclass(frozen=True, kw_only=True)
class Curtailment:
    """What one device can shed now, and the settings that shed it."""

    device_id: str
    reduction_w: float
    settings: Settings


class FlexAdapter(Protocol):
    """How the platform asks one kind of device to import less, and to go back to normal."""

    spec: DeviceSpec
    affects_heating: bool  # protected for vulnerable households

    def curtail(self, state: dict[str, Any], need_w: float) -> Curtailment | None:
        """Settings that reduce import by up to `need_w` given the device's last state, or None."""
        ...

    def restore(self) -> Settings:
        """Settings that return the device to its default behaviour."""
        ...


Factory = Callable[[DeviceSpec], FlexAdapter]
_REGISTRY: dict[DeviceKind, Factory] = {}


def register(kind: DeviceKind) -> Callable[[Factory], Factory]:
    def add(factory: Factory) -> Factory:
        if kind in _REGISTRY:
            raise ValueError(f"a flex adapter for {kind} is already registered")
        _REGISTRY[kind] = factory
        return factory

    return add


def adapter_for(spec: DeviceSpec) -> FlexAdapter:
    _load_builtin()
    try:
        return _REGISTRY[spec.kind](spec)
    except KeyError:
        valid = ", ".join(sorted(k.value for k in _REGISTRY))
        raise ValueError(f"no flex adapter for device kind {spec.kind!r}; known: {valid}") from None


def registered_kinds() -> list[DeviceKind]:
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    # Importing the modules registers them; one file per device kind.
    from homeflex.control.devices import battery, ev_charger, heat_pump, pv_inverter, smart_plug  # noqa: F401


def power_w(state: dict[str, Any]) -> float:
    value = state.get("power_w", 0.0)
    return float(value) if isinstance(value, int | float) else 0.0
