"""EV charge points, stepped for all households at once (physics/ev.py): plug-in sessions from the same
seeded daily draws, whole-amp limits, the P_min pause, the taper above the knee, the stop at the target and
the random delay before a new limit takes effect (same generator, same draws in the same order)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import numpy as np

from homeflex.sim.fleet.grid import STEP_S, Minutes, to_us
from homeflex.sim.fleet.rows import BoolArray, FloatArray, IntArray, ParamRows, column
from homeflex.sim.physics.ev import DailySessions, EvCharger, EvParams
from homeflex.sim.physics.settings import Settings, Value

NO_SESSION = np.iinfo(np.int64).min  # session key (arrival, µs) before the first session
NOT_PENDING = np.iinfo(np.int64).max  # due time (µs) when no limit change waits


@dataclass(eq=False)
class Sessions:
    """Plug-in sessions over a span: `plugged` per step and household, and where a session is first
    seen in the span, its key and arrival SoC (the model resets the SoC when the key changes)."""

    plugged: BoolArray  # (steps, households)
    any_plugged: list[bool]  # per step: nobody plugged in means nothing to compute
    arrivals: dict[int, tuple[IntArray, IntArray, FloatArray]] = field(
        default_factory=dict
    )  # rows, keys, socs
    departures: dict[int, IntArray] = field(default_factory=dict)  # step -> rows unplugged at it

    def repeated(self, copies: int, n: int) -> Sessions:
        """The same sessions for `copies` blocks of `n` households side by side."""
        if copies == 1:
            return self
        shift = np.arange(copies, dtype=np.int64) * n

        def rows(r: IntArray) -> IntArray:
            return (r[None, :] + shift[:, None]).ravel()

        return Sessions(
            plugged=np.tile(self.plugged, (1, copies)),
            any_plugged=self.any_plugged,
            arrivals={
                k: (rows(r), np.tile(key, copies), np.tile(soc, copies))
                for k, (r, key, soc) in self.arrivals.items()
            },
            departures={k: rows(r) for k, r in self.departures.items()},
        )


def sessions(chargers: Sequence[EvCharger | None], minutes: Minutes) -> Sessions:
    """The sessions each charger's `DailySessions` draws, marked on the span's steps."""
    plugged = np.zeros((len(minutes), len(chargers)), dtype=bool)
    first_seen: dict[int, list[tuple[int, int, float]]] = {}
    days = minutes.draw_days
    for i, ev in enumerate(chargers):
        if ev is None:
            continue
        if not isinstance(ev.sessions, DailySessions):
            raise ValueError("the fleet draws EV sessions as DailySessions does; got another source")
        for day in days:
            s = ev.sessions.for_day(day)
            steps = minutes.covered(s.arrival, s.departure, day)
            if steps:
                plugged[steps.start : steps.stop, i] = True
                first_seen.setdefault(steps.start, []).append((i, to_us(s.arrival), s.arrival_soc))
    arrivals = {
        k: (
            np.array([r for r, _, _ in seen], dtype=np.int64),
            np.array([key for _, key, _ in seen], dtype=np.int64),
            np.array([soc for _, _, soc in seen], dtype=np.float64),
        )
        for k, seen in first_seen.items()
    }
    left = plugged[:-1] & ~plugged[1:]
    departures = {int(k) + 1: np.flatnonzero(left[k]) for k in np.flatnonzero(left.any(axis=1))}
    any_plugged = cast(list[bool], plugged.any(axis=1).tolist())
    return Sessions(plugged, any_plugged, arrivals, departures)


class EvRows(ParamRows[EvParams]):
    """Setting `max_power_w`; the limit in force is kept as its whole-amp setpoint and a pause flag."""

    def __init__(self, chargers: Sequence[EvCharger | None], seeds: Sequence[int]) -> None:
        params: list[EvParams | None] = [None if ev is None else ev.params for ev in chargers]
        super().__init__(params)
        self.p_ac_max = column(params, lambda p: p.p_ac_max_w, 0.0)
        self.one_minus_knee = column(params, lambda p: 1 - p.knee_soc, 1.0)
        self.knee = column(params, lambda p: p.knee_soc, 1.0)
        self.target = column(params, lambda p: p.target_soc, 1.0)
        self.capacity_wh = column(params, lambda p: p.capacity_wh, 1.0)
        # Wh stored per W over a step, as the scalar model computes it: eta * dt / 3600.
        self.stored_wh_per_w = column(params, lambda p: p.eta * STEP_S / 3600, 1.0)
        self.setpoint_w = self.p_ac_max.copy()  # the applied limit, cut to whole amps
        self.paused: BoolArray = np.zeros(self.n, dtype=bool)  # the applied limit is below P_min
        self.soc = np.zeros(self.n)
        self.plugged: BoolArray = np.zeros(self.n, dtype=bool)
        self.session = np.full(self.n, NO_SESSION, dtype=np.int64)
        self.delay_rngs = [random.Random(f"{seed}:ev-delay") for seed in seeds]
        self.pending_due = np.full(self.n, NOT_PENDING, dtype=np.int64)  # µs
        self.pending_value = np.full(self.n, np.nan)  # NaN: the pending limit is None
        self.pending = 0  # rows with a limit waiting
        self.departed: IntArray = np.zeros(0, dtype=np.int64)  # rows that unplugged at the last step
        self._t = np.zeros(self.n)
        self._on: BoolArray = np.zeros(self.n, dtype=bool)

    def copied(self, copies: int = 1) -> EvRows:
        new = super().copied(copies)
        new.delay_rngs = [_copy_rng(r) for _ in range(copies) for r in self.delay_rngs]
        new.pending = self.pending * copies
        return new

    def apply(self, row: int, values: Mapping[str, Value], settings: Settings, now: datetime) -> None:
        """As EvCharger.apply: every command carrying `max_power_w` draws a delay, and the latest wins.
        (The fleet always has a time, so the scalar's "asked without a time" case cannot arise.)"""
        if "max_power_w" not in values:
            return
        p = self.params[row]
        assert p is not None
        delay = self.delay_rngs[row].uniform(0.0, p.random_delay_max_s)
        value = settings.number("max_power_w")
        if self.pending_due[row] == NOT_PENDING:
            self.pending += 1
        self.pending_value[row] = math.nan if value is None else value
        self.pending_due[row] = to_us(now + timedelta(seconds=delay))  # exact to the µs, as datetimes

    def _apply_due_limits(self, now_us: int) -> None:
        for row in np.flatnonzero(self.pending_due <= now_us).tolist():
            value = float(self.pending_value[row])
            self._set_limit(row, None if math.isnan(value) else value)
            self.pending_due[row] = NOT_PENDING
            self.pending -= 1

    def _set_limit(self, row: int, limit_w: float | None) -> None:
        """The limit as charge_power_w reads it: paused below P_min, else cut to whole amps."""
        p = self.params[row]
        assert p is not None
        self.paused[row] = limit_w is not None and limit_w < p.p_min_w
        setpoint = p.p_ac_max_w
        if limit_w is not None and limit_w < p.p_ac_max_w:
            setpoint = math.floor(limit_w / p.volts) * p.volts
        self.setpoint_w[row] = setpoint

    def step(self, now_us: int, plugs: Sessions, k: int, dt_s: float, power_w: FloatArray) -> None:
        """Step `k` of the span whose sessions are `plugs`, ending at `now_us`."""
        if self.pending:
            self._apply_due_limits(now_us)
        plugged = plugs.plugged[k]
        self.departed = self._departures(plugs, k, plugged)
        self.plugged = plugged
        arrivals = plugs.arrivals.get(k)
        if arrivals is not None:  # a new session starts at its arrival SoC
            rows, keys, socs = arrivals
            new = self.session[rows] != keys
            self.soc[rows[new]] = socs[new]
            self.session[rows[new]] = keys[new]
        if not plugs.any_plugged[k]:
            power_w.fill(0.0)
            return
        soc, p, t, on = self.soc, power_w, self._t, self._on
        # charge_power_w: min(setpoint, taper) for plugged cars below the target and not paused
        np.subtract(1.0, soc, out=t)
        np.multiply(t, self.p_ac_max, out=t)
        np.divide(t, self.one_minus_knee, out=t)
        np.less_equal(soc, self.knee, out=on)
        np.copyto(t, self.p_ac_max, where=on)
        np.minimum(self.setpoint_w, t, out=p)
        np.less(soc, self.target, out=on)
        np.logical_and(on, plugged, out=on)
        np.greater(on, self.paused, out=on)  # on and not paused
        np.multiply(p, on, out=p)
        if dt_s > 0:  # stop exactly at the target rather than overshoot within a step
            np.subtract(self.target, soc, out=t)
            np.maximum(t, 0.0, out=t)
            np.multiply(t, self.capacity_wh, out=t)
            np.divide(t, self.stored_wh_per_w, out=t)
            np.minimum(p, t, out=p)
            np.multiply(p, self.stored_wh_per_w, out=t)
            np.divide(t, self.capacity_wh, out=t)
            np.add(soc, t, out=soc)

    def _departures(self, plugs: Sessions, k: int, plugged: BoolArray) -> IntArray:
        if k == 0:  # against the state the span starts from
            return np.flatnonzero(self.plugged & ~plugged)
        return plugs.departures.get(k, self.departed[:0])

    def state(self, row: int) -> dict[str, object]:
        p = self.params[row]
        assert p is not None
        soc = round(float(self.soc[row]), 4)
        return {"plugged": bool(self.plugged[row]), "soc": soc, "target_soc": p.target_soc}


def _copy_rng(rng: random.Random) -> random.Random:
    twin = random.Random()
    twin.setstate(rng.getstate())
    return twin
