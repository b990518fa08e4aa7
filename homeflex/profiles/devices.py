"""Per-technology summaries from device power series (kW per UTC half-hour, + consumption)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

import numpy as np

from homeflex.core.timeutil import LONDON, PERIOD
from homeflex.profiles.model import BatteryProfile, EvProfile, EvSession, HeatPumpFit, PvProfile
from homeflex.profiles.series import HOURS_PER_PERIOD, daily_sums

ACTIVE_KW = 0.05  # below this a device counts as idle (meter noise, standby)


def ev_sessions(ev_kw: Mapping[datetime, float]) -> list[EvSession]:
    """Sessions of contiguous charging; a missing or NaN half-hour ends a session."""
    sessions: list[EvSession] = []
    start: datetime | None = None
    prev: datetime | None = None
    energy = 0.0
    for t in sorted(ev_kw):
        kw = ev_kw[t]
        charging = bool(np.isfinite(kw)) and kw > ACTIVE_KW
        if start is not None and prev is not None and (not charging or t != prev + PERIOD):
            sessions.append(EvSession(plug_in=start, plug_out=prev + PERIOD, energy_kwh=energy))
            start = None
        if charging:
            if start is None:
                start, energy = t, 0.0
            energy += kw * HOURS_PER_PERIOD
            prev = t
    if start is not None and prev is not None:
        sessions.append(EvSession(plug_in=start, plug_out=prev + PERIOD, energy_kwh=energy))
    return sessions


def ev_profile(ev_kw: Mapping[datetime, float]) -> EvProfile | None:
    sessions = ev_sessions(ev_kw)
    if not sessions:
        return None
    energies = [s.energy_kwh for s in sessions]
    durations = [(s.plug_out - s.plug_in).total_seconds() / 3600 for s in sessions]
    return EvProfile(
        sessions=tuple(sessions),
        typical_plug_in_hour=_circular_mean_hour([s.plug_in for s in sessions]),
        typical_duration_h=float(np.median(durations)),
        mean_energy_kwh=float(np.mean(energies)),
        median_energy_kwh=float(np.median(energies)),
    )


def _circular_mean_hour(times: list[datetime]) -> float:
    """Mean local hour of day on a 24 h circle, so 23:00 and 01:00 average to 00:00, not 12:00."""
    local = [t.astimezone(LONDON) for t in times]
    angles = np.array([2 * math.pi * (t.hour + t.minute / 60) / 24 for t in local])
    mean = math.atan2(float(np.sin(angles).mean()), float(np.cos(angles).mean()))
    return round((mean * 24 / (2 * math.pi)) % 24, 6) % 24


def heat_pump_fit(hp_kw: Mapping[datetime, float], outdoor_c: Mapping[datetime, float]) -> HeatPumpFit | None:
    """Least squares over half-hours with heating (kW > ACTIVE_KW) and a finite temperature.

    None when fewer than 3 such half-hours or the temperature never varies.
    """
    pairs = [
        (outdoor_c[t], kw)
        for t, kw in hp_kw.items()
        if np.isfinite(kw) and kw > ACTIVE_KW and t in outdoor_c and np.isfinite(outdoor_c[t])
    ]
    if len(pairs) < 3:
        return None
    temp, kw = (np.array(v, dtype=np.float64) for v in zip(*pairs, strict=True))
    if np.ptp(temp) == 0:
        return None
    slope, intercept = np.polyfit(temp, kw, 1)
    residual = float(np.sum((kw - (intercept + slope * temp)) ** 2))
    total = float(np.sum((kw - kw.mean()) ** 2))
    r_squared = 1.0 - residual / total if total > 0 else 1.0
    return HeatPumpFit(
        intercept_kw=float(intercept), slope_kw_per_c=float(slope), r_squared=r_squared, samples=len(pairs)
    )


def pv_profile(pv_kw: Mapping[datetime, float]) -> PvProfile | None:
    """Generation is negative kW in the series; the profile states magnitudes."""
    generation = {t: max(-kw, 0.0) for t, kw in pv_kw.items() if np.isfinite(kw)}
    if not generation:
        return None
    daily = daily_sums({t: kw * HOURS_PER_PERIOD for t, kw in generation.items()})
    return PvProfile(
        days=len(daily),
        mean_daily_generation_kwh=float(np.mean(list(daily.values()))),
        peak_generation_kw=max(generation.values()),
    )


def battery_profile(battery_kw: Mapping[datetime, float]) -> BatteryProfile | None:
    """Charge is positive kW (it takes from the house), discharge negative."""
    finite = {t: kw * HOURS_PER_PERIOD for t, kw in battery_kw.items() if np.isfinite(kw)}
    if not finite:
        return None
    charge = daily_sums({t: max(kwh, 0.0) for t, kwh in finite.items()})
    discharge = daily_sums({t: max(-kwh, 0.0) for t, kwh in finite.items()})
    return BatteryProfile(
        days=len(charge),
        mean_daily_charge_kwh=float(np.mean(list(charge.values()))),
        mean_daily_discharge_kwh=float(np.mean(list(discharge.values()))),
    )
