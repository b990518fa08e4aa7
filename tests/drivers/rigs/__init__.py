"""Rigs for the driver contract test: each wires one protocol's driver to the simulator of a device that
speaks that protocol, on the real broker (and, for OCPP, a real central system). One module per protocol
defines ``RIG``; the contract test (tests/drivers/test_contract.py) runs every rig found here."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from homeflex.core.clock import Clock
from homeflex.drivers import Driver, Settings
from homeflex.sim.household import SimHousehold


@dataclass
class Seen:
    """What the driver told the household agent."""

    states: list[dict[str, Any]] = field(default_factory=list)
    availability: list[tuple[bool, str]] = field(default_factory=list)

    def report(self, _device: str, state: dict[str, Any]) -> None:
        self.states.append(dict(state))

    def available(self, _device: str, up: bool, why: str) -> None:
        self.availability.append((up, why))


@dataclass
class Running:
    """A rig in use: the driver (started), the simulated household behind the device, and the levers a
    test pulls on the device's side."""

    driver: Driver
    household: SimHousehold  # the device's side (for Home Assistant: a mirror of the entity's state)
    device_id: str
    seen: Seen
    device_down: Callable[[], AbstractAsyncContextManager[None]]  # the device is gone while inside
    garbage: Callable[[], Any]  # coroutine function: the device (or someone on its topics) sends junk


@dataclass(frozen=True)
class Rig:
    protocol: str
    command: Settings  # a command the device accepts
    in_force: Callable[[SimHousehold], bool]  # the command is what the device does now
    own: Callable[[SimHousehold], bool]  # the device is back to its own behaviour
    refused: Settings | None  # a command the device refuses (None: nothing in the protocol refuses)
    read_back: Callable[[dict[str, Any]], bool]  # a reported state shows the command in force
    start: Callable[[str, str, Clock], AbstractAsyncContextManager[Running]]  # (mqtt_url, uid, clock)
    marks: tuple[Any, ...] = ()  # pytest marks of the rig's cases (a real Home Assistant: homeassistant)


def all_rigs() -> list[Rig]:
    rigs = []
    for module in pkgutil.iter_modules(__path__):
        rig = getattr(importlib.import_module(f"{__name__}.{module.name}"), "RIG", None)
        if isinstance(rig, Rig):
            rigs.append(rig)
    return sorted(rigs, key=lambda r: r.protocol)
