"""The operator's funnel per customer category (pure): how many are at each step, how many left from
each step, and how long customers took over each step, from the journey's audit trail."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from homeflex.core.domain import Category
from homeflex.portal.journey import ORDER, AuditEntry, Step


@dataclass(frozen=True, kw_only=True)
class FunnelRow:
    step: Step
    now_at: int  # customers currently at this step
    reached: int  # customers who ever reached it
    left_here: int  # customers who left the journey from this step (and have not returned)
    median_days: float | None  # median time spent at this step by those who moved on


def funnel(
    audit: Sequence[AuditEntry],
    categories: Mapping[str, Category],
    category: Category | None = None,
) -> list[FunnelRow]:
    """Rows for every step, for one category (current category of each customer) or all."""
    by_household: dict[str, list[AuditEntry]] = defaultdict(list)
    for e in audit:
        if category is None or categories.get(e.household_id) == category:
            by_household[e.household_id].append(e)
    now_at: dict[Step, int] = defaultdict(int)
    reached: dict[Step, set[str]] = defaultdict(set)
    left_here: dict[Step, int] = defaultdict(int)
    durations: dict[Step, list[float]] = defaultdict(list)
    for household, unsorted in by_household.items():
        entries = sorted(unsorted, key=lambda e: e.at)
        for before, after in itertools.pairwise(entries):
            if before.to_step is not Step.LEFT and after.to_step is not Step.LEFT:
                durations[before.to_step].append(_days(before.at, after.at))
        for e in entries:
            if e.to_step is not Step.LEFT:
                reached[e.to_step].add(household)
        last = entries[-1]
        if last.to_step is Step.LEFT and last.from_step is not None:
            left_here[last.from_step] += 1
        else:
            now_at[last.to_step] += 1
    return [
        FunnelRow(
            step=s,
            now_at=now_at[s],
            reached=len(reached[s]),
            left_here=left_here[s],
            median_days=statistics.median(durations[s]) if durations[s] else None,
        )
        for s in ORDER
    ]


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 86400
