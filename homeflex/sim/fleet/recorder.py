"""What a phase of a fleet run keeps: per UTC half-hour means (as `closedloop.Trace.half_hourly` makes
them, in the same order of additions, so the same floats), per household counts and EV departures.

Memory is per half-hour, never per minute: a 14-day phase of 1,000 households holds 672 rows of each
series. A minute sample ending at t belongs to the half-hour containing t - 30 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from homeflex.sim.fleet.grid import PERIOD_US, STEP_US, from_us
from homeflex.sim.fleet.rows import BoolArray, FloatArray, IntArray

if TYPE_CHECKING:
    from homeflex.sim.fleet.fleet import Fleet

DEVICE_IDS = ("ev", "heat_pump", "battery", "pv", "plug")  # rows 1.. of Fleet.power; row 0 is the net
EvDeparture = tuple[datetime, float, float]  # when, soc (as the EV's state rounds it), target soc


@dataclass(frozen=True, kw_only=True, eq=False)
class PhaseRecord:
    """Half-hourly series are periods x households (`outdoor_c` periods only); a household without a
    device has NaN in that device's series."""

    ids: list[str]
    periods: list[datetime]  # UTC half-hour starts
    samples: IntArray  # minute samples per period
    net_kw: FloatArray
    import_kwh: FloatArray  # energy through the import register in the period
    export_kwh: FloatArray
    device_kw: dict[str, FloatArray]
    outdoor_c: FloatArray
    indoor_below_minutes: IntArray  # per household: minutes with indoor below its floor
    ev_departures: list[list[EvDeparture]]  # per household

    def half_hourly(self, series: FloatArray, row: int) -> dict[datetime, float]:
        """One household's column of `series` as Trace.half_hourly gives it: period start -> mean."""
        return {t: float(v) for t, v in zip(self.periods, series[:, row], strict=True)}


class PhaseRecorder:
    """Attached to a fleet (`Fleet.record`), it samples after every step; `Fleet.stop_recording` ends it."""

    def __init__(self, fleet: Fleet, indoor_floor_c: Sequence[float] | FloatArray | None = None) -> None:
        n = fleet.n
        self.ids = list(fleet.ids)
        self.owned = {d: np.array([d in devices for devices in fleet.devices]) for d in DEVICE_IDS}
        floor = np.full(n, -np.inf) if indoor_floor_c is None else np.asarray(indoor_floor_c, np.float64)
        if floor.shape != (n,):
            raise ValueError(f"indoor_floor_c needs one value per household ({n}), got {floor.shape}")
        self.floor = np.where(self.owned["heat_pump"], floor, -np.inf)  # no heat pump: never cold
        self.floors = bool(np.isfinite(self.floor).any())  # NaN or -inf: no floor
        self.below = np.zeros(n, dtype=np.int64)
        self.departures: list[list[EvDeparture]] = [[] for _ in range(n)]
        self._slot: int | None = None
        self._count = 0
        self._power_kw = np.zeros((1 + len(DEVICE_IDS), n))  # this sample
        self._sum_kw = np.zeros((1 + len(DEVICE_IDS), n))
        self._sum_import = np.zeros(n)
        self._sum_export = np.zeros(n)
        self._sum_outdoor = 0.0
        self._cold: BoolArray = np.zeros(n, dtype=bool)
        self._periods: list[datetime] = []
        self._samples: list[int] = []
        self._means: list[FloatArray] = []
        self._imports: list[FloatArray] = []
        self._exports: list[FloatArray] = []
        self._outdoor: list[float] = []

    def sample(self, fleet: Fleet) -> None:
        now_us = fleet.time_us
        slot = (now_us - STEP_US // 2) // PERIOD_US
        if slot != self._slot:
            self._close()
            self._slot = slot
        # Each sample is W / 1000 and the sums run in time order, as numpy.bincount adds Trace's samples.
        np.divide(fleet.power, 1000, out=self._power_kw)
        np.add(self._sum_kw, self._power_kw, out=self._sum_kw)
        np.add(self._sum_import, fleet.meter.imported_wh, out=self._sum_import)
        np.add(self._sum_export, fleet.meter.exported_wh, out=self._sum_export)
        self._sum_outdoor += fleet.outdoor_c
        self._count += 1
        if self.floors:
            np.less(fleet.heat_pump.indoor_c, self.floor, out=self._cold)
            np.add(self.below, self._cold, out=self.below)
        ev = fleet.ev
        for row in ev.departed.tolist():
            soc = ev.state(row)
            self.departures[row].append((fleet.now, float(soc["soc"]), float(soc["target_soc"])))  # type: ignore[arg-type]

    def _close(self) -> None:
        if self._slot is None or not self._count:
            return
        self._periods.append(from_us(self._slot * PERIOD_US))
        self._samples.append(self._count)
        self._means.append(self._sum_kw / self._count)
        self._imports.append(self._sum_import / 1000)
        self._exports.append(self._sum_export / 1000)
        self._outdoor.append(self._sum_outdoor / self._count)
        for a in (self._sum_kw, self._sum_import, self._sum_export):
            a.fill(0.0)
        self._sum_outdoor = 0.0
        self._count = 0

    def result(self) -> PhaseRecord:
        """The record so far, the current half-hour closed with the samples it has."""
        self._close()
        self._slot = None
        n = len(self.ids)
        means = np.stack(self._means) if self._means else np.zeros((0, 1 + len(DEVICE_IDS), n))
        device_kw = {
            d: np.where(self.owned[d][None, :], means[:, 1 + j, :], np.nan) for j, d in enumerate(DEVICE_IDS)
        }
        return PhaseRecord(
            ids=self.ids,
            periods=list(self._periods),
            samples=np.array(self._samples, dtype=np.int64),
            net_kw=means[:, 0, :],
            import_kwh=np.stack(self._imports) if self._imports else np.zeros((0, n)),
            export_kwh=np.stack(self._exports) if self._exports else np.zeros((0, n)),
            device_kw={d: s for d, s in device_kw.items() if self.owned[d].any()},
            outdoor_c=np.array(self._outdoor),
            indoor_below_minutes=self.below.copy(),
            ev_departures=[list(d) for d in self.departures],
        )
