"""Inline SVG charts rendered on the server (no script, no CDN): each has a title and a text
description for screen readers, and scales with its container (works on a phone)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

W, H, PAD_L, PAD_B, PAD_T, PAD_R = 640, 270, 52, 30, 34, 12
COLOURS = ("#0b5cad", "#c2410c", "#15803d", "#7c3aed")  # contrast >= 4.5:1 on white


@dataclass(frozen=True, kw_only=True)
class Series:
    name: str
    values: Sequence[float | None]  # None: no value (a gap)


def _scale(values: Sequence[float], floor_zero: bool = True) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    lo = min([0.0, *finite]) if floor_zero else min(finite, default=0.0)
    hi = max(finite, default=1.0)
    if hi - lo < 1e-9:
        hi = lo + 1.0
    return lo, hi + 0.1 * (hi - lo)  # headroom: the highest value is not drawn on the frame


def _tick(value: float, span: float, whole: bool = False) -> str:
    if whole:
        return f"{value:.0f}"
    return f"{value:.2f}" if span < 2 else f"{value:.1f}" if span < 20 else f"{value:.0f}"


def _frame(
    title: str,
    desc: str,
    body: list[str],
    labels: Sequence[str],
    lo: float,
    hi: float,
    unit: str,
    legend: Sequence[str],
    whole: bool = False,
) -> str:
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    out = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>",
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#666"/>',
    ]
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        y = PAD_T + plot_h - plot_h * i / 4
        out.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(
            f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" font-size="14" text-anchor="end">'
            f"{_tick(v, hi - lo, whole)}</text>"
        )
    out.append(f'<text x="4" y="{PAD_T - 12}" font-size="14">{escape(unit)}</text>')
    step = max(1, -(-len(labels) // 6))  # at most six labels: readable on a phone
    for i, label in enumerate(labels):
        if i % step == 0:
            x = PAD_L + plot_w * (i + 0.5) / max(1, len(labels))
            out.append(
                f'<text x="{x:.1f}" y="{H - 8}" font-size="14" text-anchor="middle">{escape(label)}</text>'
            )
    out += body
    for i, name in enumerate(legend):
        x = PAD_L + 70 + i * 160  # above the plot, right of the unit
        out.append(
            f'<rect x="{x}" y="{PAD_T - 22}" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
        )
        out.append(f'<text x="{x + 14}" y="{PAD_T - 12}" font-size="14">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series], unit: str) -> str:
    values = [v for s in series for v in s.values if v is not None]
    lo, hi = _scale(values)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    n = max(1, len(labels))
    body = []
    marks: list[str] = []  # a marker per value, so a single half-hour still shows
    for k, s in enumerate(series):
        points = []
        for i, v in enumerate(s.values):
            if v is None or not math.isfinite(v):
                continue
            x = PAD_L + plot_w * (i + 0.5) / n
            y = PAD_T + plot_h - plot_h * (v - lo) / (hi - lo)
            points.append(f"{x:.1f},{y:.1f}")
            if len(s.values) <= 16:
                marks.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{COLOURS[k % len(COLOURS)]}"/>'
                )
        colour = COLOURS[k % len(COLOURS)]
        dash = ' stroke-dasharray="6 3"' if k else ""
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dash} points="{" ".join(points)}"/>'
        )
    desc = "; ".join(
        f"{s.name}: "
        + ", ".join(f"{lab} {v:.2f}" for lab, v in zip(labels, s.values, strict=False) if v is not None)
        for s in series
    )
    return _frame(title, desc, body + marks, labels, lo, hi, unit, [s.name for s in series])


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], unit: str) -> str:
    lo, hi = _scale(values)
    whole = bool(values) and lo == 0 and all(float(v).is_integer() for v in values)
    if whole:  # counts: a top that is a multiple of 4, so the quarter ticks fall on whole numbers
        hi = 4.0 * math.ceil((max(values) + 0.5) / 4)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    n = max(1, len(labels))
    body = []
    for i, v in enumerate(values):
        x = PAD_L + plot_w * i / n + plot_w / n * 0.15
        y0 = PAD_T + plot_h - plot_h * (0 - lo) / (hi - lo)
        y1 = PAD_T + plot_h - plot_h * (v - lo) / (hi - lo)
        body.append(
            f'<rect x="{x:.1f}" y="{min(y0, y1):.1f}" width="{plot_w / n * 0.7:.1f}" '
            f'height="{abs(y0 - y1):.1f}" fill="{COLOURS[0]}"/>'
        )
    desc = ", ".join(f"{lab}: {v:.2f} {unit}" for lab, v in zip(labels, values, strict=False))
    return _frame(title, desc, body, labels, lo, hi, unit, [], whole)
