"""Baseline gaming: does raising consumption before an event pay under a settlement variant?

The households' metered energy is settled again as if each stage-3 household had run an extra load in
the hours before each event it opted in to (Scenario.gaming_kw over gaming_h; it is paid for no
other). A day-of (in-day) adjustment lifts the baseline with that load, so the household is paid for
"reducing" from a level it raised itself; that is the trick that made NESO drop its in-day adjustment.
The extra load is added to the meter after the run (the control loop did not see it), and priced at
the household's import tariff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from homeflex.scenarios.household import HouseholdResult
from homeflex.scenarios.report import GROUPS, members, money, text_table
from homeflex.scenarios.runner import ScenarioResult


@dataclass(frozen=True, kw_only=True)
class GamingSummary:
    group: str
    variant: str
    households: int  # opted in to events, so able to game
    extra_payment_total: float  # £ over the group
    extra_payment_median: float  # £ per household
    cost_median: float  # £ per household, the extra load at its import price
    pays: int  # households for which the extra payment exceeds the cost


def gaming_summary(results: Sequence[HouseholdResult], group: str, variant: str) -> GamingSummary:
    rows = [r for r in members(results, group) if r.gamed]
    extra = np.array([r.gamed[variant].payment_gbp - r.settled[variant].payment_gbp for r in rows])
    cost = np.array([r.gaming_cost_gbp for r in rows])
    return GamingSummary(
        group=group,
        variant=variant,
        households=len(rows),
        extra_payment_total=float(np.sum(extra)),
        extra_payment_median=float(np.median(extra)) if rows else float("nan"),
        cost_median=float(np.median(cost)) if rows else float("nan"),
        pays=int(np.sum(extra > cost)),
    )


def gaming_summaries(result: ScenarioResult) -> list[GamingSummary]:
    names = [v.name for v in result.scenario.variants]
    return [gaming_summary(result.households, g, n) for n in names for g in GROUPS if g != "D"]


def gaming_table(result: ScenarioResult) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    headers: tuple[str, ...] = (
        "variant",
        "group",
        "hh",
        "extra £ total",
        "extra £/hh median",
        "load cost £/hh median",
        "gaming pays for",
    )
    rows: list[tuple[str, ...]] = [
        (
            g.variant,
            g.group,
            str(g.households),
            money(g.extra_payment_total),
            money(g.extra_payment_median),
            money(g.cost_median),
            str(g.pays),
        )
        for g in gaming_summaries(result)
    ]
    return headers, rows


def gaming_title(result: ScenarioResult) -> str:
    s = result.scenario
    return f"baseline gaming: +{s.gaming_kw:g} kW over the {s.gaming_h:g} h before each event opted in to"


def gaming_text(result: ScenarioResult) -> str:
    return gaming_title(result) + "\n" + text_table(*gaming_table(result))
