"""Simulated Shelly Gen2+ devices on MQTT RPC, as the product speaks it (shelly-api-docs.shelly.cloud
gen2; status shapes as in aioshelly's fixtures of a Plus Plug S and a Pro 3EM):

    <prefix>/rpc  {"id","src","method","params"}  -> <src>/rpc {"id","src","dst","result"|"error"}
    <prefix>/events/rpc  NotifyStatus with the changed keys;  <prefix>/online  true|false (retained, will)

A plug answers Shelly.GetStatus, Switch.GetStatus and Switch.Set (with ``toggle_after``, its own
flip-back timer on the simulation clock). A Pro 3EM meters the whole simulated household (import +):
em:0 ``total_act_power`` W, emdata:0 ``total_act``/``total_act_ret`` Wh; it answers Shelly.GetStatus,
EM.GetStatus and EMData.GetStatus and notifies its status on the meter's cadence.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from homeflex.core.clock import Clock
from homeflex.sim.household import SimHousehold
from homeflex.sim.protocols import ENDPOINTS
from homeflex.sim.protocols.mqtt_plug import REPORT_DELAY_S, VOLTAGE, SimMqttDevice, SimPlug, required_option

log = logging.getLogger(__name__)


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _prefix(options: Mapping[str, Any]) -> str:
    return required_option(options, "topic_prefix", "Shelly")


class ShellyRpcServer(SimMqttDevice):
    """A Shelly's RPC channel: a frame in, a reply frame to ``<src>/rpc``; a frame without ``src`` or
    ``id`` gets no reply, as on the device."""

    methods: dict[str, Callable[[dict[str, Any]], Any]]

    def __init__(self, prefix: str, **kw: Any) -> None:
        super().__init__(
            **kw, client_id=prefix.replace("/", "-"), presence=(f"{prefix}/online", b"true", b"false")
        )
        self.prefix = prefix
        self.session.subscribe(f"{prefix}/rpc", self._on_rpc)

    async def _on_rpc(self, topic: str, payload: bytes) -> None:
        try:
            frame = json.loads(payload)
            request_id, src, method = frame["id"], str(frame["src"]), str(frame["method"])
            params = frame.get("params") or {}
            if not isinstance(params, dict):
                raise TypeError("params must be an object")
        except (ValueError, KeyError, TypeError) as err:
            log.warning("%s: dropped an unreadable RPC frame: %s", self.prefix, err)
            return
        reply: dict[str, Any] = {"id": request_id, "src": self.prefix, "dst": src}
        try:
            handler = self.methods.get(method)
            if handler is None:
                raise RpcError(404, f"No handler for {method}")
            reply["result"] = handler(params)
        except RpcError as err:
            reply["error"] = {"code": err.code, "message": err.message}
        await self.send(f"{src}/rpc", reply)

    async def notify(self, changes: dict[str, Any]) -> None:
        frame = {
            "src": self.prefix,
            "dst": f"{self.prefix}/events",
            "method": "NotifyStatus",
            "params": {"ts": round(self.clock.now().timestamp(), 2), **changes},
        }
        await self.send(f"{self.prefix}/events/rpc", frame)


class ShellyPlugSim(ShellyRpcServer, SimPlug):
    """A Shelly Plus Plug S."""

    def __init__(
        self,
        household: SimHousehold,
        device_id: str,
        clock: Clock,
        mqtt_url: str,
        options: Mapping[str, Any],
        *,
        step_s: float = 10.0,
    ) -> None:
        prefix = _prefix(options)
        super().__init__(
            prefix, household=household, device_id=device_id, clock=clock, mqtt_url=mqtt_url, step_s=step_s
        )
        self.switch_id = int(options.get("switch_id", 0))
        self.component = f"switch:{self.switch_id}"
        self.source = "init"
        self.methods = {
            "Shelly.GetStatus": lambda _: {self.component: self.switch_status(), "sys": self._sys()},
            "Switch.GetStatus": lambda p: self._checked(p) and self.switch_status(),
            "Switch.Set": self._set,
        }

    def _sys(self) -> dict[str, Any]:
        return {"unixtime": int(self.clock.now().timestamp()), "restart_required": False}

    def switch_status(self) -> dict[str, Any]:
        self.household.advance_to(self.clock.now(), self.step_s)
        self.meter()
        power = self.power_w
        return {
            "id": self.switch_id,
            "source": self.source,
            "output": self.on,
            "apower": power,
            "voltage": VOLTAGE,
            "current": round(power / VOLTAGE, 3),
            "aenergy": {"total": round(self.energy_wh, 3), "minute_ts": int(self.clock.now().timestamp())},
            "temperature": {"tC": 32.1, "tF": 89.7},
        }

    def _checked(self, params: dict[str, Any]) -> bool:
        if params.get("id") != self.switch_id:
            raise RpcError(-105, f"Argument 'id', value {params.get('id')} not found!")
        return True

    def _set(self, params: dict[str, Any]) -> dict[str, Any]:
        self._checked(params)
        on, toggle_after = params.get("on"), params.get("toggle_after")
        if not isinstance(on, bool):
            raise RpcError(-103, "Invalid argument 'on': expected boolean!")
        if toggle_after is not None and (
            isinstance(toggle_after, bool) or not isinstance(toggle_after, int | float) or toggle_after <= 0
        ):
            raise RpcError(-103, "Invalid argument 'toggle_after'!")
        self.source = "MQTT"
        was_on = self.switch(on)
        self.timer(toggle_after, lambda: self._flip_back(not on))
        self.spawn(self._notify_switch, REPORT_DELAY_S)  # the reply first: it is on the caller's path
        return {"was_on": was_on}

    async def _flip_back(self, on: bool) -> None:
        self.source = "timer"
        self.switch(on)
        log.info("%s: toggle_after ran out, output %s", self.prefix, on)
        await self._notify_switch()

    async def _notify_switch(self) -> None:
        status = self.switch_status()
        keys = ("id", "source", "output", "apower", "current")
        await self.notify({self.component: {k: status[k] for k in keys}})

    async def publish_state(self) -> None:
        status = self.switch_status()
        keys = ("id", "apower", "voltage", "current", "aenergy")
        await self.notify({self.component: {k: status[k] for k in keys}})


class ShellyPro3EmSim(ShellyRpcServer):
    """A Shelly Pro 3EM at the household's supply (the simulated meter; everything on phase a)."""

    def __init__(
        self,
        household: SimHousehold,
        device_id: str,
        clock: Clock,
        mqtt_url: str,
        options: Mapping[str, Any],
        *,
        step_s: float = 10.0,
    ) -> None:
        super().__init__(
            _prefix(options), household=household, clock=clock, mqtt_url=mqtt_url, step_s=step_s, part="meter"
        )
        self.methods = {
            "Shelly.GetStatus": lambda _: self.status(),
            "EM.GetStatus": lambda p: self._em(p, "em:0"),
            "EMData.GetStatus": lambda p: self._em(p, "emdata:0"),
        }

    def _em(self, params: dict[str, Any], component: str) -> dict[str, Any]:
        if params.get("id") != 0:
            raise RpcError(-105, f"Argument 'id', value {params.get('id')} not found!")
        return dict(self.status()[component])

    def status(self) -> dict[str, Any]:
        now = self.clock.now()
        self.household.advance_to(now, self.step_s)
        reading = self.household.meter_reading(now)
        power = float(reading["power_w"])  # type: ignore[arg-type]
        current = round(abs(power) / VOLTAGE, 3)
        return {
            "em:0": {
                "id": 0,
                "a_act_power": power,
                "a_voltage": VOLTAGE,
                "a_current": current,
                "b_act_power": 0.0,
                "b_voltage": VOLTAGE,
                "b_current": 0.0,
                "c_act_power": 0.0,
                "c_voltage": VOLTAGE,
                "c_current": 0.0,
                "total_act_power": power,
                "total_current": current,
            },
            "emdata:0": {
                "id": 0,
                "a_total_act_energy": reading["import_wh"],
                "a_total_act_ret_energy": reading["export_wh"],
                "total_act": reading["import_wh"],
                "total_act_ret": reading["export_wh"],
            },
            "sys": {"unixtime": int(now.timestamp())},
        }

    async def publish_state(self) -> None:
        status = self.status()
        await self.notify({"em:0": status["em:0"], "emdata:0": status["emdata:0"]})


ENDPOINTS.register("shelly")(ShellyPlugSim)
ENDPOINTS.register("shelly_pro3em")(ShellyPro3EmSim)
