"""A simulated SunSpec device on Modbus TCP (a pymodbus server, one per device, as a real inverter has its
own address): a home battery (models 1 common, 103 inverter, 124 storage) or a PV inverter (1, 103, 121
basic settings, 123 immediate controls), its map built from the published model definitions
(homeflex.core.sunspec_models) and its values live from the household's physics.

    battery  StorCtl_Mod bit0 limits charging to InWRte, bit1 discharging to OutWRte (% of WChaMax; a
             negative rate forces the other direction); the window [-OutWRte, InWRte] becomes the
             battery's setpoint nearest zero (the physics takes one setpoint: a window of one point is
             exact, which is how homeflex commands it). InOutWRte_RvrtTms > 0: after that many seconds
             of the device's clock the limits end (StorCtl_Mod 0). ChaGriSet (0 PV only, 1 grid) is kept
             but not modelled: the physics charges from the house whatever its source.
    pv       WMaxLim_Ena 1 caps the output at WMaxLimPct % of WMax (model 121); WMaxLimPct_RvrtTms as above.

With ``models`` giving the DER models instead (SunSpec 7xx/8xx, IEEE 1547):

    704      battery: WSetEna 1 holds it at WSet W (WSetMod 1; WSetMod 0: WSetPct % of its rating), + into
             the grid (discharge); pv: WMaxLimPctEna 1 caps the output at WMaxLimPct %. Each control's
             WSetRvrtTms / WMaxLimPctRvrtTms > 0 reverts it after that many seconds to its reversion
             values (WSetEnaRvrt, WSetRvrt / WMaxLimPctEnaRvrt, WMaxLimPctRvrt; enable 0: its own behaviour).
    802      the battery: ratings, SoC (live), W (the battery's power, + charge; live), LocRemCtl (0 remote;
             option ``local`` 1: it takes no remote control and refuses a 704 WSetEna 1).

A write the device cannot take (a rate beyond 100 %, a read-only point) is a Modbus exception and
changes nothing. Options: ``host`` (127.0.0.1), ``port`` (502; 0 picks a free one, see ``port``),
``unit_id`` (1), ``base`` (40000), ``models`` (ids, default by kind), ``unimplemented`` (point names that
hold "not implemented"), ``scale`` (scale-factor point -> value).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from homeflex.core.clock import Clock, sleep_until
from homeflex.core.domain import DeviceKind
from homeflex.core.sunspec import MARKER, SF_RANGE, Model, Point, decode, encode, model, scaled, unscaled
from homeflex.core.tasks import stop_tasks
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.pv import PvInverter
from homeflex.sim.protocols import ENDPOINTS

log = logging.getLogger(__name__)

DEFAULT_MODELS = {DeviceKind.BATTERY: (1, 103, 124), DeviceKind.PV: (1, 103, 121, 123)}
SCALE = {  # the device's scale factors (fixed, as on real devices); ``scale`` overrides them
    "A_SF": -2, "V_SF": -1, "W_SF": 0, "Hz_SF": -2, "WH_SF": 0, "Tmp_SF": -1, "WMax_SF": 0,
    "WChaMax_SF": 1, "WChaDisChaGra_SF": 0, "ChaState_SF": -1, "InOutWRte_SF": -2, "WMaxLimPct_SF": -1,
    "PF_SF": -3, "WSet_SF": 0, "WSetPct_SF": -1, "VarSet_SF": 0, "VarSetPct_SF": -1,  # 704
    "AHRtg_SF": 0, "WHRtg_SF": 0, "WChaDisChaMax_SF": 0, "SoC_SF": -1, "CellV_SF": -3, "AMax_SF": 0,  # 802
}  # fmt: skip
WRITABLE = {  # what this device lets a client write (other points: ILLEGAL_ADDRESS)
    124: {"StorCtl_Mod", "OutWRte", "InWRte", "InOutWRte_WinTms", "InOutWRte_RvrtTms", "InOutWRte_RmpTms",
          "ChaGriSet", "MinRsvPct"},
    123: {"WMaxLimPct", "WMaxLimPct_WinTms", "WMaxLimPct_RvrtTms", "WMaxLimPct_RmpTms", "WMaxLim_Ena"},
    704: {"WSetEna", "WSetMod", "WSet", "WSetRvrt", "WSetPct", "WSetPctRvrt", "WSetEnaRvrt", "WSetRvrtTms",
          "WMaxLimPctEna", "WMaxLimPct", "WMaxLimPctRvrt", "WMaxLimPctEnaRvrt", "WMaxLimPctRvrtTms"},
    802: {"SocRsvMax", "SoCRsvMin", "CtrlHb", "AlmRst", "SetOp", "SetInvState"},
}  # fmt: skip


@dataclass(frozen=True)
class Control:
    """A control with a revert timeout: its timeout point, its enable point, and what the enable point
    and the value points become when the timeout runs out (point -> the point holding its reversion
    value; None: 0, the device's own behaviour)."""

    timeout: str
    enable: str
    revert: dict[str, str | None]


CONTROLS = {
    (124, DeviceKind.BATTERY): Control("InOutWRte_RvrtTms", "StorCtl_Mod", {"StorCtl_Mod": None}),
    (123, DeviceKind.PV): Control("WMaxLimPct_RvrtTms", "WMaxLim_Ena", {"WMaxLim_Ena": None}),
    (704, DeviceKind.BATTERY): Control(
        "WSetRvrtTms", "WSetEna", {"WSetEna": "WSetEnaRvrt", "WSet": "WSetRvrt", "WSetPct": "WSetPctRvrt"}
    ),
    (704, DeviceKind.PV): Control(
        "WMaxLimPctRvrtTms",
        "WMaxLimPctEna",
        {"WMaxLimPctEna": "WMaxLimPctEnaRvrt", "WMaxLimPct": "WMaxLimPctRvrt"},
    ),
}  # fmt: skip


class SunSpecDevice:
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
        self.household, self.device_id, self.clock, self.step_s = household, device_id, clock, step_s
        physics = household.device(device_id)
        if not isinstance(physics, Battery | PvInverter):
            raise ValueError(f"a simulated SunSpec device is a battery or a PV inverter, not {device_id!r}")
        self.physics: Battery | PvInverter = physics
        self.host = str(options.get("host", "127.0.0.1"))
        self.port = int(options.get("port", 502))
        self.unit_id = int(options.get("unit_id", 1))
        self.base = int(options.get("base", 40000))
        self.models = tuple(int(m) for m in options.get("models", DEFAULT_MODELS[self.physics.kind]))
        self.unimplemented = frozenset(options.get("unimplemented", ()))
        self.local = bool(options.get("local", False))  # model 802: under local control only
        self.scale = {**SCALE, **dict(options.get("scale", {}))}
        self.at: dict[int, int] = {}  # model id -> address of its ID
        self.image = self._build()  # the registers from ``base``: the device's truth
        self.energy_wh = 2_000_000.0  # AC energy delivered, lifetime (model 103 WH; 0 is "not implemented")
        self.metered: datetime | None = None
        self.reads = 0  # read requests answered (tests wait on it)
        self.reverted: list[tuple[int, datetime]] = []  # (model, device time) of each revert
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._server: ModbusTcpServer | None = None
        self._task: asyncio.Task[None] | None = None

    # -- the map ---------------------------------------------------------------------------------------
    def _build(self) -> list[int]:
        image = list(MARKER)
        for model_id in self.models:
            spec = model(model_id)
            self.at[model_id] = self.base + len(image)
            for point in spec.points.values():
                image += encode(point, self._initial(spec, point))
        return [*image, 0xFFFF, 0]

    def _initial(self, spec: Model, point: Point) -> int | str | None:
        if point.name in self.unimplemented:
            return None
        if point.name == "ID":
            return spec.id
        if point.name == "L":
            return spec.length
        if point.type == "sunssf":
            return self.scale.get(point.name)
        static: dict[str, int | str] = {
            "Mn": "homeflex", "Md": f"simulated {self.physics.kind.value}", "Vr": "1.0",
            "SN": f"{self.household.id}-{self.device_id}", "DA": self.unit_id, "St": 4,  # MPPT: producing
            "PhVphA": unscaled(230.0, self.scale["V_SF"]), "Hz": unscaled(50.0, self.scale["Hz_SF"]),
            "TmpCab": unscaled(25.0, self.scale["Tmp_SF"]), "Evt1": 0, "Evt2": 0, "Conn": 1,
            "StorCtl_Mod": 0, "InWRte": unscaled(100.0, self.scale["InOutWRte_SF"]),
            "OutWRte": unscaled(100.0, self.scale["InOutWRte_SF"]), "InOutWRte_RvrtTms": 0,
            "InOutWRte_WinTms": 0, "InOutWRte_RmpTms": 0, "ChaGriSet": 0, "WChaGra": 100, "WDisChaGra": 100,
            "WMaxLimPct": unscaled(100.0, self.scale["WMaxLimPct_SF"]), "WMaxLimPct_RvrtTms": 0,
            "WMaxLimPct_WinTms": 0, "WMaxLimPct_RmpTms": 0, "WMaxLim_Ena": 0,
            # 704: active power and its limit; the power factor and reactive power are not implemented
            "WSetEna": 0, "WSetMod": 1, "WSet": 0, "WSetRvrt": 0, "WSetPct": 0, "WSetPctRvrt": 0,
            "WSetEnaRvrt": 0, "WSetRvrtTms": 0, "WSetRvrtRem": 0, "WMaxLimPctEna": 0,
            "WMaxLimPctRvrt": unscaled(100.0, self.scale["WMaxLimPct_SF"]), "WMaxLimPctEnaRvrt": 0,
            "WMaxLimPctRvrtTms": 0, "WMaxLimPctRvrtRem": 0, "AntiIslEna": 1,
            # 802
            "LocRemCtl": 1 if self.local else 0, "Typ": 4, "State": 3, "ChaSt": 6, "AlmRst": 0, "SetOp": 1,
            "SetInvState": 1, "EvtVnd1": 0, "EvtVnd2": 0, "SoCMax": 1000, "SoCMin": 0,
            "V": unscaled(400.0, self.scale["V_SF"]), "A": 0, "W": 0,
        }  # fmt: skip
        if point.name in ("WChaMax", "WMax", "WChaRteMax", "WDisChaRteMax"):
            return unscaled(self._rating_w(), self.scale[point.sf or ""])
        if point.name == "WHRtg" and isinstance(self.physics, Battery):
            return unscaled(self.physics.params.capacity_wh, self.scale["WHRtg_SF"])
        if point.name == "AHRtg" and isinstance(self.physics, Battery):
            return unscaled(self.physics.params.capacity_wh / 400.0, self.scale["AHRtg_SF"])
        return static.get(point.name)

    def _rating_w(self) -> float:
        physics = self.physics
        return physics.params.p_max_w if isinstance(physics, Battery) else physics.params.p_ac_max_w

    def point(self, model_id: int, name: str) -> tuple[int, Point]:
        """The index in ``image`` of a point, and the point."""
        found = model(model_id).points[name]
        return self.at[model_id] - self.base + found.offset, found

    def get(self, model_id: int, name: str, image: Sequence[int] | None = None) -> int | str | None:
        index, found = self.point(model_id, name)
        return decode(found, (image or self.image)[index : index + found.size])

    def put(self, model_id: int, name: str, value: int | str | None) -> None:
        index, found = self.point(model_id, name)
        if found.name not in self.unimplemented:
            self.image[index : index + found.size] = encode(found, value)

    def value(self, model_id: int, name: str, image: Sequence[int] | None = None) -> float | None:
        """A point scaled by its scale factor (None: not implemented)."""
        raw, sf_name = self.get(model_id, name, image), model(model_id).points[name].sf
        sf = self.get(model_id, sf_name, image) if sf_name else 0
        return None if not isinstance(raw, int) or not isinstance(sf, int) else scaled(raw, sf)

    # -- server ----------------------------------------------------------------------------------------
    async def __aenter__(self) -> SunSpecDevice:
        registers = SimData(self.base, values=list(self.image), datatype=DataType.REGISTERS)
        device = SimDevice(id=self.unit_id, simdata=[registers], action=self._action)
        self._server = ModbusTcpServer(device, address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        listener = self._server.transport
        sockets = getattr(listener, "sockets", None)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("%s/%s: SunSpec on %s:%d unit %d", self.household.id, self.device_id, self.host,
                 self.port, self.unit_id)  # fmt: skip
        return self

    async def __aexit__(self, *exc: object) -> None:
        await stop_tasks(list(self._timers.values()))
        self._timers.clear()
        if self._server is not None:
            with suppress(Exception):  # closing a listener whose clients already left
                await self._server.shutdown()
            self._server = None

    async def publish_state(self) -> None:
        """A Modbus device is asked, it does not publish: keep the live values fresh between reads."""
        self._refresh()

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        offset = address - start_address
        if values is None:
            self.reads += 1
            self._refresh()
        else:
            problem = self._write(offset, [int(v) for v in values])
            if problem is not None:
                return problem
        registers[:] = self.image
        return None

    # -- live values -----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        now = self.clock.now()
        self.household.advance_to(now, self.step_s)
        power_w = float(self.physics.power_w)  # + consumption
        ac_w = -power_w  # model 103: + into the grid
        if self.metered is not None and now > self.metered:
            self.energy_wh += max(ac_w, 0.0) * (now - self.metered).total_seconds() / 3600
        self.metered = now
        self._put_scaled(103, "W", ac_w)
        self._put_scaled(103, "A", abs(ac_w) / 230.0)
        self._put_scaled(103, "AphA", abs(ac_w) / 230.0)
        self._put_scaled(103, "WH", self.energy_wh)
        if isinstance(self.physics, Battery) and 124 in self.at:
            self._put_scaled(124, "ChaState", self.physics.soc * 100)
        if isinstance(self.physics, Battery) and 802 in self.at:
            self._put_scaled(802, "SoC", self.physics.soc * 100)
            self._put_scaled(802, "W", power_w)  # the battery's own power: + charge
            self._put_scaled(802, "A", power_w / 400.0)

    def _put_scaled(self, model_id: int, name: str, value: float) -> None:
        if model_id in self.at:
            sf = self.get(model_id, model(model_id).points[name].sf or "")
            if isinstance(sf, int) and sf in SF_RANGE:  # else leave the point as it is (junk stays junk)
                self.put(model_id, name, unscaled(value, sf))

    # -- writes ----------------------------------------------------------------------------------------
    def _write(self, offset: int, values: list[int]) -> ExcCodes | None:
        """Check a write against what the device lets a client change, then apply it as one."""
        touched = self._points(offset, len(values))
        if touched is None or any(p.name not in WRITABLE.get(m, set()) or p.name in self.unimplemented
                                  for m, p in touched):  # fmt: skip
            return ExcCodes.ILLEGAL_ADDRESS
        image = list(self.image)
        image[offset : offset + len(values)] = values
        for model_id in {m for m, _ in touched}:
            settings = self._settings(model_id, image)
            if settings is None:
                return ExcCodes.ILLEGAL_VALUE
            now = self.clock.now()
            self.household.advance_to(now, self.step_s)  # the time so far ran under the old settings
            self.image = image
            self.household.apply(self.device_id, settings, now)
            self.household.refresh()
            self._arm(model_id, now)
        return None

    def _points(self, offset: int, count: int) -> list[tuple[int, Point]] | None:
        """The whole points a write covers; None if it covers part of one or no model's point."""
        covered, index = [], offset
        while index < offset + count:
            found = self._point_at(index)
            if found is None or found[1] < index or found[1] + found[2].size > offset + count:
                return None
            covered.append((found[0], found[2]))
            index = found[1] + found[2].size
        return covered

    def _point_at(self, index: int) -> tuple[int, int, Point] | None:
        for model_id in self.models:
            start = self.at[model_id] - self.base
            for point in model(model_id).points.values():
                if start + point.offset <= index < start + point.offset + point.size:
                    return model_id, start + point.offset, point
        return None

    def _settings(self, model_id: int, image: list[int]) -> dict[str, float | None] | None:
        """The physics' settings the control points of ``image`` ask for; None if they are not valid."""
        if model_id == 124:
            return self._storage(image)
        if model_id == 123:
            return self._curtail(image)
        if model_id == 704:
            return self._der(image)
        return {}

    def _storage(self, image: list[int]) -> dict[str, float | None] | None:
        mode = self.get(124, "StorCtl_Mod", image)
        rate_in, rate_out = self.value(124, "InWRte", image), self.value(124, "OutWRte", image)
        rating = self.value(124, "WChaMax", image)
        if not isinstance(mode, int) or mode > 3 or rating is None:
            return None
        if any(r is not None and not -100 <= r <= 100 for r in (rate_in, rate_out)):
            return None
        if mode == 0:
            return {"power_w": None}
        high = rating * rate_in / 100 if mode & 1 and rate_in is not None else rating
        low = -rating * rate_out / 100 if mode & 2 and rate_out is not None else -rating
        if low > high:
            return None
        return {"power_w": round(min(max(0.0, low), high), 1)}

    def _curtail(self, image: list[int]) -> dict[str, float | None] | None:
        enabled, pct = self.get(123, "WMaxLim_Ena", image), self.value(123, "WMaxLimPct", image)
        if enabled not in (0, 1) or pct is None or not 0 <= pct <= 100:
            return None
        return {"export_limit_w": round(self._rating_w() * pct / 100, 1) if enabled else None}

    def _der(self, image: list[int]) -> dict[str, float | None] | None:
        """Model 704: the battery's active power setpoint, or the PV's output limit."""
        if isinstance(self.physics, PvInverter):
            enabled, pct = self.get(704, "WMaxLimPctEna", image), self.value(704, "WMaxLimPct", image)
            if enabled not in (0, 1) or pct is None or not 0 <= pct <= 100:
                return None
            return {"export_limit_w": round(self._rating_w() * pct / 100, 1) if enabled else None}
        enabled, mode = self.get(704, "WSetEna", image), self.get(704, "WSetMod", image)
        if enabled not in (0, 1) or mode not in (0, 1):
            return None
        if enabled == 0:
            return {"power_w": None}
        if self.local:  # 802 LocRemCtl LOCAL: the battery takes no remote setpoint
            return None
        rating = self._rating_w()
        inject = self.value(704, "WSet", image) if mode == 1 else None
        if mode == 0 and (pct := self.value(704, "WSetPct", image)) is not None:
            inject = rating * pct / 100
        if inject is None or abs(inject) > rating:
            return None
        return {"power_w": round(-inject, 1)}  # 704: + into the grid; the battery's setpoint: + charge

    # -- revert timeouts -------------------------------------------------------------------------------
    def _arm(self, model_id: int, now: datetime) -> None:
        """Each write of a control restarts its revert timeout (0 or not implemented: none)."""
        old = self._timers.pop(model_id, None)
        if old is not None:
            old.cancel()
        control = CONTROLS.get((model_id, self.physics.kind))
        seconds = self.get(model_id, control.timeout) if control else None
        if control and isinstance(seconds, int) and seconds > 0 and self.get(model_id, control.enable):
            when = now + timedelta(seconds=seconds)
            self._timers[model_id] = asyncio.get_running_loop().create_task(
                self._revert(model_id, control, when)
            )

    async def _revert(self, model_id: int, control: Control, when: datetime) -> None:
        await sleep_until(self.clock, when)
        self.household.advance_to(when, self.step_s)
        for point, source in control.revert.items():
            self.put(model_id, point, 0 if source is None else self.get(model_id, source))
        settings = self._settings(model_id, self.image) or {}
        if all(v is None for v in settings.values()):
            self.household.reset(self.device_id, when)
        else:
            self.household.apply(self.device_id, settings, when)
        self.household.refresh()
        self.reverted.append((model_id, when))
        self._timers.pop(model_id, None)
        log.info("%s/%s: SunSpec model %d control reverted", self.household.id, self.device_id, model_id)


ENDPOINTS.register("sunspec")(SunSpecDevice)
