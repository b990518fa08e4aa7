"""EV charge point with a daily plug-in session (devices.md §1), including the UK random delay."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import local_date
from homeflex.sim.physics.calendar import DailyDraw, local_at
from homeflex.sim.physics.settings import DeviceModel, NumberSetting, Value


@dataclass(frozen=True, kw_only=True)
class EvParams:
    p_ac_max_w: float = 7400.0  # 32 A x 230 V
    p_min_w: float = 1400.0  # 6 A: a lower setpoint pauses charging
    volts: float = 230.0  # setpoints are quantised to 1 A steps
    capacity_wh: float = 60_000.0
    eta: float = 0.9  # AC -> battery
    knee_soc: float = 0.8  # linear CC-CV taper above this
    target_soc: float = 0.8
    arrival_h: tuple[float, float] = (17.0, 19.0)  # local time
    departure_h: tuple[float, float] = (7.0, 8.5)  # local time, next morning
    daily_energy_wh: tuple[float, float] = (6_000.0, 12_000.0)  # energy the battery needs per day
    random_delay_max_s: float = 600.0  # SI 2021/1467 random delay

    def __post_init__(self) -> None:
        if not 0 < self.p_min_w <= self.p_ac_max_w:
            raise ValueError("EV: need 0 < p_min_w <= p_ac_max_w")
        if not 0 < self.knee_soc < 1 or not 0 < self.target_soc <= 1:
            raise ValueError("EV: knee_soc must be in (0, 1) and target_soc in (0, 1]")
        if self.capacity_wh <= 0 or not 0 < self.eta <= 1 or self.random_delay_max_s < 0:
            raise ValueError("EV: capacity, eta and random delay must be positive")


@dataclass(frozen=True, kw_only=True)
class Session:
    arrival: datetime
    departure: datetime
    arrival_soc: float


SessionSource = Callable[[datetime], Session | None]


class DailySessions:
    """One plug-in session per evening: arrive 17:00-19:00, leave 07:00-08:30, drawn per local day."""

    def __init__(self, params: EvParams, seed: int) -> None:
        self.params = params
        self.for_day: DailyDraw[Session] = DailyDraw(seed, "ev-session", self._draw)

    def _draw(self, rng: random.Random, day: date) -> Session:
        """The session that starts on the evening of local `day`."""
        p = self.params
        energy = rng.uniform(*p.daily_energy_wh)
        return Session(
            arrival=local_at(day, rng.uniform(*p.arrival_h)),
            departure=local_at(day, 24 + rng.uniform(*p.departure_h)),
            arrival_soc=max(0.05, p.target_soc - energy / p.capacity_wh),
        )

    def __call__(self, now: datetime) -> Session | None:
        today = local_date(now)
        for day in (today - timedelta(days=1), today):
            session = self.for_day(day)
            if session.arrival <= now < session.departure:
                return session
        return None


def charge_power_w(p: EvParams, soc: float, limit_w: float | None) -> float:
    """AC power for a plugged car: limit cut to whole amps, paused below P_min, tapered above the knee."""
    if soc >= p.target_soc or (limit_w is not None and limit_w < p.p_min_w):
        return 0.0  # below 6 A the charger pauses
    setpoint = p.p_ac_max_w
    if limit_w is not None and limit_w < p.p_ac_max_w:
        setpoint = math.floor(limit_w / p.volts) * p.volts  # whole amps: 1400 W asks for 6 A = 1380 W
    p_max = p.p_ac_max_w if soc <= p.knee_soc else p.p_ac_max_w * (1 - soc) / (1 - p.knee_soc)
    return min(setpoint, p_max)


class EvCharger(DeviceModel):
    """Setting `max_power_w` (None: charge at full power); a change takes effect after a random delay."""

    kind = DeviceKind.EV_CHARGER

    def __init__(
        self, params: EvParams | None = None, *, seed: int = 0, sessions: SessionSource | None = None
    ) -> None:
        self.params = params or EvParams()
        super().__init__([NumberSetting("max_power_w", 0.0, self.params.p_ac_max_w, "W")])
        self.sessions = sessions or DailySessions(self.params, seed)
        self.soc = 0.0
        self.plugged = False
        self._session_arrival: datetime | None = None
        self._limit_w: float | None = None  # the limit the charger applies now
        self._pending: tuple[float | None, datetime | None, float] | None = None  # value, asked at, delay
        self._delay_rng = random.Random(f"{seed}:ev-delay")

    def apply(self, values: Mapping[str, Value], now: datetime | None) -> None:
        super().apply(values, now)
        if "max_power_w" in values:
            delay = self._delay_rng.uniform(0.0, self.params.random_delay_max_s)
            self._pending = (self.settings.number("max_power_w"), now, delay)

    def step(self, now: datetime, dt_s: float) -> float:
        self._apply_due_limit(now)
        session = self.sessions(now)
        self.plugged = session is not None
        if session is None:
            self.power_w = 0.0
            return 0.0
        if session.arrival != self._session_arrival:
            self._session_arrival = session.arrival
            self.soc = session.arrival_soc
        p = charge_power_w(self.params, self.soc, self._limit_w)
        stored_wh_per_w = self.params.eta * dt_s / 3600
        if dt_s > 0:  # stop exactly at the target rather than overshoot within a step
            headroom_wh = max(0.0, self.params.target_soc - self.soc) * self.params.capacity_wh
            p = min(p, headroom_wh / stored_wh_per_w)
        self.soc += p * stored_wh_per_w / self.params.capacity_wh
        self.power_w = p
        return p

    def _apply_due_limit(self, now: datetime) -> None:
        if self._pending is None:
            return
        value, asked_at, delay = self._pending
        if asked_at is None:  # asked without a time: the delay runs from this step
            self._pending = (value, now, delay)
        elif now >= asked_at + timedelta(seconds=delay):
            self._limit_w = value
            self._pending = None

    def state(self) -> dict[str, object]:
        return {"plugged": self.plugged, "soc": round(self.soc, 4), "target_soc": self.params.target_soc}
