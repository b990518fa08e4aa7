"""How each customer category fares: per-group figures, the terminal table and the per-household CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from homeflex.portal.journey import TITLES, Step
from homeflex.scenarios.household import HouseholdResult
from homeflex.scenarios.journey import BEFORE_INSTALL, Funnel, funnel
from homeflex.scenarios.runner import ScenarioResult

GROUPS = ("A", "B", "C", "D", "vulnerable", "all")


@dataclass(frozen=True, kw_only=True)
class GroupSummary:
    group: str
    households: int
    offered: int  # events offered, summed over households
    opt_out_rate: float  # NaN when nothing was offered
    requested_kwh: float  # by the events households opted in to
    delivered_kwh: float  # against the programme's baseline, capped at the instruction
    payment_median: float  # £ per household over the scenario
    payment_p10: float
    payment_p90: float
    bill_change: float  # managed vs unmanaged energy bill, summed over the group (fraction)
    net_change: float  # the same with the payments taken off the managed bill
    unsettled: int  # opted-in events the baseline method could not settle for want of data (paid nothing)
    cold_minutes: int
    cold_minutes_unmanaged: int
    ev_short: int
    ev_departures: int

    @property
    def delivery_ratio(self) -> float:
        return self.delivered_kwh / self.requested_kwh if self.requested_kwh else math.nan


def members(results: Sequence[HouseholdResult], group: str) -> list[HouseholdResult]:
    if group == "all":
        return list(results)
    if group == "vulnerable":
        return [r for r in results if r.vulnerable]
    return [r for r in results if r.category == group]


def summarise(results: Sequence[HouseholdResult], group: str, variant: str) -> GroupSummary:
    rows = members(results, group)
    settled = [r.settled[variant] for r in rows]
    payments = np.array([s.payment_gbp for s in settled]) if rows else np.array([math.nan])
    offered = sum(r.events_offered for r in rows)
    unmanaged = sum(r.unmanaged_gbp for r in rows)
    managed = sum(r.managed_gbp for r in rows)
    paid = sum(s.payment_gbp for s in settled)
    return GroupSummary(
        group=group,
        households=len(rows),
        offered=offered,
        opt_out_rate=1 - sum(r.events_opted_in for r in rows) / offered if offered else math.nan,
        requested_kwh=sum(s.requested_kwh for s in settled),
        delivered_kwh=sum(s.delivered_kwh for s in settled),
        payment_median=float(np.median(payments)),
        payment_p10=float(np.percentile(payments, 10)),
        payment_p90=float(np.percentile(payments, 90)),
        bill_change=(managed - unmanaged) / abs(unmanaged) if unmanaged else math.nan,
        net_change=(managed - paid - unmanaged) / abs(unmanaged) if unmanaged else math.nan,
        unsettled=sum(s.insufficient for s in settled),
        cold_minutes=sum(r.cold_minutes for r in rows),
        cold_minutes_unmanaged=sum(r.cold_minutes_unmanaged for r in rows),
        ev_short=sum(r.ev_short for r in rows),
        ev_departures=sum(r.ev_departures for r in rows),
    )


def summaries(result: ScenarioResult, variant: str) -> list[GroupSummary]:
    return [summarise(result.households, g, variant) for g in GROUPS]


def pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:+.1%}"


def share(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.0%}"


def money(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}"


HEADERS = (
    "group",
    "hh",
    "events",
    "opt-out",
    "req kWh",
    "deliv kWh",
    "deliv/req",
    "unsettled",
    "£/hh median",
    "£/hh p10-p90",
    "bill vs unmanaged",
    "net of payments",
    "cold min (unmanaged)",
    "EV short",
)


def table_rows(groups: Sequence[GroupSummary]) -> list[tuple[str, ...]]:
    return [
        (
            g.group,
            str(g.households),
            str(g.offered),
            share(g.opt_out_rate),
            f"{g.requested_kwh:.1f}",
            f"{g.delivered_kwh:.1f}",
            share(g.delivery_ratio),
            str(g.unsettled),
            money(g.payment_median),
            f"{money(g.payment_p10)}-{money(g.payment_p90)}" if g.households else "-",
            pct(g.bill_change),
            pct(g.net_change),
            f"{g.cold_minutes} ({g.cold_minutes_unmanaged})",
            f"{g.ev_short}/{g.ev_departures}",
        )
        for g in groups
    ]


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


FUNNEL_STEPS = (*BEFORE_INSTALL, Step.STAGE_1)
FUNNEL_HEADERS = ("group", *(TITLES[s] if s is not Step.STAGE_1 else "Installed" for s in FUNNEL_STEPS))


def funnels(result: ScenarioResult) -> list[Funnel]:
    groups = [
        g for g in GROUPS if g in ("vulnerable", "all") or any(o.category == g for o in result.journeys)
    ]
    return [funnel(result.journeys, g) for g in groups]


def funnel_rows(result: ScenarioResult) -> list[tuple[str, ...]]:
    """Per group: how many reached each step (and the share of those who started)."""
    rows = []
    for f in funnels(result):
        cells = [f"{n} ({n / f.started:.0%})" if f.started else "0" for n in f.reached]
        rows.append((f.group, *cells))
    return rows


def journey_text(result: ScenarioResult) -> str:
    if not result.journeys:
        return ""
    scale = result.scenario.journey_scale
    days = ", ".join(f"{f.group} {f.median_days_to_install:.0f}" for f in funnels(result) if f.installed)
    return "\n".join(
        [
            f"Journey (drop-off assumptions x{scale:g}): households reaching each step",
            text_table(FUNNEL_HEADERS, funnel_rows(result)),
            f"median days from interest to installation: {days or 'nobody installed'}",
        ]
    )


def terminal_report(result: ScenarioResult) -> str:
    s = result.scenario
    interest = f" (of {len(result.journeys)} who expressed interest)" if result.journeys else ""
    head = (
        f"{len(result.households)} of {result.planned} households{interest}"
        f"{'' if result.complete else ' (INTERRUPTED: partial results)'}, {s.days} days from {s.first_day}, "
        f"seed {s.seed}, {result.elapsed_s:.1f} s; control plans every {s.replan_h:g} h and refreshes "
        f"every {s.tick_s / 60:g} min (live: 0.5 h, 5 min)"
    )
    parts = [head]
    if result.journeys:
        parts += ["", journey_text(result)]
    for variant in s.variants:
        rules = variant.rules()
        params = "".join(f" {k}={v}" for k, v in rules.params.items())
        parts += ["", f"[{variant.name}] baseline {rules.method}{params}, curve {variant.curve}"]
        parts.append(text_table(HEADERS, table_rows(summaries(result, variant.name))))
    return "\n".join(parts)


def csv_text(result: ScenarioResult) -> str:
    """One row per household; settlement columns per variant, prefixed with the variant's name."""
    names = [v.name for v in result.scenario.variants]
    out = io.StringIO()
    writer = csv.writer(out)
    settled_cols = ("requested_kwh", "delivered_kwh", "payment_gbp", "insufficient")
    writer.writerow(
        [
            "household_id",
            "category",
            "vulnerable",
            "stage",
            "devices",
            "unmanaged_gbp",
            "managed_gbp",
            "bill_change",
            "events_offered",
            "events_opted_in",
            "cold_minutes",
            "cold_minutes_unmanaged",
            "ev_departures",
            "ev_short",
            *(f"{n}:{c}" for n in names for c in settled_cols),
            "opt_out_reasons",
        ]
    )
    for r in result.households:
        writer.writerow(
            [
                r.household_id,
                r.category,
                int(r.vulnerable),
                r.stage,
                r.devices,
                f"{r.unmanaged_gbp:.4f}",
                f"{r.managed_gbp:.4f}",
                f"{r.bill_change:.4f}",
                r.events_offered,
                r.events_opted_in,
                r.cold_minutes,
                r.cold_minutes_unmanaged,
                r.ev_departures,
                r.ev_short,
                *(cell for n in names for cell in _settled_cells(r, n)),
                " | ".join(sorted(set(r.opt_out_reasons))),
            ]
        )
    return out.getvalue().replace("\r\n", "\n")


