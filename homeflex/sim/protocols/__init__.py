"""What each simulated device speaks: one module per protocol, found by protocol name. A simulated device
speaks exactly what the real product speaks (its topics, payloads, or OCPP as a charge point), and knows
nothing of homeflex's drivers or control loop.

An endpoint is an async context manager built as
``factory(household, device_id, clock, mqtt_url, options, step_s=...)``; ``options`` is the device's
wiring: its address in that protocol (the same table the household's configuration holds) and, for a
device that connects to a server (an OCPP charge point), where that server is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from homeflex.core.clock import Clock
from homeflex.core.registry import Registry
from homeflex.sim.household import SimHousehold


class Endpoint(Protocol):
    async def __aenter__(self) -> Any: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def publish_state(self) -> None:
        """Report the device's state on the protocol's own cadence (called by the simulator's loop)."""
        ...


class EndpointFactory(Protocol):
    def __call__(
        self,
        household: SimHousehold,
        device_id: str,
        clock: Clock,
        mqtt_url: str,
        options: Mapping[str, Any],
        *,
        step_s: float = 10.0,
    ) -> Endpoint: ...


ENDPOINTS: Registry[EndpointFactory] = Registry(
    "simulated device protocol",
    builtin=(
        "homeflex.sim.protocols.homeflex_mqtt",
        "homeflex.sim.protocols.ocpp",
        "homeflex.sim.protocols.s2",
        "homeflex.sim.protocols.shelly",
        "homeflex.sim.protocols.sunspec",
        "homeflex.sim.protocols.tasmota",
        "homeflex.sim.protocols.zigbee2mqtt",
    ),
)
