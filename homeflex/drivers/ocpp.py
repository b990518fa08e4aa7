"""OCPP EV chargers, 1.6J or 2.0.1, through homeflex's central system (homeflex.drivers.ocpp_central).

The charger connects to the central system as ``charge_point_id`` with its password, in the version it
chooses at the websocket handshake; the driver speaks that version (homeflex.drivers.ocpp_dialects).
After every BootNotification the driver sets it up again (a charger may forget: go-e firmware 56.2 did
[G1]): meter values every ``meter_interval_s`` (power, energy register, SoC), and a permanent
TxDefaultProfile at ``base_stack_level`` at the charger's full power: its own behaviour.

A command ``{"max_power_w": W}`` is a TxDefaultProfile at ``stack_level`` (above the permanent one) with
``validTo`` = the command's expiry: when it runs out the charger itself falls back to the permanent
profile, even when homeflex is gone (a NATIVE expiry, OCPP 1.6 §3.13.2). ``{"max_power_w": None}`` clears
that stack level. After each accepted command the driver reads the charger's composite schedule back and
reports it as ``limit_w`` (what the charger says it will do, not what was asked).

A charger that takes stack level 0 only (ABB Terra AC, Wallbox FW5 [E3]; ``stack_level_0_only``) gets
no permanent profile: the command goes at level 0 with the same ``validTo``, and when it runs out the
charger has no profile left and charges at its own full power (still a NATIVE expiry). A level-0
TxDefaultProfile someone else set on such a charger is replaced by the first command and not restored.
A charger that takes only Relative profiles (Wallbox [E3]; ``profile_kind = "Relative"``) gets them with
no startSchedule: one period from 0 holds the same limit whatever start point the charger counts from.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeflex.core import topics
from homeflex.core.domain import DeviceKind
from homeflex.core.tasks import stop_tasks
from homeflex.core.timeutil import iso
from homeflex.drivers import (
    DeviceError,
    DeviceLink,
    DeviceRefused,
    DeviceUnreachable,
    DriverInfo,
    Expiry,
    Settings,
    State,
    register,
)
from homeflex.drivers.ocpp_central import CentralSystem, central_system
from homeflex.drivers.ocpp_dialects import DIALECTS, Dialect, Setting
from homeflex.drivers.ocpp_messages import (
    MEASURANDS,
    PLUGGED,
    Rate,
    charging_profile,
    composite_limit_w,
    read_meter_values,
)
from homeflex.mqtt import MqttUnavailable

log = logging.getLogger(__name__)

CONFIRM_HORIZON_S = 900  # how far ahead the composite schedule is asked for
# Wall seconds from an ack to the read-back: at an event start every charger is commanded at once, and
# the read-backs must not queue in front of the other chargers' acks (bench/RESULTS.md, ocpp_latency).
CONFIRM_DELAY_S = 0.2


@dataclass(frozen=True, kw_only=True)
class OcppAddress:
    """A charger's identity at the central system and how it takes limits."""

    charge_point_id: str
    password: str | None = None  # its Basic auth password (AuthorizationKey), or:
    password_env: str | None = None  # the environment variable that holds it
    connector_id: int = 1  # the connector (OCPP 1.6) or the EVSE (2.0.1)
    unit: str = "W"  # W: limits in watts; A: amps per phase (some chargers take only A)
    phases: int = 1
    voltage_v: float = 230.0
    stack_level: int = 1  # homeflex's commands
    base_stack_level: int = 0  # the permanent profile: the charger's own behaviour
    meter_interval_s: int = 60
    # The charger refuses every stack level but 0 (ABB Terra AC, Wallbox FW5): commands go at level 0,
    # with no permanent profile under them.
    stack_level_0_only: bool = False
    profile_kind: str = "Absolute"  # "Relative" for a charger that takes only those (Wallbox)

    def __post_init__(self) -> None:
        cp = self.charge_point_id
        if not cp or len(cp) > 48 or any(c in cp for c in "/?#% ") or not cp.isprintable():
            raise ValueError(f"charge_point_id must be 1-48 characters without / ? # % or spaces, got {cp!r}")
        if (self.password is None) == (self.password_env is None):
            raise ValueError("give one of password and password_env")
        if self.unit not in ("W", "A"):
            raise ValueError(f"unit must be 'W' or 'A', got {self.unit!r}")
        if self.phases not in (1, 2, 3) or not 100 <= self.voltage_v <= 480 or self.connector_id < 1:
            raise ValueError("phases must be 1-3, voltage_v 100-480 and connector_id at least 1")
        if not 0 <= self.base_stack_level < self.stack_level <= 100:
            raise ValueError("need 0 <= base_stack_level < stack_level <= 100")
        if self.stack_level_0_only and (self.stack_level, self.base_stack_level) != (1, 0):
            raise ValueError(
                "stack_level_0_only puts the commands at level 0: leave out stack_level and base_stack_level"
            )
        if self.profile_kind not in ("Absolute", "Relative"):
            raise ValueError(f"profile_kind must be 'Absolute' or 'Relative', got {self.profile_kind!r}")
        if not 1 <= self.meter_interval_s <= 3600:
            raise ValueError("meter_interval_s must be 1..3600")

    @property
    def command_level(self) -> int:
        """The stack level of homeflex's commands."""
        return 0 if self.stack_level_0_only else self.stack_level

    @property
    def base_level(self) -> int | None:
        """The stack level of the permanent own-behaviour profile; None: the charger has none."""
        return None if self.stack_level_0_only else self.base_stack_level

    def secret(self) -> str:
        if self.password is not None:
            return self.password
        value = os.environ.get(str(self.password_env))
        if not value:
            raise ValueError(
                f"charger {self.charge_point_id}: environment variable {self.password_env} is not set"
            )
        return value

    @property
    def rate(self) -> Rate:
        return Rate(unit=self.unit, phases=self.phases, voltage_v=self.voltage_v)


