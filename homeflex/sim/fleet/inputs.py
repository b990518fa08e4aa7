"""Everything the households do not control, for all of them over a span of steps, computed in bulk.

Per step and household: base load, PV available output, whether the smart plug's appliance is scheduled,
the EV sessions; shared by everyone: outdoor temperature and plane-of-array irradiance (one London weather
year, one PV plane), the heat pumps' COP and the batteries' off-peak window (one column when all
households share the curve or window). The seeded draws are the scalar models' own (one Python call per
household per day), so the runs and sessions are exactly the scalar ones.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast

import numpy as np

from homeflex.sim.fleet.base_load import base_load_w
from homeflex.sim.fleet.battery import offpeak_table
from homeflex.sim.fleet.ev import Sessions, sessions
from homeflex.sim.fleet.grid import Minutes, to_us
from homeflex.sim.fleet.heat_pump import cop_table
from homeflex.sim.fleet.pv import available_w
from homeflex.sim.fleet.rows import BoolArray, FloatArray
from homeflex.sim.fleet.smart_plug import scheduled
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.battery import Battery, BatteryParams
from homeflex.sim.physics.calendar import local_hours
from homeflex.sim.physics.ev import EvCharger
from homeflex.sim.physics.heat_pump import HeatPump, HeatPumpParams
from homeflex.sim.physics.pv import PvInverter, PvParams
from homeflex.sim.physics.smart_plug import SmartPlug
from homeflex.sim.realdata.london_weather import RealIrradiance, RealTemperature
from homeflex.sim.realdata.uk_base_load import RealBaseLoad

T = TypeVar("T")

SPANS_KEPT = 2  # spans cached per inputs object: a copy stepping the same days in turn reuses them


@dataclass(frozen=True, eq=False)
class Span:
    """Exogenous inputs for `len(minutes)` steps ending at `minutes.times`; arrays are steps x households."""

    minutes: Minutes
    outdoor_c: list[float]
    poa_w_m2: list[float]
    base_w: FloatArray
    pv_available_w: FloatArray
    plug_scheduled: BoolArray
    sessions: Sessions
    cop: FloatArray  # steps x 1 (shared) or steps x households
    offpeak: BoolArray  # steps x 1 (shared) or steps x households
    any_offpeak: list[bool]  # per step: is any battery in its window

    def __len__(self) -> int:
        return len(self.minutes)


def _typed(models: Sequence[object], kind: type[T]) -> list[T | None]:
    return [m if isinstance(m, kind) else None for m in models]


class FleetInputs:
    """The scalar sources and seeded draws of `households`, read in bulk; `copies` > 1 repeats the
    households side by side (twin rows) without computing anything twice."""

    def __init__(self, households: Sequence[SimHousehold], copies: int = 1) -> None:
        self.households = list(households)
        self.copies = copies
        self.n = len(self.households) * copies
        loads, temperatures = [], []
        for h in self.households:
            if not isinstance(h.base_load, RealBaseLoad) or not isinstance(h.weather, RealTemperature):
                raise ValueError(f"{h.id}: the fleet runs realistic households only (real weather and load)")
            loads.append(h.base_load)
            temperatures.append(h.weather)
        if len({id(t.weather) for t in temperatures}) != 1:
            raise ValueError("the fleet's households must share one weather year")
        self.temperature = temperatures[0]
        self.base_loads = loads
        self.evs = _typed([h.devices.get("ev") for h in self.households], EvCharger)
        self.plugs = _typed([h.devices.get("plug") for h in self.households], SmartPlug)
        hps = _typed([h.devices.get("heat_pump") for h in self.households], HeatPump)
        batteries = _typed([h.devices.get("battery") for h in self.households], Battery)
        pvs = _typed([h.devices.get("pv") for h in self.households], PvInverter)
        self.hp_params: list[HeatPumpParams | None] = [None if d is None else d.params for d in hps]
        self.battery_params: list[BatteryParams | None] = [None if d is None else d.params for d in batteries]
        self.pv_params: list[PvParams | None] = [None if d is None else d.params for d in pvs]
        self.irradiance = RealIrradiance(self.temperature.weather)
        for pv in pvs:
            sky = None if pv is None else pv.irradiance
            if pv is not None and not (
                isinstance(sky, RealIrradiance)
                and sky.weather is self.temperature.weather
                and sky.site == self.irradiance.site
            ):
                raise ValueError("the fleet's PV must all see the weather year on the default plane")
        self._spans: OrderedDict[tuple[int, int, float], Span] = OrderedDict()
        self.compute_s = 0.0  # CPU seconds spent computing spans (for benchmarks)

    def repeated(self, copies: int) -> FleetInputs:
        """These households `copies` times as many times side by side (the span cache is not shared)."""
        new = FleetInputs.__new__(FleetInputs)
        new.__dict__.update(self.__dict__)
        new.copies = self.copies * copies
        new.n = self.n * copies
        new._spans = OrderedDict()
        new.compute_s = 0.0
        return new

    def span(self, first: datetime, steps: int, dt_s: float) -> Span:
        """Inputs for `steps` steps of `dt_s` whose first ends at `first` (kept for a few later asks)."""
        key = (to_us(first), steps, dt_s)
        found = self._spans.get(key)
        if found is None:
            started = time.process_time()
            found = self._spans[key] = self._compute(Minutes(first, steps, dt_s))
            self.compute_s += time.process_time() - started
            if len(self._spans) > SPANS_KEPT:
                self._spans.popitem(last=False)
        return found

    def _compute(self, minutes: Minutes) -> Span:
        outdoor = [self.temperature(t) for t in minutes.times]
        poa = [self.irradiance(t) for t in minutes.times]
        hours = [local_hours(t) for t in minutes.times]
        n = len(self.households)
        c = self.copies
        offpeak = offpeak_table(self.battery_params, hours)

        def wide(a: np.ndarray) -> np.ndarray:  # a steps x households table for all copies
            return a if c == 1 or a.shape[1] == 1 else np.tile(a, (1, c))

        return Span(
            minutes=minutes,
            outdoor_c=outdoor,
            poa_w_m2=poa,
            base_w=wide(base_load_w(self.base_loads, minutes)),
            pv_available_w=wide(available_w(self.pv_params, np.array(poa), np.array(outdoor))),
            plug_scheduled=wide(scheduled(self.plugs, minutes)),
            sessions=sessions(self.evs, minutes).repeated(c, n),
            cop=wide(cop_table(self.hp_params, outdoor)),
            offpeak=wide(offpeak),
            any_offpeak=cast(list[bool], offpeak.any(axis=1).tolist()),
        )
