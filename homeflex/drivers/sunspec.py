"""SunSpec over Modbus TCP, for hybrid inverters and home batteries (protocols.md §6; the SunSpec
information models 103 inverter, 123 immediate controls, 124 storage, and the DER models 704 AC
controls and 802 battery). Each kind has two ways, the first the device fully implements is used:

    battery {"power_w": W}          124: StorCtl_Mod 3 with InWRte = W and OutWRte = -W (% of WChaMax,
                                     + charge): a window of one point, the battery holds W;
                                     None: StorCtl_Mod 0
                                     704 + 802: WSetMod 1 (watts), WSet = -W (+ into the grid), WSetEna 1;
                                     None: WSetEna 0. 802's LocRemCtl LOCAL (the battery takes no remote
                                     control) refuses the command
    pv      {"export_limit_w": W}   123: WMaxLimPct = W (% of WMax, model 121, else the configured rating),
                                     WMaxLim_Ena 1; None: WMaxLim_Ena 0
                                     704: WMaxLimPct, WMaxLimPctEna 1; None: WMaxLimPctEna 0

The command's expiry goes to the device as seconds in the control's own revert timeout
(``InOutWRte_RvrtTms``, ``WMaxLimPct_RvrtTms``; 704: ``WSetRvrtTms``, ``WMaxLimPctRvrtTms``, with the
reversion enable 0 so that the device goes back to its own behaviour): the device reverts on its own
clock even when homeflex is gone (NATIVE). The device is polled for power (model 103 ``W``, + into the
grid), lifetime energy (``WH``) and, for a battery, its SoC (124 ``ChaState`` or 802 ``SoC``).

At start the driver finds the map (``SunS`` at ``base``, else 40000, 0, 50000) and the models it needs;
a model or point the device does not implement is said once, as "unsupported by this device" with what
is missing, and every command it would need is refused (DeviceRefused) rather than failing at event
time. No answer (a Modbus
timeout, a refused connection) is DeviceUnreachable, and the device is said unavailable once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from homeflex.core.domain import DeviceKind
from homeflex.core.sunspec import (
    BASES,
    END,
    MARKER,
    MAX_MODELS,
    SF_RANGE,
    decode,
    encode,
    model,
    scaled,
    unscaled,
)
from homeflex.core.tasks import stop_tasks
from homeflex.drivers import (
    DeviceLink,
    DeviceRefused,
    DeviceUnreachable,
    DriverInfo,
    Expiry,
    Settings,
    register,
)
from homeflex.drivers.watts import watts_setting

log = logging.getLogger(__name__)

ILLEGAL_ADDRESS, ILLEGAL_VALUE = 2, 3  # Modbus exception codes that mean "no" (others: try again)
LIMIT_704 = ("WMaxLimPctEna", "WMaxLimPctRvrtTms")  # 704's names for 123's WMaxLim_Ena, WMaxLimPct_RvrtTms


@dataclass(frozen=True)
class Control:
    """One way to command a kind: the models and the points the device must implement for it, and the
    longest revert timeout its timeout point can say (seconds)."""

    name: str
    needs: dict[int, tuple[str, ...]]
    max_revert_s: int


# What a kind needs: the settings key, and its controls in the order they are tried.
CONTROLS = {
    DeviceKind.BATTERY: ("power_w", (
        Control("storage (124)", {103: ("W", "W_SF"), 124: ("WChaMax", "WChaMax_SF", "StorCtl_Mod", "InWRte",
                                  "OutWRte", "InOutWRte_SF", "InOutWRte_RvrtTms")}, 0xFFFF),
        Control("DER (704, 802)", {103: ("W", "W_SF"), 704: ("WSetEna", "WSetMod", "WSet", "WSet_SF",
                                   "WSetEnaRvrt", "WSetRvrtTms"), 802: ("SoC", "SoC_SF", "WChaRteMax",
                                   "WDisChaRteMax", "WChaDisChaMax_SF")}, 0xFFFFFFFF),
    )),
    DeviceKind.PV: ("export_limit_w", (
        Control("immediate controls (123)", {103: ("W", "W_SF"), 123: ("WMaxLimPct", "WMaxLimPct_SF",
                                             "WMaxLimPct_RvrtTms", "WMaxLim_Ena")}, 0xFFFF),
        Control("DER (704)", {103: ("W", "W_SF"), 704: ("WMaxLimPctEna", "WMaxLimPct", "WMaxLimPct_SF",
                              "WMaxLimPctEnaRvrt", "WMaxLimPctRvrtTms")}, 0xFFFFFFFF),
    )),
}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class SunSpecAddress:
    """``base``: where the map starts (None: look at 40000, then 0, then 50000). Times are wall seconds:
    a network round trip and a polling cadence, not the household's time."""

    host: str
    port: int = 502
    unit_id: int = 1
    base: int | None = None
    timeout_s: float = 3.0
    poll_s: float = 10.0
    retry_max_s: float = 300.0

    def __post_init__(self) -> None:
        for name in ("port", "unit_id", "base", "timeout_s", "poll_s", "retry_max_s"):
            value, whole = getattr(self, name), name in ("port", "unit_id", "base")
            if value is None and name == "base":
                continue
            if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
                raise ValueError(f"{name} must be {'a whole number' if whole else 'a number'}, got {value!r}")
        if not isinstance(self.host, str) or not self.host or any(c.isspace() for c in self.host):
            raise ValueError(f"host must be a host name or IP address, got {self.host!r}")
        if not 1 <= self.port <= 65535 or not 0 <= self.unit_id <= 255:
            raise ValueError("port must be in 1..65535 and unit_id in 0..255")
        if self.base is not None and not 0 <= self.base <= 65535:
            raise ValueError("base must be a register address in 0..65535 (or absent: discover)")
        if min(self.timeout_s, self.poll_s, self.retry_max_s) <= 0:
            raise ValueError("timeout_s, poll_s and retry_max_s must be positive")