def requested_limit(settings: Settings) -> float | None:
    """The W a command asks for (None: the charger's own behaviour); DeviceRefused for anything else."""
    unknown = sorted(set(settings) - {"max_power_w"})
    if unknown:
        raise DeviceRefused(f"an EV charger takes only max_power_w, not {unknown}")
    value = settings.get("max_power_w")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
        raise DeviceRefused(f"max_power_w must be watts in 0..1e6, got {value!r}")
    return float(value)


class OcppDriver:
    def __init__(self, link: DeviceLink, address: OcppAddress) -> None:
        central = link.services.get("ocpp")
        if not isinstance(central, CentralSystem):
            raise ValueError(
                f"{link.name}: the OCPP central system is not running (start it with driver_services)"
            )
        self.link = link
        self.address = address
        self.central = central
        self.cp = address.charge_point_id
        self.state: State = {"status": None, "plugged": False, "limit_w": None}
        self._command: tuple[float | None, datetime | None] = (None, None)  # the last accepted
        self._connected = False
        self._faulted: set[int] = set()  # connectors (0: the charger) that say Faulted
        self._up: bool | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._confirming: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.central.register(self.cp, self.address.secret(), self)

    async def stop(self) -> None:
        """Let the charger go; what it was told stays with it and expires on its own clock."""
        await stop_tasks(list(self._tasks))
        await self.central.unregister(self.cp)

    # --- what the charger says (homeflex.drivers.ocpp_sessions.Listener) -----------------------

    def connected(self, up: bool) -> None:
        self._connected = up
        self._availability("connected" if up else "disconnected")

    def booted(self) -> None:
        self._spawn(self._setup())

    def status(self, connector_id: int, status: str, error_code: str) -> None:
        if connector_id not in (0, self.address.connector_id):
            return
        if status == "Faulted":  # the whole charger (connector 0) or our connector
            self._faulted.add(connector_id)
        else:
            self._faulted.discard(connector_id)
        if connector_id == self.address.connector_id:
            self.state.update(status=status, plugged=status in PLUGGED)
            self._report()
        self._availability(f"status {status} ({error_code})")

    def meter_values(self, connector_id: int, meter_value: list[dict[str, Any]]) -> None:
        if connector_id != self.address.connector_id:
            return
        try:
            reading = read_meter_values(meter_value)
        except (ValueError, AttributeError, TypeError) as err:
            log.warning("%s: unreadable MeterValues from %s: %s", self.link.name, self.cp, err)
            return
        self.state.update(reading)
        self._report()

    # --- commands ---------------------------------------------------------------------------------

    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        watts = requested_limit(settings)
        now = self.link.clock.now()
        if expires_at is not None and expires_at <= now:
            raise DeviceRefused(f"{self.link.name}: the command expired at {expires_at.isoformat()}")
        await self._apply(watts, expires_at, now)
        self._command = (watts, expires_at)
        if self._confirming is None or self._confirming.done():  # a pending read-back reads this one too
            self._confirming = self._spawn(self._confirm(CONFIRM_DELAY_S))
        return 1

    def _dialect(self) -> Dialect:
        version = self.central.version(self.cp)
        if version is None:
            raise DeviceUnreachable(f"charge point {self.cp} is not connected")
        return DIALECTS[version]

    async def _apply(self, watts: float | None, expires_at: datetime | None, now: datetime) -> None:
        a, dialect = self.address, self._dialect()
        if watts is None:
            # Accepted, or Unknown: there was nothing to clear; either way none is left
            await self.central.call(self.cp, dialect.clear_profile(a.connector_id, a.command_level))
            return
        limit = a.rate.limit(watts)
        profile = charging_profile(
            a.rate,
            stack_level=a.command_level,
            limit=limit,
            now=now,
            valid_to=expires_at,
            kind=a.profile_kind,
        )
        await self._set_profile(dialect, profile)

    async def _set_profile(self, dialect: Dialect, profile: dict[str, Any]) -> None:
        result = await self.central.call(self.cp, dialect.set_profile(self.address.connector_id, profile))
        if result.status != "Accepted":
            raise DeviceRefused(f"{self.link.name}: charger {self.cp} answered {result.status} to {profile}")

    async def _confirm(self, delay_s: float = 0.0) -> None:
        """Read back what the charger will do now (its composite schedule) into the state."""
        await asyncio.sleep(delay_s)
        a = self.address
        try:
            dialect = self._dialect()
            result = await self.central.call(
                self.cp, dialect.composite(a.connector_id, CONFIRM_HORIZON_S, a.unit)
            )
        except DeviceError as err:
            log.info("%s: composite schedule not read: %s", self.link.name, err)
            return
        limit = composite_limit_w(a.rate, dialect.composite_schedule(result))
        self.state["limit_w"] = limit
        wanted = self._command[0]
        if wanted is not None and limit is not None and abs(limit - wanted) > a.rate.watts(1.0):
            log.warning(
                "%s: charger %s will charge at %.0f W, not the %.0f W asked",
                self.link.name,
                self.cp,
                limit,
                wanted,
            )
        self._report()

    async def _setup(self) -> None:
        """After a boot: meter values, the permanent own-behaviour profile, and the command in force."""
        a = self.address
        try:
            dialect = self._dialect()
            for measurands in (MEASURANDS, MEASURANDS[:2]):  # then without SoC, which some refuse
                accepted = [
                    await self._configure(s) for s in dialect.meter_setup(a.meter_interval_s, measurands)
                ]
                if all(accepted):
                    break
            now = self.link.clock.now()
            if a.base_level is not None:
                full = a.rate.limit(self.link.max_power_w, round_up=True)
                base = charging_profile(
                    a.rate, stack_level=a.base_level, limit=full, now=now, valid_to=None, kind=a.profile_kind
                )
                await self._set_profile(dialect, base)
            watts, expires_at = self._command
            if watts is not None and (expires_at is None or expires_at > now):
                await self._apply(watts, expires_at, now)
        except DeviceError as err:
            log.warning("%s: setting charger %s up after its boot failed: %s", self.link.name, self.cp, err)
            return
        log.info("%s: charger %s set up after its boot", self.link.name, self.cp)
        await self._confirm()

    async def _configure(self, setting: Setting) -> bool:
        result = await self.central.call(self.cp, setting.request)
        if setting.accepted(result):
            return True
        log.warning("%s: charger %s did not take %s: %s", self.link.name, self.cp, setting.name, result)
        return False

    # --- telling the agent ------------------------------------------------------------------------

    def _availability(self, why: str) -> None:
        up = self._connected and not self._faulted
        if up != self._up:
            self._up = up
            self.link.availability(self.link.device_id, up, why)

    def _report(self) -> None:
        """The agent's view, and the charger's state retained on the household's device topic."""
        state = {**self.state, "ts": iso(self.link.clock.now())}
        self.link.report(self.link.device_id, state)
        if self.link.mqtt is not None:
            self._spawn(self._publish(state))

    async def _publish(self, state: State) -> None:
        topic = topics.state(self.link.household_id, self.link.device_id)
        try:
            await self.link.mqtt.publish(topic, state, retain=True, timeout=2.0)
        except MqttUnavailable as err:
            log.info("%s: state not published: %s", self.link.name, err)

    def _spawn(self, work: Any) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


INFO = register(
    DriverInfo(
        protocol="ocpp",
        title="OCPP 1.6J / 2.0.1",
        kinds=frozenset({DeviceKind.EV_CHARGER}),
        products=(
            # chargers evcc drives over OCPP 1.6J (protocols.md [E3]); see their quirks there
            "ABB Terra AC",
            "ABL eMH",
            "Alfen Eve",
            "Autel MaxiCharger",
            "Easee",
            "EVBox",
            "go-e Charger",
            "Hager witty",
            "Huawei SCharger",
            "Mennekes Amtron",
            "SolarEdge EV Charger",
            "Wallbox",
            "Zaptec",
        ),
        expiry=Expiry.NATIVE,
        fail_safe=(
            "the command is a charging profile with validTo = its expiry: the charger falls back to its "
            "permanent profile (full power) by itself (stack_level_0_only: to no profile, its own full "
            "power); OCPP 1.6 has no limit for a lost connection"
        ),
        config=OcppAddress,
        build=OcppDriver,
        service=central_system,
    )
)
