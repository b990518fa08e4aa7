"""Day-of (in-day) baseline adjustment (settlement.md §2).

    B  = baseline for an event HH;  Bw, Aw = mean baseline and actual kWh per HH over the window
    additive: adj = Aw - Bw ;  B' = B + clamp(adj, -cap*|B|, +cap*|B|)     positive-only: adj = max(0, adj)
    ratio:    r = Aw / Bw   ;  B' = B * clamp(r, 1 - cap, 1 + cap)          positive-only: r = max(1, r)

Bw and Aw are per-HH means, not window totals, so an additive adjustment is in the same unit as B. The
cap is taken on |B| so a net-exporting household's bounds are not inverted. The window is anchored at
the start of the event's first half-hour and must end by it: a window overlapping the event would let
the event itself move its own baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from homeflex.core.timeutil import PERIOD, period_start

AdjustmentKind = Literal["none", "additive", "ratio"]


@dataclass(frozen=True, kw_only=True)
class AdjustmentParams:
    kind: AdjustmentKind = "none"
    window_offset: timedelta = timedelta(hours=-3)  # window start, relative to the event's first HH
    window_length: timedelta = timedelta(hours=3)
    cap: float | None = None  # fraction of B (additive) or of 1 (ratio); None = uncapped
    positive_only: bool = False
    exempt_technologies: frozenset[str] = frozenset()  # e.g. {"battery"} (Standard Agreement) [V]
    domestic_disabled: bool = False  # e.g. DFS 23/24 [V]

    def __post_init__(self) -> None:
        if self.kind not in ("none", "additive", "ratio"):
            raise ValueError(f"kind must be none, additive or ratio, got {self.kind!r}")
        if self.cap is not None and not (math.isfinite(self.cap) and self.cap >= 0):
            raise ValueError(f"cap must be None or a finite fraction >= 0, got {self.cap}")
        if self.window_length <= timedelta(0) or self.window_length % PERIOD or self.window_offset % PERIOD:
            raise ValueError("window offset and length must be whole half-hours, length > 0")
        if self.window_offset + self.window_length > timedelta(0):
            raise ValueError("the adjustment window must end by the event start")


def applies(
    params: AdjustmentParams, *, technologies: frozenset[str] = frozenset(), domestic: bool = True
) -> bool:
    """Whether the household's baseline is adjusted at all; any exempt technology exempts it."""
    if params.kind == "none" or (params.domestic_disabled and domestic):
        return False
    return not technologies & params.exempt_technologies


def adjustment_window(event_start: datetime, params: AdjustmentParams) -> list[datetime]:
    """UTC starts of the window's half-hours."""
    if event_start.tzinfo is None:
        raise ValueError("event start must be timezone-aware")
    first = period_start(event_start) + params.window_offset
    return [first + k * PERIOD for k in range(params.window_length // PERIOD)]


def window_means(
    window: list[datetime], baseline_kwh: Mapping[datetime, float], actual_kwh: Mapping[datetime, float]
) -> tuple[float, float]:
    """(Bw, Aw): mean kWh per HH over the window; NaN if any HH lacks a finite value."""

    def mean(kwh: Mapping[datetime, float]) -> float:
        values = [kwh.get(p, math.nan) for p in window]
        return math.fsum(values) / len(values) if all(math.isfinite(v) for v in values) else math.nan

    return mean(baseline_kwh), mean(actual_kwh)


def adjust(
    baseline_kwh: float,
    window_baseline_kwh: float,
    window_actual_kwh: float,
    params: AdjustmentParams,
    *,
    technologies: frozenset[str] = frozenset(),
    domestic: bool = True,
) -> float:
    """B' for one event HH. A non-finite input gives NaN (unknown): never a guessed baseline.

    A ratio over a window baseline <= 0 has no meaning, so it gives NaN too (not settleable) rather than
    an arbitrary figure; a programme expecting net exporters should use the additive form.
    """
    if not applies(params, technologies=technologies, domestic=domestic):
        return baseline_kwh
    b, bw, aw = baseline_kwh, window_baseline_kwh, window_actual_kwh
    if not (math.isfinite(b) and math.isfinite(bw) and math.isfinite(aw)):
        return math.nan
    if params.kind == "additive":
        adj = max(0.0, aw - bw) if params.positive_only else aw - bw
        if params.cap is not None:
            adj = min(max(adj, -params.cap * abs(b)), params.cap * abs(b))
        return b + adj
    if bw <= 0:
        return math.nan
    r = max(1.0, aw / bw) if params.positive_only else aw / bw
    if params.cap is not None:
        r = min(max(r, 1.0 - params.cap), 1.0 + params.cap)
    return b * r
