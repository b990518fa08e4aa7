"""Latency summaries: count, p50, p99 and max of samples in seconds (nearest-rank percentiles)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Summary:
    count: int
    p50_s: float
    p99_s: float
    max_s: float


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples, q in (0, 1]."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarise(samples: Sequence[float]) -> Summary:
    ordered = sorted(samples)
    return Summary(
        count=len(ordered),
        p50_s=percentile(ordered, 0.50),
        p99_s=percentile(ordered, 0.99),
        max_s=ordered[-1] if ordered else math.nan,
    )


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan
