"""Day-of adjustment (settlement.md §2) and its §7 vectors."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.settlement.baselines.adjustment import (
    AdjustmentParams,
    adjust,
    adjustment_window,
    applies,
    window_means,
)

B, BW = 1.12, 1.05  # 10 in 10 baseline of the §7 vector; the window's baseline
CAP = 0.2


@pytest.mark.parametrize(
    ("kind", "cap", "positive_only", "aw", "expected"),
    [
        ("additive", CAP, False, 1.30, 1.344),  # raw +0.25, capped at 0.2 x 1.12 = 0.224
        ("ratio", CAP, False, 1.30, 1.344),  # r = 1.2381, capped at 1.2
        ("ratio", None, False, 1.30, 1.386667),
        ("additive", None, False, 1.30, 1.37),
        ("additive", CAP, True, 0.90, 1.12),  # positive-only: -0.15 -> 0
        ("additive", CAP, False, 0.90, 0.97),  # symmetric, within the cap
        ("ratio", CAP, True, 0.90, 1.12),
        ("ratio", CAP, False, 0.90, 0.96),  # r = 0.857
        ("additive", 0.1, False, 0.90, 1.008),  # -0.15 capped at -0.112
        ("none", CAP, False, 1.30, 1.12),
    ],
)
def test_settlement_md_vectors(
    kind: str, cap: float | None, positive_only: bool, aw: float, expected: float
) -> None:
    params = AdjustmentParams(kind=kind, cap=cap, positive_only=positive_only)  # type: ignore[arg-type]
    assert adjust(B, BW, aw, params) == pytest.approx(expected, abs=5e-7)


def test_standard_agreement_example() -> None:
    # Baseline 500 kW, load 600 kW in the hour starting 2 h before -> +100 kW; load 400 kW -> 0.
    params = AdjustmentParams(
        kind="additive",
        positive_only=True,
        window_offset=timedelta(hours=-2),
        window_length=timedelta(hours=1),
        exempt_technologies=frozenset({"battery"}),
    )
    assert adjust(250.0, 250.0, 300.0, params) == 300.0  # kWh per HH: 500 kW -> 600 kW
    assert adjust(250.0, 250.0, 200.0, params) == 250.0
    assert adjust(250.0, 250.0, 300.0, params, technologies=frozenset({"battery"})) == 250.0
    assert adjust(250.0, 250.0, 300.0, params, technologies=frozenset({"battery", "ev"})) == 250.0


def test_domestic_disabled() -> None:
    params = AdjustmentParams(kind="additive", domestic_disabled=True)
    assert adjust(B, BW, 1.30, params) == B
    assert adjust(B, BW, 1.30, params, domestic=False) == pytest.approx(1.37)
    assert not applies(params)
    assert applies(params, domestic=False)


def test_cap_uses_the_size_of_a_negative_baseline() -> None:
    params = AdjustmentParams(kind="additive", cap=CAP)
    assert adjust(-1.0, 0.0, 1.0, params) == pytest.approx(-0.8)
    assert adjust(-1.0, 0.0, -1.0, params) == pytest.approx(-1.2)


@pytest.mark.parametrize(
    ("b", "bw", "aw"),
    [
        (math.nan, BW, 1.3),
        (B, math.nan, 1.3),
        (B, BW, math.nan),
        (B, BW, math.inf),
        (B, 0.0, 1.3),
        (B, -0.5, 1.3),
    ],
)
def test_unknown_or_undefined_is_nan(b: float, bw: float, aw: float) -> None:
    assert math.isnan(adjust(b, bw, aw, AdjustmentParams(kind="ratio", cap=CAP)))


def test_no_adjustment_needs_no_window() -> None:
    assert adjust(B, math.nan, math.nan, AdjustmentParams()) == B
    exempt = AdjustmentParams(kind="ratio", exempt_technologies=frozenset({"battery"}))
    assert adjust(B, math.nan, math.nan, exempt, technologies=frozenset({"battery"})) == B


T = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)


def test_windows() -> None:
    dfs = adjustment_window(T, AdjustmentParams())  # the 3 h before (DFS 22/23)
    assert dfs == [T - timedelta(hours=3) + k * timedelta(minutes=30) for k in range(6)]
    pjm = adjustment_window(
        T, AdjustmentParams(window_offset=timedelta(hours=-4), window_length=timedelta(hours=3))
    )
    assert pjm[-1] == T - timedelta(hours=1, minutes=30)  # ends 1 h before the event
    # an event starting mid-period is anchored at its first period, so the window never overlaps it
    late = adjustment_window(T + timedelta(minutes=10), AdjustmentParams())
    assert late == dfs


def test_window_means() -> None:
    window = adjustment_window(
        T, AdjustmentParams(window_length=timedelta(hours=1), window_offset=-timedelta(hours=1))
    )
    baseline = dict.fromkeys(window, 1.0)
    actual = {window[0]: 1.2, window[1]: 1.4}
    assert window_means(window, baseline, actual) == pytest.approx((1.0, 1.3))
    actual[window[1]] = math.nan
    assert math.isnan(window_means(window, baseline, actual)[1])
    assert math.isnan(window_means(window, baseline, {})[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "multiplicative"}, "kind"),
        ({"cap": -0.1}, "cap"),
        ({"cap": math.inf}, "cap"),
        ({"window_length": timedelta(0)}, "whole half-hours"),
        ({"window_length": timedelta(minutes=45)}, "whole half-hours"),
        ({"window_offset": timedelta(minutes=-50)}, "whole half-hours"),
        (
            {"window_offset": timedelta(hours=-1), "window_length": timedelta(hours=2)},
            "end by the event start",
        ),
    ],
)
def test_params_rejected(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AdjustmentParams(**kwargs)  # type: ignore[arg-type]


def test_window_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        adjustment_window(datetime(2026, 11, 25, 17, 30), AdjustmentParams())


def test_adjustment_bounds_property() -> None:
    rng = random.Random(2)
    for _ in range(5000):
        kind = rng.choice(["additive", "ratio"])
        cap = rng.choice([None, rng.uniform(0, 0.5)])
        positive_only = rng.random() < 0.5
        params = AdjustmentParams(kind=kind, cap=cap, positive_only=positive_only)  # type: ignore[arg-type]
        b, bw, aw = rng.uniform(0.01, 5), rng.uniform(0.01, 5), rng.uniform(-1, 5)
        got = adjust(b, bw, aw, params)
        if positive_only:
            assert got >= b
        if cap is not None:
            assert abs(got - b) <= cap * b + 1e-12
        if aw == bw:
            assert got == pytest.approx(b)
        # symmetric and positive-only agree whenever the window shows more use than the baseline
        if aw >= bw:
            other = AdjustmentParams(kind=kind, cap=cap, positive_only=not positive_only)  # type: ignore[arg-type]
            assert adjust(b, bw, aw, other) == pytest.approx(got)