EVENT_HEADERS = (
    "household_id",
    "category",
    "vulnerable",
    "variant",
    "event_id",
    "opted_in",
    "baseline_kw",
    "actual_kw",
    "instructed_kwh",
    "delivered_kwh",
    "payment_gbp",
    "status",
)


def events_csv_text(result: ScenarioResult) -> str:
    """One row per household, settlement variant and offered event: the evidence behind each payment
    (gamed settlements are not included; they are a what-if, not a settlement)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EVENT_HEADERS)
    for r in result.households:
        for name, settled in r.settled.items():
            for e in settled.events:
                writer.writerow(
                    [
                        r.household_id,
                        r.category,
                        int(r.vulnerable),
                        name,
                        e.event_id,
                        int(e.opted_in),
                        f"{e.baseline_kw:.4f}",
                        f"{e.actual_kw:.4f}",
                        f"{e.instructed_kwh:.4f}",
                        f"{e.delivered_kwh:.4f}",
                        f"{e.payment_gbp:.4f}",
                        e.status,
                    ]
                )
    return out.getvalue().replace("\r\n", "\n")


def _settled_cells(r: HouseholdResult, name: str) -> tuple[str, ...]:
    s = r.settled[name]
    return (f"{s.requested_kwh:.4f}", f"{s.delivered_kwh:.4f}", f"{s.payment_gbp:.4f}", str(s.insufficient))
