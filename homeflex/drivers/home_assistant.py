"""Devices that Home Assistant already controls, through its WebSocket API with a long-lived access
token (protocols.md §7; the client: homeflex.drivers.home_assistant_ws). The device is one Home
Assistant entity, ``entity_id``; its domain says how the control loop's setpoint is spoken:

    heat_pump   climate | water_heater  {"setpoint_c", "max_power_w"} -> <domain>.set_temperature
    ev_charger  number (A, W or kW)     {"max_power_w": W}  -> number.set_value (A = W / volts / phases)
    battery     number (W or kW)        {"power_w": W}      -> number.set_value (+ charge)
                select                  {"power_w": W}      -> select.select_option: charge_option (W > 0),
                                                               discharge_option (W < 0), idle_option (0)
    pv          number (W or kW)        {"export_limit_w"}  -> number.set_value
    smart_plug  switch                  {"on": false}       -> switch.turn_off (true: turn_on)

A heat pump's climate entity takes a temperature, not a power. ``setpoint_c`` is the target; the cap
(``max_power_w``) is said the one way a thermostat can: the target is pulled from ``setpoint_c`` towards
the current indoor temperature in proportion to the cap's share of the pump's rating (a modulating
pump's output follows the thermostat's error, so a smaller error asks for less heat; a 0 W cap comes
from the control loop with the comfort floor as ``setpoint_c``, which then is the target). The target
goes down to the entity's ``target_temp_step`` (less heat rather than more); a target outside the
entity's own range is refused by Home Assistant (DeviceRefused).

Home Assistant has no command timer: the expiry is emulated. At a command's expiry (or on a command of
None values) the driver restores the value the entity had before homeflex's first command, unless
someone changed the entity in Home Assistant meanwhile: a state that is neither homeflex's command nor
the value before it (a slow device's late echo) is theirs, and left as is. If the agent stops, nothing
restores it: the last command stays until changed in Home Assistant.

Power and energy come from sensor entities (``power_entity_id`` in W or kW, ``energy_entity_id`` in Wh or
kWh). Availability: Home Assistant reachable and the entity not ``unavailable``. An entity Home Assistant
does not have is said at start ("unknown entity") and every command to it is refused; a token Home
Assistant refuses (``auth_invalid``) too, with what to do.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from homeflex.core.domain import DeviceKind
from homeflex.core.tasks import stop_tasks
from homeflex.drivers import (
    DeviceError,
    DeviceLink,
    DeviceRefused,
    DeviceUnreachable,
    DriverInfo,
    Expiry,
    Settings,
    register,
)
from homeflex.drivers.home_assistant_ws import HaConnection
from homeflex.drivers.mqtt_common import EmulatedExpiry, Presence

log = logging.getLogger(__name__)

ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")  # Home Assistant's entity id: <domain>.<object id>
DOMAINS = {
    DeviceKind.HEAT_PUMP: ("climate", "water_heater"),
    DeviceKind.EV_CHARGER: ("number",),
    DeviceKind.BATTERY: ("number", "select"),
    DeviceKind.PV: ("number",),
    DeviceKind.SMART_PLUG: ("switch",),
}
KEYS = {
    DeviceKind.HEAT_PUMP: ("setpoint_c", "max_power_w"),
    DeviceKind.EV_CHARGER: ("max_power_w",),
    DeviceKind.BATTERY: ("power_w",),
    DeviceKind.PV: ("export_limit_w",),
    DeviceKind.SMART_PLUG: ("on",),
}
WATTS = {"W": 1.0, "kW": 1000.0}
WATT_HOURS = {"Wh": 1.0, "kWh": 1000.0}
GONE = "unavailable"  # Home Assistant's state of an entity whose device it cannot reach


@dataclass(frozen=True, kw_only=True)
class HomeAssistantAddress:
    """``url``: Home Assistant's address (``http://homeassistant.local:8123``); ``token``: a long-lived
    access token (your profile in Home Assistant, Security), or ``token_env``: the environment variable
    that holds it (a self-installer's file need not hold it); ``entity_id``: the entity homeflex commands;
    ``volts`` and ``phases``: an EV charger's current in A from a power; the ``*_option`` fields: a
    battery's select options. Times are wall seconds."""

    url: str
    entity_id: str
    token: str | None = field(default=None, repr=False)  # a secret: never in a log line
    token_env: str | None = None
    power_entity_id: str = ""
    energy_entity_id: str = ""
    volts: float = 230.0
    phases: int = 1
    charge_option: str = "charge"
    discharge_option: str = "discharge"
    idle_option: str = "idle"
    timeout_s: float = 5.0
    retry_max_s: float = 300.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url) if isinstance(self.url, str) else None
        if parts is None or parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
            raise ValueError(f"url must be Home Assistant's http(s):// address, got {self.url!r}")
        if (self.token is None) == (self.token_env is None):
            raise ValueError("give one of token and token_env")
        for name in ("token", "token_env"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, str) or not value or any(c.isspace() for c in value)
            ):
                raise ValueError(f"{name} must be one word, no spaces")
        for name in ("entity_id", "power_entity_id", "energy_entity_id"):
            value = getattr(self, name)
            optional = value == "" and name != "entity_id"
            if not isinstance(value, str) or not (optional or ENTITY_ID.match(value)):
                raise ValueError(f"{name} must be an entity id like 'climate.living_room', got {value!r}")
        for name in ("volts", "timeout_s", "retry_max_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.phases not in (1, 3) or isinstance(self.phases, bool):
            raise ValueError(f"phases must be 1 or 3, got {self.phases!r}")
        for name in ("charge_option", "discharge_option", "idle_option"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be one of the select's options")

    def secret(self) -> str:
        """The token (ValueError when its environment variable is not set)."""
        if self.token is not None:
            return self.token
        value = os.environ.get(str(self.token_env), "").strip()
        if not value:
            raise ValueError(f"the environment variable {self.token_env} (token_env) is not set")
        return value

    @property
    def domain(self) -> str:
        return self.entity_id.split(".", 1)[0]

    @property
    def ws_url(self) -> str:
        """The WebSocket API under ``url`` (a path prefix, as behind a reverse proxy, is kept)."""
        parts = urlsplit(self.url)
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/api/websocket", "", ""))


# -- the entity's value for a command, and back ----------------------------------------------------------
def thermostat_target(
    setpoint_c: float, cap_w: float | None, rating_w: float, indoor_c: float | None, step: float
) -> float:
    """The target temperature that says (setpoint, cap) to a thermostat (the module says why)."""
    target = setpoint_c
    if cap_w is not None and rating_w > 0 and indoor_c is not None and indoor_c < setpoint_c:
        share = min(max(cap_w / rating_w, 0.0), 1.0)
        target = indoor_c + share * (setpoint_c - indoor_c)
    if step > 0:
        target = math.floor(round(target / step, 6)) * step
    return round(target, 3)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def _same(a: Any, b: Any) -> bool:
    """Equal, numbers to a thousandth (Home Assistant may hand back 20.5 as 20.500000001)."""
    if all(isinstance(x, float | int) and not isinstance(x, bool) for x in (a, b)):
        return math.isclose(a, b, abs_tol=1e-3)
    return bool(a == b)


def _setting(name: str, settings: Settings, key: str) -> float | None:
    value = settings.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DeviceRefused(f"{name}: {key} must be a number or null, got {value!r}")
    return float(value)


class Entity:
    """How one entity's value says a command: ``wanted`` (the value for settings), ``read`` (its value
    now), ``call`` (the service that sets a value), ``report`` (a value in homeflex's vocabulary)."""

    def __init__(self, link: DeviceLink, address: HomeAssistantAddress) -> None:
        self.link, self.address, self.name = link, address, link.name
        self.key = KEYS[link.kind][0] if link.kind is not None else ""  # the (first) settings key

    def wanted(self, settings: Settings, state: dict[str, Any], before: Any) -> Any:
        raise NotImplementedError

    def read(self, state: dict[str, Any]) -> Any:
        return _number(state.get("state"))

    def call(self, value: Any) -> tuple[str, dict[str, Any]]:
        return "set_value", {"value": value}

    def report(self, value: Any, state: dict[str, Any]) -> dict[str, Any]:
        return {self.key: value}


class Thermostat(Entity):
    """climate / water_heater: the target temperature (attribute ``temperature``)."""

    def wanted(self, settings: Settings, state: dict[str, Any], before: Any) -> Any:
        setpoint = _setting(self.name, settings, "setpoint_c")
        cap = _setting(self.name, settings, "max_power_w")
        if setpoint is None:
            setpoint = before if before is not None else self.read(state)
        if setpoint is None:
            raise DeviceRefused(f"{self.name}: no setpoint_c, and the entity's own target is unknown")
        attributes = state.get("attributes") or {}
        step = _number(attributes.get("target_temp_step")) or 0.0
        indoor = _number(attributes.get("current_temperature"))
        return thermostat_target(setpoint, cap, self.link.max_power_w, indoor, step)

    def read(self, state: dict[str, Any]) -> Any:
        attributes = state.get("attributes")
        return _number(attributes.get("temperature")) if isinstance(attributes, dict) else None

    def call(self, value: Any) -> tuple[str, dict[str, Any]]:
        return "set_temperature", {"temperature": value}

    def report(self, value: Any, state: dict[str, Any]) -> dict[str, Any]:
        attributes = state.get("attributes") or {}
        indoor = _number(attributes.get("current_temperature"))
        return {"setpoint_c": value, **({"indoor_c": indoor} if indoor is not None else {})}


class Number(Entity):
    """number: a power in W or kW, or an EV charger's current in A (``volts`` x ``phases``)."""

    def _per_unit_w(self, state: dict[str, Any]) -> float:
        unit = (state.get("attributes") or {}).get("unit_of_measurement")
        if isinstance(unit, str) and unit in WATTS:
            return WATTS[unit]
        if unit == "A" and self.link.kind is DeviceKind.EV_CHARGER:
            return self.address.volts * self.address.phases
        units = "W, kW or A" if self.link.kind is DeviceKind.EV_CHARGER else "W or kW"
        raise DeviceRefused(
            f"{self.name}: {self.address.entity_id} is in {unit!r}; a {self.link.kind} needs {units}"
        )

    def wanted(self, settings: Settings, state: dict[str, Any], before: Any) -> Any:
        key = self.key
        watts = _setting(self.name, settings, key)
        if watts is None:
            return before
        attributes = state.get("attributes") or {}
        value = watts / self._per_unit_w(state)
        step = _number(attributes.get("step")) or 0.0
        if step > 0:  # a cap rounds down, a power to the nearest step
            value = (math.floor if key == "max_power_w" else round)(round(value / step, 6)) * step
        low = _number(attributes.get("min"))
        if key == "max_power_w" and low is not None and value < low:
            raise DeviceRefused(f"{self.name}: {watts:g} W is under the charger's minimum, {low:g} "
                                f"{attributes.get('unit_of_measurement')}: a current number cannot pause "
                                "charging")  # fmt: skip
        return round(value, 3)

    def report(self, value: Any, state: dict[str, Any]) -> dict[str, Any]:
        try:
            watts = value * self._per_unit_w(state)
        except DeviceRefused:
            return {}
        return {self.key: round(watts, 1)} if math.isfinite(watts) else {}


class Select(Entity):
    """select: a battery's mode by the sign of the power."""

    def wanted(self, settings: Settings, state: dict[str, Any], before: Any) -> Any:
        watts = _setting(self.name, settings, "power_w")
        if watts is None:
            return before
        a = self.address
        option = a.charge_option if watts > 0 else a.discharge_option if watts < 0 else a.idle_option
        options = (state.get("attributes") or {}).get("options")
        if isinstance(options, list) and option not in options:
            raise DeviceRefused(f"{self.name}: {self.address.entity_id} has no option {option!r} ({options})")
        return option

    def read(self, state: dict[str, Any]) -> Any:
        value = state.get("state")
        return value if isinstance(value, str) and value not in (GONE, "unknown") else None

    def call(self, value: Any) -> tuple[str, dict[str, Any]]:
        return "select_option", {"option": value}

    def report(self, value: Any, state: dict[str, Any]) -> dict[str, Any]:
        return {"mode": value}


class Switch(Entity):
    """switch: a plug, on or off."""

    def wanted(self, settings: Settings, state: dict[str, Any], before: Any) -> Any:
        value = settings.get("on")
        if value is None:
            return before
        if not isinstance(value, bool):
            raise DeviceRefused(f"{self.name}: on must be false, true or null, got {value!r}")
        return value

    def read(self, state: dict[str, Any]) -> Any:
        return {"on": True, "off": False}.get(str(state.get("state")))

    def call(self, value: Any) -> tuple[str, dict[str, Any]]:
        return ("turn_on" if value else "turn_off"), {}

    def report(self, value: Any, state: dict[str, Any]) -> dict[str, Any]:
        return {"on": value}


ENTITIES: dict[str, type[Entity]] = {
    "climate": Thermostat, "water_heater": Thermostat, "number": Number, "select": Select, "switch": Switch,
}  # fmt: skip


def entity_fits(kind: DeviceKind, address: HomeAssistantAddress) -> None:
    """The entity's domain can drive a device of ``kind`` (ValueError saying which domains can)."""
    if kind not in DOMAINS:
        raise ValueError(f"Home Assistant cannot drive a {kind}")
    if address.domain not in DOMAINS[kind]:
        domains = " or ".join(DOMAINS[kind])
        raise ValueError(f"a {kind} is driven through a {domains} entity, not {address.entity_id}")


# -- the driver ------------------------------------------------------------------------------------------
class HomeAssistantDriver:
    def __init__(self, link: DeviceLink, address: HomeAssistantAddress) -> None:
        if link.kind is None:
            raise ValueError(f"{link.name}: Home Assistant cannot be the household's meter")
        try:
            entity_fits(link.kind, address)
        except ValueError as err:
            raise ValueError(f"{link.name}: {err}") from None
        self.kind: DeviceKind = link.kind
        self.link, self.address = link, address
        self.entity = ENTITIES[address.domain](link, address)
        self.presence = Presence(link)
        self.state: dict[str, Any] = {}  # what is reported, homeflex's vocabulary
        self.entity_state: dict[str, Any] | None = None  # the entity's last state from Home Assistant
        self.value: Any = None  # its last readable value
        self.unknown: str | None = None  # the entity is not in Home Assistant
        self.before: Any = None  # its value before homeflex's first command: what expiry restores
        self.commanded: Any = None  # the value homeflex set last
        watched = {address.entity_id, address.power_entity_id, address.energy_entity_id} - {""}
        try:
            token, misconfigured = address.secret(), None
        except ValueError as err:
            token, misconfigured = "", f"{link.name}: {err}"
        self.connection = HaConnection(
            link.name, address.ws_url, token, frozenset(watched), self._on_state, self._on_link,
            timeout_s=address.timeout_s, retry_max_s=address.retry_max_s,
        )  # fmt: skip
        self.connection.refused = misconfigured
        self._expiry = EmulatedExpiry(link, self._restore)
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one command at a time: a restore never interleaves a command

    async def start(self) -> None:
        """Connect, and wait (bounded) for the entity's state; Home Assistant down is not an error here:
        the connection keeps trying and the device is said unavailable."""
        if self.connection.refused:  # no token: said, and every command refused
            log.error("%s", self.connection.refused)
            self.presence.seen(False, self.connection.refused)
            return
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self.connection.run(), name=f"ha-{self.link.name}")
        try:
            async with asyncio.timeout(self.address.timeout_s * 2):
                await self.connection.first_attempt()
        except TimeoutError:
            log.warning("%s: Home Assistant does not answer yet", self.link.name)

    async def stop(self) -> None:
        """Nothing is restored: with the agent gone the entity keeps the last command (emulated)."""
        self._expiry.cancel()
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None

    # -- commands ---------------------------------------------------------------------------------------
    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        keys = KEYS[self.kind]
        if not settings or set(settings) - set(keys):
            raise DeviceRefused(f"{self.link.name}: a {self.kind} through Home Assistant takes "
                                f"{list(keys)}, got {sorted(settings)}")  # fmt: skip
        async with self._lock:
            self._expiry.cancel()
            state = self._ready()
            if all(v is None for v in settings.values()):
                await self._give_back()
                return 1
            wanted = self.entity.wanted(settings, state, self.before)
            # Said before the call: Home Assistant sends the entity's new state before the call's result.
            previous = self.before, self.commanded
            self.before = self.value if self.before is None else self.before
            self.commanded = wanted
            try:
                await self._set(wanted)
            except DeviceError:
                self.before, self.commanded = previous
                raise
        self._expiry.at(expires_at)
        return 1

    def _ready(self) -> dict[str, Any]:
        """The entity's state, when a command can go to it; else why not."""
        if self.connection.refused:
            raise DeviceRefused(self.connection.refused)
        if not self.connection.connected:
            raise DeviceUnreachable(f"{self.link.name}: Home Assistant is not connected")
        if self.unknown:
            raise DeviceRefused(self.unknown)
        if self.entity_state is None or self.entity_state.get("state") == GONE:
            said = f"Home Assistant says {self.address.entity_id} is unavailable"
            raise DeviceUnreachable(f"{self.link.name}: {said}")
        return self.entity_state

    async def _set(self, value: Any) -> None:
        service, data = self.entity.call(value)
        await self.connection.call(self.address.domain, service, data, self.address.entity_id)

    async def _restore(self) -> None:
        async with self._lock:
            self._ready()
            await self._give_back()

    async def _give_back(self) -> None:
        """The value from before homeflex's commands, unless someone has changed it in Home Assistant
        since (``_on_entity``: then it is theirs)."""
        before, commanded = self.before, self.commanded
        if before is None:
            return  # homeflex has not changed it (or never knew its value)
        if commanded is None:
            log.info("%s: %s was changed in Home Assistant during homeflex's command: left as is",
                     self.link.name, self.address.entity_id)  # fmt: skip
        else:
            await self._set(before)
            log.info("%s: %s restored to %s", self.link.name, self.address.entity_id, before)
        self.before = self.commanded = None

    def _changed_by_someone(self, value: Any) -> None:
        """A value neither homeflex's command nor the one before it (a late echo of a slow device): set
        in Home Assistant by someone, it is the entity's own value now, which expiry leaves."""
        if self.commanded is None or _same(value, self.commanded) or _same(value, self.before):
            return
        log.info("%s: %s set to %s in Home Assistant (homeflex set %s)", self.link.name,
                 self.address.entity_id, value, self.commanded)  # fmt: skip
        self.before, self.commanded = value, None

    # -- what Home Assistant says -----------------------------------------------------------------------
    def _on_link(self, up: bool, why: str) -> None:
        if up and self.unknown:
            return  # said as unknown, not as back
        if up and (self.entity_state or {}).get("state") == GONE:
            return
        self.presence.seen(up, why)

    def _on_state(self, entity_id: str, state: dict[str, Any] | None) -> None:
        a = self.address
        if entity_id == a.entity_id:
            self._on_entity(state)
        elif state is None:
            self._unknown_entity(entity_id)
        elif entity_id == a.power_entity_id:
            self._reading(entity_id, state, "power_w", WATTS)
        elif entity_id == a.energy_entity_id:
            self._reading(entity_id, state, "energy_wh", WATT_HOURS)

    def _unknown_entity(self, entity_id: str) -> str:
        why = (f"{self.link.name}: unknown entity {entity_id}: Home Assistant has no such entity "
               "(check the entity id in Home Assistant: Settings, Entities)")  # fmt: skip
        log.error("%s", why)
        return why

    def _on_entity(self, state: dict[str, Any] | None) -> None:
        if state is None:
            self.unknown = self._unknown_entity(self.address.entity_id)
            self.entity_state = None
            self.presence.seen(False, self.unknown)
            return
        self.unknown = None
        self.entity_state = state
        if state.get("state") == GONE:
            self.presence.seen(False, f"Home Assistant says {self.address.entity_id} is unavailable")
            return
        self.presence.seen(True, "Home Assistant answers")
        value = self.entity.read(state)
        if value is None:
            if state.get("state") != "unknown":
                log.warning("%s: unreadable state of %s: %r", self.link.name, self.address.entity_id,
                            str(state)[:120])  # fmt: skip
            return
        self.value = value
        self._changed_by_someone(value)
        self._report(self.entity.report(value, state))

    def _reading(self, entity_id: str, state: dict[str, Any], key: str, units: dict[str, float]) -> None:
        value = _number(state.get("state"))
        unit = (state.get("attributes") or {}).get("unit_of_measurement")
        # a unit that is not a string cannot be looked up; a huge kW is no finite W
        if (
            value is None
            or not isinstance(unit, str)
            or unit not in units
            or not math.isfinite(value * units[unit])
        ):
            if state.get("state") not in (GONE, "unknown"):
                log.warning("%s: unreadable state of %s: %r", self.link.name, entity_id, str(state)[:120])
            return
        self._report({key: value * units[unit]})

    def _report(self, changes: dict[str, Any]) -> None:
        self.state.update(changes)
        self.link.report(self.link.device_id, dict(self.state))


INFO = register(
    DriverInfo(
        protocol="home_assistant",
        title="Home Assistant (WebSocket API)",
        kinds=frozenset(DOMAINS),
        products=("any device Home Assistant controls (climate, water_heater, number, select, switch)",),
        expiry=Expiry.EMULATED,
        fail_safe=(
            "emulated: homeflex restores the entity's previous value at the command's expiry (unless it "
            "was changed in Home Assistant meanwhile); if the agent stops, nothing restores it: the last "
            "command stays until changed in Home Assistant"
        ),
        config=HomeAssistantAddress,
        build=HomeAssistantDriver,
        fits=entity_fits,
    )
)
