"""Two settlement variants over the same simulated households: per group, who gains and who loses.

The households behave the same under both (the control loop does not know how it will be settled), so
the difference is the settlement's alone: the same metered energy, another baseline or payment curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from homeflex.scenarios.household import HouseholdResult
from homeflex.scenarios.report import GROUPS, members, money, text_table
from homeflex.scenarios.runner import ScenarioResult

PENNY = 0.005  # a payment change smaller than half a penny is no change


@dataclass(frozen=True, kw_only=True)
class GroupComparison:
    group: str
    households: int
    gain: int  # households paid more under the second variant
    lose: int
    total_a: float  # £ paid to the group under the first variant
    total_b: float
    median_change: float  # £ per household, second minus first

    @property
    def same(self) -> int:
        return self.households - self.gain - self.lose


def compare_group(results: Sequence[HouseholdResult], group: str, a: str, b: str) -> GroupComparison:
    rows = members(results, group)
    diffs = np.array([r.settled[b].payment_gbp - r.settled[a].payment_gbp for r in rows])
    return GroupComparison(
        group=group,
        households=len(rows),
        gain=int(np.sum(diffs > PENNY)),
        lose=int(np.sum(diffs < -PENNY)),
        total_a=sum(r.settled[a].payment_gbp for r in rows),
        total_b=sum(r.settled[b].payment_gbp for r in rows),
        median_change=float(np.median(diffs)) if rows else float("nan"),
    )


def comparisons(result: ScenarioResult) -> list[GroupComparison]:
    a, b = (v.name for v in result.scenario.variants[:2])
    return [compare_group(result.households, g, a, b) for g in GROUPS]


def comparison_table(result: ScenarioResult) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    a, b = (v.name for v in result.scenario.variants[:2])
    headers = (
        "group",
        "hh",
        f"gain under {b}",
        "lose",
        "same",
        f"£ total {a}",
        f"£ total {b}",
        "median £/hh change",
    )
    rows: list[tuple[str, ...]] = [
        (
            c.group,
            str(c.households),
            str(c.gain),
            str(c.lose),
            str(c.same),
            money(c.total_a),
            money(c.total_b),
            f"{c.median_change:+.2f}" if c.households else "-",
        )
        for c in comparisons(result)
    ]
    return headers, rows


def comparison_title(result: ScenarioResult) -> str:
    a, b = (v.name for v in result.scenario.variants[:2])
    return f"{a} -> {b}: payments per household"


def comparison_text(result: ScenarioResult) -> str:
    return comparison_title(result) + "\n" + text_table(*comparison_table(result))
