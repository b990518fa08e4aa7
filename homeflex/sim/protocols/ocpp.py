"""A simulated EV charger that is an OCPP 1.6J charge point (the ``ocpp`` package's client side over a
websocket with Basic auth): it boots, sends Heartbeats, a StatusNotification when the car comes, goes or
starts charging, and MeterValues every MeterValueSampleInterval; it keeps the charging profiles it is
sent (homeflex.sim.protocols.ocpp_profiles) and lets them expire on its own clock; it reconnects with
backoff when the central system goes.

Wiring options: ``url`` (the central system, e.g. ``ws://127.0.0.1:9000/ocpp``; the charge point id is
appended), ``charge_point_id``, ``password``, ``connector_id`` (1), ``ca`` (for a ``wss://`` central
system: the CA file the charger trusts; OCPP security profile 2), ``max_stack_level`` (its
ChargeProfileMaxStackLevel, 8; 0 for a charger that refuses any other stack level, as ABB Terra AC and
Wallbox FW5 do), ``relative_only`` (it rejects every profile but a Relative one, as Wallbox does).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Coroutine, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as OcppChargePoint
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from homeflex.core.clock import Clock, sleep_until
from homeflex.core.tasks import stop_tasks
from homeflex.core.timeutil import iso
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.ev import EvCharger
from homeflex.sim.protocols import ENDPOINTS
from homeflex.sim.protocols.ocpp_profiles import MAX_STACK_LEVEL, Profile, ProfileStack

log = logging.getLogger(__name__)
FRAMES = logging.getLogger("homeflex.sim.ocpp.frames")  # the ocpp package logs each frame at INFO
FRAMES.setLevel(logging.WARNING)

BACKOFF_S = (0.2, 10.0)  # wall seconds: first and longest wait before reconnecting
MEASURANDS = {"Power.Active.Import": "W", "Energy.Active.Import.Register": "Wh", "SoC": "Percent"}
READ_ONLY = ("ChargeProfileMaxStackLevel", "ChargingScheduleAllowedChargingRateUnit")


@dataclass(frozen=True, kw_only=True)
class Wiring:
    url: str
    charge_point_id: str
    password: str
    connector_id: int = 1
    ca: str | None = None
    max_stack_level: int = MAX_STACK_LEVEL
    relative_only: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.max_stack_level <= MAX_STACK_LEVEL:
            raise ValueError(f"OCPP charger wiring: max_stack_level must be 0..{MAX_STACK_LEVEL}")

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> Wiring:
        valid = {
            "url",
            "charge_point_id",
            "password",
            "connector_id",
            "ca",
            "max_stack_level",
            "relative_only",
        }
        if unknown := sorted(set(options) - valid):
            raise ValueError(f"OCPP charger wiring: unknown {unknown}; valid: {sorted(valid)}")
        return cls(**options)

    @property
    def endpoint(self) -> str:
        return f"{self.url.rstrip('/')}/{self.charge_point_id}"

    def tls(self) -> ssl.SSLContext | None:
        if not self.url.startswith("wss://"):
            return None
        return ssl.create_default_context(cafile=self.ca)

    @property
    def authorization(self) -> str:
        return "Basic " + base64.b64encode(f"{self.charge_point_id}:{self.password}".encode()).decode()


class _ChargePoint(OcppChargePoint):  # type: ignore[misc]
    """The charger's side of one connection: answers the central system's CALLs."""

    def __init__(self, charger: OcppCharger, connection: ClientConnection) -> None:
        super().__init__(charger.wiring.charge_point_id, connection, 10, logger=FRAMES)
        self.charger = charger

    @on(Action.set_charging_profile)
    def on_set_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
        return call_result.SetChargingProfile(
            status=self.charger.set_profile(connector_id, cs_charging_profiles)
        )

    @on(Action.clear_charging_profile)
    def on_clear_profile(self, **criteria: Any) -> Any:
        return call_result.ClearChargingProfile(status=self.charger.clear_profiles(**criteria))

    @on(Action.get_composite_schedule)
    def on_composite(self, connector_id: int, duration: int, charging_rate_unit: str | None = None) -> Any:
        return self.charger.composite(connector_id, duration, charging_rate_unit or "W")

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str) -> Any:
        return call_result.ChangeConfiguration(status=self.charger.configure(key, value))

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None) -> Any:
        settings = {**self.charger.config, **self.charger.read_only}
        keys = key or list(settings)
        return call_result.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": k in READ_ONLY, "value": settings[k]} for k in keys if k in settings
            ],
            unknown_key=[k for k in keys if k not in settings] or None,
        )


class OcppCharger:
    """One EV charger of a SimHousehold, as an OCPP 1.6J charge point."""

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
        device = household.device(device_id)
        if not isinstance(device, EvCharger):
            raise ValueError(f"{household.id}/{device_id}: OCPP is spoken by EV chargers only")
        self.household = household
        self.device_id = device_id
        self.ev = device
        self.clock = clock
        self.step_s = step_s
        self.wiring = Wiring.parse(options)
        self.name = f"{household.id}/{device_id}"
        self.stack = ProfileStack(self.wiring.connector_id, device.params.volts, self.wiring.max_stack_level)
        self.read_only = {
            "ChargeProfileMaxStackLevel": str(self.wiring.max_stack_level),
            "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
        }
        self.config = {
            "MeterValueSampleInterval": "60",
            "MeterValuesSampledData": "Energy.Active.Import.Register",
            "HeartbeatInterval": "300",
        }
        self.energy_wh = 0.0  # the charger's own meter register
        self.connected = asyncio.Event()
        self.boots = 0
        self._metered_at: datetime | None = None
        self._status: str | None = None  # the last one sent on this connection
        self._cp: _ChargePoint | None = None
        self._runner: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OcppCharger:
        self._apply_limit(self.clock.now())
        self._runner = asyncio.get_running_loop().create_task(self._run(), name=f"ocpp-{self.name}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await stop_tasks(t for t in (self._runner, self._timer) if t is not None)

    async def publish_state(self) -> None:
        """The simulator's state tick: a StatusNotification if the car came, went or started charging."""
        with suppress(ConnectionClosed):  # the connection is going: the next one starts with a status
            await self._send_status()

    async def send_raw(self, text: str) -> None:
        """Send anything on the connection (tests: a charger that sends junk)."""
        if self._cp is not None:
            await self._cp._connection.send(text)

    # --- what the central system asks -------------------------------------------------------------

    def set_profile(self, connector_id: int, raw: dict[str, Any]) -> str:
        now = self.clock.now()
        if self.wiring.relative_only and raw.get("charging_profile_kind") != "Relative":
            return "Rejected"
        try:
            profile = Profile.parse(connector_id, raw, now)
        except (KeyError, TypeError, ValueError) as err:
            log.warning("%s: unusable charging profile %s: %s", self.name, raw, err)
            return "Rejected"
        status = self.stack.set(profile)
        if status == "Accepted":
            self._apply_limit(now)
        return status

    def clear_profiles(self, **criteria: Any) -> str:
        status = self.stack.clear(
            id=criteria.get("id"),
            connector_id=criteria.get("connector_id"),
            purpose=criteria.get("charging_profile_purpose"),
            stack_level=criteria.get("stack_level"),
        )
        self._apply_limit(self.clock.now())
        return status

    def composite(self, connector_id: int, duration: int, unit: str) -> Any:
        """What the charger will do over the next ``duration`` s: a period at each change of limit."""
        now = self.clock.now()
        periods: list[dict[str, Any]] = []
        t: datetime | None = now
        while t is not None and t < now + timedelta(seconds=duration) and len(periods) < 24:
            limit = self._rate(self.stack.limit_w(t) or self.ev.params.p_ac_max_w, unit)
            if not periods or periods[-1]["limit"] != limit:
                periods.append(
                    {"start_period": int((t - now).total_seconds()), "limit": limit, "number_phases": 1}
                )
            t = self.stack.next_change(t)
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=iso(now),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": unit,
                "charging_schedule_period": periods,
            },
        )

    def configure(self, key: str, value: str) -> str:
        if key in READ_ONLY:
            return "Rejected"
        if key not in self.config:
            return "NotSupported"
        if key == "MeterValuesSampledData":
            if any(m not in MEASURANDS for m in value.split(",")):
                return "Rejected"
        elif not value.isdigit():
            return "Rejected"
        self.config[key] = value
        return "Accepted"

    # --- the charger's own behaviour ----------------------------------------------------------------

    def _rate(self, watts: float, unit: str) -> float:
        return round(watts if unit == "W" else watts / self.ev.params.volts, 1)

    def _apply_limit(self, now: datetime) -> None:
        """The profiles' effective limit onto the car; wake when it next changes (on the charger's clock)."""
        self.stack.drop_expired(now)
        limit = self.stack.limit_w(now)
        value = None if limit is None or limit >= self.ev.params.p_ac_max_w else max(0.0, limit)
        if value != self.ev.settings.values.get("max_power_w"):
            self.household.advance_to(now, self.step_s)  # the time so far ran under the old limit
            self.household.apply(self.device_id, {"max_power_w": value}, now)
            log.debug("%s: limit %s W", self.name, value)
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
        change = self.stack.next_change(now)
        self._timer = None if change is None else asyncio.get_running_loop().create_task(self._wake(change))

    async def _wake(self, when: datetime) -> None:
        await sleep_until(self.clock, when)
        self._apply_limit(when)

    def _status_now(self) -> str:
        if not self.ev.plugged:
            return "Available"
        if self.ev.power_w > 0:
            return "Charging"
        return "SuspendedEVSE" if self.ev.settings.values.get("max_power_w") == 0 else "SuspendedEV"

    def _meter_value(self, now: datetime) -> dict[str, Any]:
        self.household.advance_to(now, self.step_s)
        if self._metered_at is not None:
            self.energy_wh += self.ev.power_w * max(0.0, (now - self._metered_at).total_seconds()) / 3600
        self._metered_at = now
        values = {
            "Power.Active.Import": self.ev.power_w,
            "Energy.Active.Import.Register": self.energy_wh,
            "SoC": self.ev.soc * 100,
        }
        wanted = self.config["MeterValuesSampledData"].split(",")
        sampled = [
            {"value": f"{values[m]:.1f}", "measurand": m, "unit": MEASURANDS[m], "context": "Sample.Periodic"}
            for m in wanted
            if m != "SoC" or self.ev.plugged
        ]
        return {"timestamp": iso(now), "sampled_value": sampled}

    # --- the connection --------------------------------------------------------------------------

    async def _run(self) -> None:
        """Connect, and again with growing waits whenever the connection goes (until stopped)."""
        wait, lost = BACKOFF_S[0], False
        while True:
            try:
                async with connect(
                    self.wiring.endpoint,
                    subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                    additional_headers={"Authorization": self.wiring.authorization},
                    proxy=None,
                    compression=None,
                    ssl=self.wiring.tls(),
                    open_timeout=5,
                ) as connection:
                    wait = BACKOFF_S[0]
                    if lost:
                        log.info("%s: connected to the central system again", self.name)
                    lost = False
                    await self._session(connection)
                why = "the connection closed"
            except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError) as err:
                why = str(err)
            if not lost:
                log.warning("%s: no central system (%s); retrying with backoff", self.name, why)
            lost = True
            await asyncio.sleep(wait)
            wait = min(wait * 2, BACKOFF_S[1])

    async def _session(self, connection: ClientConnection) -> None:
        """Boot, then listen, beat and meter until the connection goes."""
        cp = _ChargePoint(self, connection)
        tasks = [asyncio.get_running_loop().create_task(cp.start())]
        self._cp, self._status = cp, None
        try:
            boot = await cp.call(  # no answer: TimeoutError, and _run connects again
                call.BootNotification(charge_point_model="homeflex EV", charge_point_vendor="homeflex sim")
            )
            self.config["HeartbeatInterval"] = str(boot.interval)
            self.boots += 1
            self.connected.set()
            await self._send_status()
            tasks += [asyncio.get_running_loop().create_task(x) for x in self._loops()]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._cp = None
            self.connected.clear()
            await stop_tasks(tasks)
            for task in tasks:  # each ends with the connection; anything else is worth a line
                if not task.cancelled() and not isinstance(task.exception(), ConnectionClosed | None):
                    log.warning("%s: %s", self.name, task.exception())

    def _loops(self) -> list[Coroutine[Any, Any, None]]:
        return [
            self._every("HeartbeatInterval", lambda: self._call(call.Heartbeat())),
            self._every("MeterValueSampleInterval", self._send_meter_values),
        ]

    async def _every(self, key: str, action: Any) -> None:
        while True:
            interval = int(self.config[key])
            await self.clock.sleep(interval if interval > 0 else 3600)
            if interval > 0:
                await action()

    async def _send_meter_values(self) -> None:
        await self._send_status()
        await self._call(
            call.MeterValues(
                connector_id=self.wiring.connector_id, meter_value=[self._meter_value(self.clock.now())]
            )
        )

    async def _send_status(self) -> None:
        status = self._status_now()
        if self._cp is None or status == self._status:
            return
        self._status = status
        await self._call(
            call.StatusNotification(
                connector_id=self.wiring.connector_id, error_code="NoError", status=status
            )
        )

    async def _call(self, payload: Any) -> Any:
        if self._cp is None:
            raise ConnectionClosed(None, None)
        with suppress(TimeoutError):
            return await self._cp.call(payload)
        log.warning("%s: no answer to %s", self.name, type(payload).__name__)
        return None


ENDPOINTS.register("ocpp")(OcppCharger)