class Unsupported(Exception):
    """The device does not implement what homeflex needs of it."""


@dataclass
class Map:
    """What discovery found: where each model starts (its ID register)."""

    base: int
    models: dict[int, int] = field(default_factory=dict)


class SunSpecDriver:
    def __init__(self, link: DeviceLink, address: SunSpecAddress) -> None:
        if link.kind not in CONTROLS:
            raise ValueError(f"{link.name}: SunSpec drives a battery or a PV inverter, not {link.kind}")
        self.link = link
        self.address = address
        self.key, self.controls = CONTROLS[link.kind]
        self.control = self.controls[0]  # the one in use, once the device's map is known
        self.lacks: list[str] = []  # what the device lacks for each control tried
        self.map: Map | None = None
        self.unsupported: str | None = None
        self.up: bool | None = None
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()  # one request at a time on the connection
        self._poller: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        try:
            await self.poll()
        except DeviceUnreachable:
            pass  # said by _down; the poller keeps trying
        except DeviceRefused as err:
            log.warning("%s: unreadable SunSpec device: %s", self.link.name, err)
        loop = asyncio.get_running_loop()
        self._poller = loop.create_task(self._poll_loop(), name=f"sunspec-{self.link.name}")

    async def stop(self) -> None:
        if self._poller is not None:
            await stop_tasks([self._poller])
            self._poller = None
        self._close()

    async def _poll_loop(self) -> None:
        """Read the device every ``poll_s``; after failures, back off up to ``retry_max_s``."""
        delay = self.address.poll_s
        while True:
            await asyncio.sleep(delay)
            try:
                await self.poll()
                delay = self.address.poll_s
            except DeviceUnreachable:
                delay = min(delay * 2, self.address.retry_max_s)
            except DeviceRefused as err:  # the device said no to a read: its map is not what it says
                log.warning("%s: unreadable SunSpec device: %s", self.link.name, err)
            except Exception:
                log.exception("%s: SunSpec poll failed", self.link.name)

    # -- commands --------------------------------------------------------------------------------------
    @property
    def needs(self) -> dict[int, tuple[str, ...]]:
        return self.control.needs

    async def send(self, settings: Settings, expires_at: datetime | None) -> int:
        watts = self._setting(settings)
        found = await self._ready()
        revert_s = self._revert_seconds(expires_at)
        der = 704 in self.needs
        try:
            if self.link.kind is DeviceKind.BATTERY:
                await (
                    self._der_power(found, watts, revert_s) if der else self._storage(found, watts, revert_s)
                )
            else:
                await self._curtail(found, watts, revert_s, 704 if der else 123)
        except ValueError as err:  # a scale factor no device has (_sf), read for the command
            raise DeviceRefused(f"{self.link.name}: unreadable reading from the device: {err}") from None
        with suppress(DeviceUnreachable):  # the command took; the reading will come with the next poll
            await self._read(found)
        return 1

    def _setting(self, settings: Settings) -> float | None:
        return watts_setting(self.link, self.key, settings, "SunSpec")

    def _revert_seconds(self, expires_at: datetime | None) -> int:
        """Seconds from now to ``expires_at``: the device counts them on its own clock (0: no timeout)."""
        if expires_at is None:
            return 0
        seconds = math.ceil((expires_at - self.link.clock.now()).total_seconds())
        longest = self.control.max_revert_s
        if not 0 < seconds <= longest:
            raise DeviceRefused(f"{self.link.name}: an expiry {seconds} s away cannot be said in the revert "
                                f"timeout (1..{longest} s)")  # fmt: skip
        return seconds

    async def _ready(self) -> Map:
        if self.map is None:
            await self.poll()  # discovers
        if self.unsupported is not None or self.map is None:
            raise DeviceRefused(self.unsupported or f"{self.link.name}: no SunSpec map")
        return self.map

    async def _storage(self, found: Map, watts: float | None, revert_s: int) -> None:
        at = found.models[124]
        if watts is None:
            await self._write(at, 124, {"StorCtl_Mod": 0})
            return
        regs = await self._registers(at, model(124).length + 2)
        rating = self._scaled(124, regs, "WChaMax")
        sf = self._sf(124, regs, "InOutWRte_SF")
        if rating is None or rating <= 0 or sf is None:
            raise DeviceRefused(f"{self.link.name}: unreadable WChaMax or InOutWRte_SF from the device")
        rate = unscaled(watts / rating * 100, sf)
        if not -0x8000 < rate < 0x8000:
            raise DeviceRefused(f"{self.link.name}: {watts:g} W is beyond what the battery can be told "
                                f"(WChaMax {rating:g} W)")  # fmt: skip
        # Rates and timeout first, then the mode that puts them in force. A charge may come from the
        # grid (ChaGriSet 1, evcc's SunSpec template does the same), where the device lets us say so.
        await self._write(at, 124, {"OutWRte": -rate, "InWRte": rate})
        await self._write(at, 124, {"InOutWRte_RvrtTms": revert_s})
        if watts > 0 and self._raw(124, regs, "ChaGriSet") is not None:
            await self._write(at, 124, {"ChaGriSet": 1})
        await self._write(at, 124, {"StorCtl_Mod": 3})

    async def _curtail(self, found: Map, watts: float | None, revert_s: int, model_id: int = 123) -> None:
        """The output limit, % of WMax, in model 123 or 704 (the same points but their names; 704 is told
        to revert to no limit)."""
        at = found.models[model_id]
        enable, timeout = ("WMaxLim_Ena", "WMaxLimPct_RvrtTms") if model_id == 123 else LIMIT_704
        if watts is None:
            await self._write(at, model_id, {enable: 0})
            return
        regs = await self._registers(at, model(model_id).length + 2)
        sf = self._sf(model_id, regs, "WMaxLimPct_SF")
        rating = await self._wmax()
        if sf is None or rating <= 0:
            raise DeviceRefused(f"{self.link.name}: unreadable WMaxLimPct_SF or WMax from the device")
        pct = unscaled(max(watts, 0.0) / rating * 100, sf)
        if pct > 0xFFFE:
            raise DeviceRefused(f"{self.link.name}: {watts:g} W is beyond the inverter's WMax {rating:g} W")
        reversion = {"WMaxLimPctEnaRvrt": 0} if model_id == 704 else {}
        await self._write(at, model_id, {"WMaxLimPct": pct, timeout: revert_s, **reversion})
        await self._write(at, model_id, {enable: 1})

    async def _der_power(self, found: Map, watts: float | None, revert_s: int) -> None:
        """Model 704's active power setpoint, in watts (+ into the grid), reverting to disabled."""
        at = found.models[704]
        if watts is None:
            await self._write(at, 704, {"WSetEna": 0})
            return
        battery = await self._registers(found.models[802], model(802).length + 2)
        if self._raw(802, battery, "LocRemCtl") == 1:
            raise DeviceRefused(f"{self.link.name}: the battery is under local control (802 LocRemCtl "
                                "LOCAL): it takes no setpoint from homeflex")  # fmt: skip
        limit = self._scaled(802, battery, "WChaRteMax" if watts > 0 else "WDisChaRteMax")
        if limit is not None and abs(watts) > limit:
            raise DeviceRefused(f"{self.link.name}: {watts:g} W is beyond the battery's rating {limit:g} W")
        sf = self._sf(704, await self._registers(at, model(704).length + 2), "WSet_SF")
        if sf is None:
            raise DeviceRefused(f"{self.link.name}: unreadable WSet_SF from the device")
        await self._write(at, 704, {"WSetMod": 1, "WSet": unscaled(-watts, sf)})
        await self._write(at, 704, {"WSetEnaRvrt": 0, "WSetRvrtTms": revert_s})
        await self._write(at, 704, {"WSetEna": 1})

    async def _wmax(self) -> float:
        """WMax from model 121 when the device has it, else the rating homeflex was configured with."""
        assert self.map is not None
        at = self.map.models.get(121)
        if at is not None:
            value = self._scaled(121, await self._registers(at, model(121).length + 2), "WMax")
            if value is not None and value > 0:
                return value
        return self.link.max_power_w

    async def _write(self, at: int, model_id: int, values: dict[str, int]) -> None:
        """Write points of one model; neighbours go in one request, so that the device takes them
        together (a charge rate and a discharge rate that only agree as a pair)."""
        spec = model(model_id)
        run: list[int] = []
        start = -1
        for point in sorted((spec.points[name] for name in values), key=lambda p: p.offset):
            if run and point.offset != start + len(run):
                await self._request("write", at + start, run)
                run = []
            if not run:
                start = point.offset
            try:
                run += encode(point, values[point.name])  # two's complement for the signed ones
            except ValueError as err:
                raise DeviceRefused(f"{self.link.name}: {err}") from None
        if run:
            await self._request("write", at + start, run)

    # -- readings --------------------------------------------------------------------------------------
    async def poll(self) -> None:
        """Discover the map if not yet known, then read the device and report it."""
        if self.map is None:
            self.map = await self._discover()
            self._check(self.map)
        await self._read(self.map)

    async def _discover(self) -> Map:
        bases = (self.address.base,) if self.address.base is not None else BASES
        for base in bases:
            head = await self._request("read", base, 2, missing_ok=True)
            if head is None or tuple(head) != MARKER:
                continue
            found = await self._walk(base)
            log.info("%s: SunSpec map at %d, models %s", self.link.name, base, sorted(found.models))
            return found
        self.unsupported = (f"{self.link.name}: unsupported by this device: no SunSpec map ('SunS') at "
                            f"{', '.join(map(str, bases))}")  # fmt: skip
        log.error("%s", self.unsupported)
        return Map(base=-1)

    async def _walk(self, base: int) -> Map:
        """The models after the marker, each ``ID, L``, up to ``0xFFFF``."""
        found, at = Map(base=base), base + 2
        for _ in range(MAX_MODELS):
            head = await self._request("read", at, 2, missing_ok=True)
            if head is None:  # the map runs off the device's registers: keep what was found
                log.warning("%s: unreadable SunSpec map: no end marker after %d", self.link.name, at)
                break
            model_id, length = head
            if model_id == END:
                break
            found.models[model_id] = at
            at += 2 + length
        return found

    def _check(self, found: Map) -> None:
        """Pick the first control whose models the device has; say once when none is complete (every
        command is then refused)."""
        if self.unsupported is not None:
            return
        for control in self.controls[self.controls.index(self.control) :]:
            missing = [f"model {m}" for m in control.needs if m not in found.models]
            if not missing:
                self.control = control
                return
            self.lacks.append(f"{control.name}: {', '.join(missing)}")
        self._unsupported(f"it has models {sorted(found.models)}")

    def _check_points(self, found: Map, model_id: int, regs: Sequence[int]) -> bool:
        """False when the control in use lacks a point: the next control is tried (or none is left)."""
        if self.unsupported is not None:
            return True
        absent = [name for name in self.needs.get(model_id, ()) if self._raw(model_id, regs, name) is None]
        if not absent:
            return True
        spec = model(model_id)
        self.lacks.append(f"{self.control.name}: model {model_id} ({spec.name}) does not implement "
                          f"{', '.join(absent)}")  # fmt: skip
        later = self.controls[self.controls.index(self.control) + 1 :]
        if not later:
            self._unsupported("")
            return True
        self.control = later[0]
        self._check(found)
        return False

    def _unsupported(self, has: str) -> None:
        self.unsupported = (f"{self.link.name}: unsupported by this device: {'; '.join(self.lacks)}"
                            f"{f' ({has})' if has else ''}; {self.key} cannot be commanded")  # fmt: skip
        log.error("%s", self.unsupported)

    async def _read(self, found: Map) -> None:
        state: dict[str, Any] = {}
        try:
            for model_id in sorted(set(self.needs) & set(found.models)):
                regs = await self._registers(found.models[model_id], model(model_id).length + 2)
                if not self._check_points(found, model_id, regs):
                    await self._read(found)  # with the next control (at most one more per control)
                    return
                state.update(self._state(model_id, regs))
        except ValueError as err:
            log.warning("%s: unreadable reading from the device: %s", self.link.name, err)
            return
        if state:
            self.link.report(self.link.device_id, state)

    def _state(self, model_id: int, regs: Sequence[int]) -> dict[str, Any]:
        if model_id == 103:
            ac_w, energy = self._scaled(103, regs, "W"), self._scaled(103, regs, "WH")
            return {"power_w": None if ac_w is None else -ac_w, "energy_wh": energy}  # + consumption
        if model_id == 124:
            soc = self._scaled(124, regs, "ChaState")
            return {"soc": None if soc is None else round(soc / 100, 4), "setpoint_w": self._setpoint(regs)}
        if model_id == 123:
            enabled, pct = self._raw(123, regs, "WMaxLim_Ena"), self._scaled(123, regs, "WMaxLimPct")
            return {"export_limit_pct": pct if enabled == 1 else None}
        if model_id == 802:
            soc = self._scaled(802, regs, "SoC")
            return {"soc": None if soc is None else round(soc / 100, 4)}
        if model_id == 704 and self.link.kind is DeviceKind.PV:
            enabled, pct = self._raw(704, regs, "WMaxLimPctEna"), self._scaled(704, regs, "WMaxLimPct")
            return {"export_limit_pct": pct if enabled == 1 else None}
        if model_id == 704:
            enabled, mode, inject = self._raw(704, regs, "WSetEna"), self._raw(704, regs, "WSetMod"), None
            if enabled == 1 and mode == 1:
                inject = self._scaled(704, regs, "WSet")
            return {"setpoint_w": None if inject is None else -inject}
        return {}

    def _setpoint(self, regs: Sequence[int]) -> float | None:
        """The power the storage controls hold the battery at (None: its own behaviour or a window)."""
        mode = self._raw(124, regs, "StorCtl_Mod")
        rate_in, rate_out = self._scaled(124, regs, "InWRte"), self._scaled(124, regs, "OutWRte")
        rating = self._scaled(124, regs, "WChaMax")
        if mode != 3 or rate_in is None or rate_out is None or rating is None or rate_in != -rate_out:
            return None
        return round(rating * rate_in / 100, 1)

    # -- points ----------------------------------------------------------------------------------------
    def _raw(self, model_id: int, regs: Sequence[int], name: str) -> int | None:
        point = model(model_id).points[name]
        value = decode(point, regs[point.offset : point.offset + point.size])
        return value if isinstance(value, int) else None

    def _sf(self, model_id: int, regs: Sequence[int], name: str) -> int | None:
        sf = self._raw(model_id, regs, name)
        if sf is not None and sf not in SF_RANGE:
            raise ValueError(f"scale factor {name} = {sf}")
        return sf

    def _scaled(self, model_id: int, regs: Sequence[int], name: str) -> float | None:
        point = model(model_id).points[name]
        raw = self._raw(model_id, regs, name)
        sf = self._sf(model_id, regs, point.sf) if point.sf else 0
        return None if raw is None or sf is None else scaled(raw, sf)

    # -- Modbus ----------------------------------------------------------------------------------------
    async def _registers(self, address: int, count: int) -> list[int]:
        regs = await self._request("read", address, count)
        assert regs is not None
        return regs

    async def _request(
        self, op: str, address: int, arg: int | list[int], *, missing_ok: bool = False
    ) -> list[int] | None:
        """One Modbus request; an exception response that means "no" is DeviceRefused (or None when
        ``missing_ok`` and the address does not exist), no answer is DeviceUnreachable."""
        unit = self.address.unit_id
        async with self._lock:
            client = await self._connected()
            try:
                if op == "read":
                    assert isinstance(arg, int)
                    reply = await client.read_holding_registers(address, count=arg, device_id=unit)
                else:
                    assert isinstance(arg, list)
                    reply = await client.write_registers(address, arg, device_id=unit)
            except (ModbusException, OSError, TimeoutError) as err:
                self._close()
                self._down(f"no answer: {err}")
                raise DeviceUnreachable(f"{self.link.name}: no answer from {self._where()}: {err}") from None
        self._back()
        if reply.isError():
            code = getattr(reply, "exception_code", None)
            if missing_ok and code == ILLEGAL_ADDRESS:
                return None
            if code in (ILLEGAL_ADDRESS, ILLEGAL_VALUE):
                raise DeviceRefused(f"{self.link.name}: the device refused {op} at {address} (code {code})")
            raise DeviceUnreachable(f"{self.link.name}: the device failed {op} at {address} (code {code})")
        return list(reply.registers) if op == "read" else []

    async def _connected(self) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        self._close()
        client = AsyncModbusTcpClient(
            self.address.host,
            port=self.address.port,
            timeout=self.address.timeout_s,
            retries=0,
            reconnect_delay=0,  # this driver reconnects, with its own backoff
        )
        try:
            connected = await client.connect()
        except OSError:
            connected = False
        if not connected:
            client.close()
            self._down("connection refused or timed out")
            raise DeviceUnreachable(f"{self.link.name}: cannot connect to {self._where()}")
        self._client = client
        return client

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _where(self) -> str:
        return f"{self.address.host}:{self.address.port} unit {self.address.unit_id}"

    def _down(self, why: str) -> None:
        if self.up is not False:
            self.up = False
            log.warning("%s: SunSpec device unavailable: %s", self.link.name, why)
            self.link.availability(self.link.device_id, False, why)

    def _back(self) -> None:
        if self.up is not True:
            if self.up is False:
                log.info("%s: SunSpec device back", self.link.name)
            self.up = True
            self.link.availability(self.link.device_id, True, "answers again")


INFO = register(
    DriverInfo(
        protocol="sunspec",
        title="SunSpec (Modbus TCP)",
        kinds=frozenset({DeviceKind.BATTERY, DeviceKind.PV}),
        products=(
            "Fronius GEN24 Plus (battery: model 124)",
            "any SunSpec inverter with model 123 (PV) or 124 (storage)",
            "a SunSpec DER device with models 704 (PV, battery) and 802 (battery)",
        ),
        expiry=Expiry.NATIVE,
        fail_safe=(
            "native: the expiry is written as the control's revert timeout, InOutWRte_RvrtTms (battery) or "
            "WMaxLimPct_RvrtTms (PV), or 704's WSetRvrtTms / WMaxLimPctRvrtTms with reversion disabled; "
            "the device drops the setpoint or limit by itself when it runs out"
        ),
        config=SunSpecAddress,
        build=SunSpecDriver,
    )
)
