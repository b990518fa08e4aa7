"""Many SimHouseholds stepped together: one loop iteration per minute, numpy over households.

    fleet = Fleet(make_population(1000, seed, realistic=True), start)   # time == start, powers set
    recorder = fleet.record(indoor_floor_c)
    fleet.advance_to(start + timedelta(days=14))
    observed = fleet.stop_recording()
    managed, unmanaged = fleet, fleet.copy()                              # twins from the same state

Each household behaves exactly as `build_household(config)` stepped at 60 s on the minute grid: same
draws, same settings tables and errors, same floats (the tests compare them minute by minute).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import iso
from homeflex.sim.fleet.battery import BatteryRows
from homeflex.sim.fleet.ev import EvRows
from homeflex.sim.fleet.grid import STEP_S, STEP_US, on_minute, to_us
from homeflex.sim.fleet.heat_pump import HeatPumpRows
from homeflex.sim.fleet.inputs import FleetInputs, Span
from homeflex.sim.fleet.meter import MeterRows
from homeflex.sim.fleet.pv import PvRows
from homeflex.sim.fleet.recorder import DEVICE_IDS, PhaseRecord, PhaseRecorder
from homeflex.sim.fleet.rows import FloatArray
from homeflex.sim.fleet.smart_plug import PlugRows
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.settings import Settings, Value
from homeflex.sim.population import KINDS, SimHouseholdConfig, build_household

SPAN_STEPS = 1440  # exogenous inputs are computed a day of steps at a time
POWER_ROW = {d: 1 + j for j, d in enumerate(DEVICE_IDS)}  # Fleet.power rows; row 0 is the net


class Fleet:
    """Households `0..n-1` in `configs` order; `time` is the end of the last step (all share it)."""

    def __init__(self, configs: Sequence[SimHouseholdConfig], start: datetime) -> None:
        if not configs:
            raise ValueError("a fleet needs at least one household")
        unreal = [c.spec.id for c in configs if not c.realistic]
        if unreal:
            raise ValueError(
                f"the fleet runs realistic configs only (make_population(..., realistic=True)); "
                f"not realistic: {', '.join(unreal[:5])}"
            )
        households = [build_household(c) for c in configs]
        self._build(FleetInputs(households), households, [c.seed for c in configs])
        self.advance_to(start)

    def _build(self, inputs: FleetInputs, households: Sequence[SimHousehold], seeds: Sequence[int]) -> None:
        self.inputs = inputs
        self.n = len(households)
        self.ids = [h.id for h in households]
        for h in households:
            unknown = [d for d in h.devices if d not in DEVICE_IDS or h.devices[d].kind != KINDS[d]]
            if unknown:
                raise ValueError(f"{h.id}: devices {unknown} are not as build_household names them")
        self.devices = [tuple(h.devices) for h in households]
        self.settings = [
            {d: Settings(list(m.settings.table.values())) for d, m in h.devices.items()} for h in households
        ]
        self.ev = EvRows(inputs.evs, seeds)
        self.heat_pump = HeatPumpRows(inputs.hp_params)
        self.battery = BatteryRows(inputs.battery_params)
        self.pv = PvRows(inputs.pv_params)
        self.plug = PlugRows(inputs.plugs)
        self.meter = MeterRows(self.n)
        self.power = np.zeros((1 + len(DEVICE_IDS), self.n))  # W: net, then each device id
        self.time: datetime | None = None
        self.time_us = 0
        self.outdoor_c = float("nan")
        self.recorder: PhaseRecorder | None = None
        self._span: Span | None = None
        self._k = 0  # next step in the span
        self._views()

    def _views(self) -> None:
        self._net, self._ev_w, self._hp_w, self._battery_w, self._pv_w, self._plug_w = self.power
        self._has = {
            d: any(d in devices for devices in self.devices) for d in ("ev", "heat_pump", "pv", "plug")
        }

    @property
    def now(self) -> datetime:
        assert self.time is not None
        return self.time

    @property
    def power_w(self) -> FloatArray:
        """Net power per household, W (+ import)."""
        return self._net

    # --- time -----------------------------------------------------------------------------------------

    def advance_to(self, t: datetime) -> None:
        """Step a minute at a time from the last step to `t` (on the minute grid); a first call sets the
        time with a 0 s step, as SimHousehold.advance_to does: powers are set, no energy moves."""
        if self.time is None:
            if not on_minute(t):
                raise ValueError(f"the fleet starts on a whole minute, got {t}")
            self._step(self.inputs.span(t, 1, 0.0), 0, 0.0)
            return
        target = to_us(t)
        if target % STEP_US:
            raise ValueError(f"the fleet steps on whole minutes, got {t}")
        for _ in range(max(0, (target - self.time_us) // STEP_US)):
            self.step()

    def step(self) -> None:
        """One minute for every household."""
        if self.time is None:
            raise ValueError("start the fleet with advance_to first")
        if self._span is None or self._k >= len(self._span):
            self._span = self.inputs.span(self.time + timedelta(seconds=STEP_S), SPAN_STEPS, STEP_S)
            self._k = 0
        self._k += 1
        self._step(self._span, self._k - 1, STEP_S)

    def _step(self, span: Span, k: int, dt_s: float) -> None:
        now = span.minutes.times[k]
        now_us = span.minutes.times_us[k]
        outdoor = span.outdoor_c[k]
        net = self._net
        if self._has["ev"]:
            self.ev.step(now_us, span.sessions, k, dt_s, self._ev_w)
        if self._has["heat_pump"]:
            self.heat_pump.step(outdoor, span.cop[k], dt_s, self._hp_w)
        if self._has["pv"]:
            self.pv.step(span.poa_w_m2[k], span.pv_available_w[k], self._pv_w)
        if self._has["plug"]:
            self.plug.step(span.plug_scheduled[k], self._plug_w)
        # The scalar household adds in device order (ev, heat pump, pv, plug) and the battery last, as it
        # answers the rest of the house; a device a household lacks adds an exact 0.
        np.add(span.base_w[k], self._ev_w, out=net)
        np.add(net, self._hp_w, out=net)
        np.add(net, self._pv_w, out=net)
        np.add(net, self._plug_w, out=net)
        self.battery.step(net, span.offpeak[k], span.any_offpeak[k], dt_s, self._battery_w)
        np.add(net, self._battery_w, out=net)
        self.meter.step(net, dt_s)
        self.time, self.time_us, self.outdoor_c = now, now_us, outdoor
        if self.recorder is not None:
            self.recorder.sample(self)

    # --- twins ----------------------------------------------------------------------------------------

    def copy(self) -> Fleet:
        """An independent twin from the current state (settings, pending EV delays and their generators
        included); it shares the exogenous inputs, so running the same days computes them once."""
        return self._clone(1)

    def doubled(self) -> Fleet:
        """A fleet of 2n rows: rows i and n + i both continue from household i's current state."""
        return self._clone(2)

    def _clone(self, copies: int) -> Fleet:
        new = Fleet.__new__(Fleet)
        new.__dict__.update(self.__dict__)
        new.inputs = self.inputs if copies == 1 else self.inputs.repeated(copies)
        new.n = self.n * copies
        new.ids = self.ids * copies
        new.devices = self.devices * copies
        new.settings = [
            {d: _copy_settings(s) for d, s in row.items()} for _ in range(copies) for row in self.settings
        ]
        for name in ("ev", "heat_pump", "battery", "pv", "plug", "meter"):
            setattr(new, name, getattr(self, name).copied(copies))
        new.power = np.tile(self.power, (1, copies))
        new.recorder = None
        if copies > 1:  # the span in hand is for n households: the next step starts a new one
            new._span = None
        new._views()
        return new

    # --- recording ------------------------------------------------------------------------------------

    def record(self, indoor_floor_c: Sequence[float] | FloatArray | None = None) -> PhaseRecorder:
        """Start recording a phase (a recording in progress is replaced); `indoor_floor_c` per household
        counts the minutes a heat-pump home spends below it."""
        self.recorder = PhaseRecorder(self, indoor_floor_c)
        return self.recorder

    def stop_recording(self) -> PhaseRecord:
        if self.recorder is None:
            raise ValueError("the fleet is not recording")
        record, self.recorder = self.recorder.result(), None
        return record

    # --- devices as the control core sees them ------------------------------------------------------

    def _settings(self, i: int, device_id: str) -> Settings:
        try:
            return self.settings[i][device_id]
        except KeyError:
            valid = ", ".join(self.devices[i]) or "none"
            raise ValueError(f"{self.ids[i]} has no device {device_id!r} (devices: {valid})") from None

    def device_state(self, i: int, device_id: str) -> dict[str, object]:
        """What SimHousehold.device_state gives for household i."""
        settings = self._settings(i, device_id)
        state = self._device_rows(device_id).state(i)
        return {
            "kind": KINDS[device_id].value,
            "power_w": round(float(self.power[POWER_ROW[device_id], i]), 1),
            "settings": dict(settings.values),
            **state,
        }

    def states(self, i: int) -> dict[str, dict[str, object]]:
        """Every device's state and the meter's power, as closedloop._states builds them."""
        states = {d: self.device_state(i, d) for d in self.devices[i]}
        states["meter"] = {"power_w": round(float(self._net[i]), 1)}
        return states

    def meter_reading(self, i: int) -> dict[str, object]:
        return {
            "ts": iso(self.now),
            "import_wh": round(float(self.meter.import_wh[i]), 3),
            "export_wh": round(float(self.meter.export_wh[i]), 3),
            "power_w": round(float(self._net[i]), 1),
        }

    def apply(
        self, i: int, device_id: str, settings: Mapping[str, object], now: datetime | None = None
    ) -> None:
        """As SimHousehold.apply: validate all of `settings` (ValueError names the problem and nothing
        changes), then apply them together; `now` is when the command arrived (default: the fleet's time)."""
        table = self._settings(i, device_id)
        try:
            values = table.validate(settings)
        except ValueError as err:
            raise ValueError(f"{self.ids[i]}/{device_id}: {err}") from None
        table.values.update(values)
        self._apply(i, device_id, values, table, now or self.time)

    def reset(self, i: int, device_id: str, now: datetime | None = None) -> None:
        """Back to default behaviour: every setting to None."""
        table = self._settings(i, device_id)
        values = dict.fromkeys(table.values)
        table.values.update(values)
        self._apply(i, device_id, values, table, now or self.time)

    def _device_rows(self, device_id: str) -> EvRows | HeatPumpRows | BatteryRows | PvRows | PlugRows:
        match KINDS[device_id]:
            case DeviceKind.EV_CHARGER:
                return self.ev
            case DeviceKind.HEAT_PUMP:
                return self.heat_pump
            case DeviceKind.BATTERY:
                return self.battery
            case DeviceKind.PV:
                return self.pv
            case _:
                return self.plug

    def _apply(
        self, i: int, device_id: str, values: Mapping[str, Value], table: Settings, now: datetime | None
    ) -> None:
        rows = self._device_rows(device_id)
        if isinstance(rows, EvRows):
            rows.apply(i, values, table, now or self.now)
        else:
            rows.apply(i, table)


def _copy_settings(settings: Settings) -> Settings:
    twin = Settings(list(settings.table.values()))
    twin.values = dict(settings.values)
    return twin
