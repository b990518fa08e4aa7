"""A self-contained HTML report: the tables and inline SVG bar charts, no external assets or scripts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from homeflex.scenarios.compare import comparison_table, comparison_title
from homeflex.scenarios.gaming import gaming_table, gaming_title
from homeflex.scenarios.report import FUNNEL_HEADERS, HEADERS, funnel_rows, funnels, summaries, table_rows
from homeflex.scenarios.runner import ScenarioResult

BAR_W, BAR_GAP, CHART_H, LABEL_H = 36, 14, 160, 34
COLOURS = ("#3b6ea5", "#e07b39")
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
    "th{background:#f3f3f3}td:first-child{text-align:left}.warn{color:#b00}"
    "figure{display:inline-block;margin:1em}"
)


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Sequence[float]], unit: str) -> str:
    """Grouped bars, one group per label and one bar per series; NaN draws nothing; negatives go down."""
    values = [v for s in series for v in s if not math.isnan(v)]
    top, bottom = max([0.0, *values]), min([0.0, *values])
    span = (top - bottom) or 1.0
    group_w = len(series) * BAR_W + BAR_GAP
    width, zero = len(labels) * group_w + BAR_GAP, CHART_H * top / span
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{CHART_H + LABEL_H}" role="img">'
    ]
    parts.append(f'<line x1="0" y1="{zero:.1f}" x2="{width}" y2="{zero:.1f}" stroke="#888"/>')
    for i, label in enumerate(labels):
        x0 = BAR_GAP + i * group_w
        for k, s in enumerate(series):
            v = s[i]
            if math.isnan(v):
                continue
            h = CHART_H * abs(v) / span
            y = zero - h if v >= 0 else zero
            parts.append(
                f'<rect x="{x0 + k * BAR_W}" y="{y:.1f}" width="{BAR_W - 4}" height="{h:.1f}" '
                f'fill="{COLOURS[k % len(COLOURS)]}">'
                f"<title>{escape(label)}: {v:.3g} {escape(unit)}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + len(series) * BAR_W / 2:.0f}" y="{CHART_H + 20}" text-anchor="middle" '
            f'font-size="12">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return f"<figure><figcaption>{escape(title)} ({escape(unit)})</figcaption>{''.join(parts)}</figure>"


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_report(result: ScenarioResult) -> str:
    s = result.scenario
    names = [v.name for v in s.variants]
    per_variant = {n: summaries(result, n) for n in names}
    labels = [g.group for g in per_variant[names[0]]]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>homeflex community scenario</title>",
        f"<style>{STYLE}</style></head><body><h1>Community scenario</h1>",
        f"<p>{len(result.households)} of {result.planned} households, {s.days} days from {s.first_day}, "
        f"seed {s.seed}; events: {'weekdays' if s.policy.weekdays_only else 'every day'} "
        f"{s.policy.start:%H:%M} local for {s.policy.minutes} min, "
        f"{s.policy.reduction_kw:g} kW per household, "
        f"notice {s.policy.notice_h:g} h, £{s.policy.price_gbp_per_mwh:g}/MWh.</p>",
    ]
    if not result.complete:
        parts.append("<p class='warn'>Interrupted: the figures cover the households finished so far.</p>")
    legend = " vs ".join(
        f"<span style='color:{COLOURS[i % 2]}'>&#9632; {escape(n)}</span>" for i, n in enumerate(names)
    )
    parts.append(f"<p>{legend}</p>")
    charts = (
        ("Payment per household, median", "£", lambda g: g.payment_median),
        ("Delivered / requested", "%", lambda g: 100 * g.delivery_ratio),
        ("Bill vs unmanaged, net of payments", "%", lambda g: 100 * g.net_change),
        ("Opt-out rate", "%", lambda g: 100 * g.opt_out_rate),
    )
    for title, unit, pick in charts:
        parts.append(bar_chart(title, labels, [[pick(g) for g in per_variant[n]] for n in names], unit))
    if result.journeys:
        groups = funnels(result)
        installed = [100 * f.installed / f.started if f.started else math.nan for f in groups]
        parts.append(
            bar_chart(
                "Installed, of those who expressed interest", [f.group for f in groups], [installed], "%"
            )
        )
        parts.append(
            "<h2>Journey: households reaching each step</h2>"
            + html_table(FUNNEL_HEADERS, funnel_rows(result))
        )
    for n in names:
        parts.append(f"<h2>{escape(n)}</h2>" + html_table(HEADERS, table_rows(per_variant[n])))
    if len(names) >= 2:
        parts.append(f"<h2>{escape(comparison_title(result))}</h2>" + html_table(*comparison_table(result)))
    if s.gaming_kw > 0:
        parts.append(f"<h2>{escape(gaming_title(result))}</h2>" + html_table(*gaming_table(result)))
    parts.append("</body></html>")
    return "\n".join(parts)
