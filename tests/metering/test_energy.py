"""Energy per interval from cumulative registers: interpolation, gaps, resets, periods."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from homeflex.core.domain import MeterReading
from homeflex.metering.energy import interval_energy_kwh, period_energy_kwh

NAN = math.nan
T0 = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def assert_same(actual: np.ndarray, expected: list[float]) -> None:
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize(
    ("ts", "imp", "exp", "bounds", "expected"),
    [
        # readings on the boundaries: plain differences, net of export
        ([0, 1800, 3600], [0, 500, 1500], [0, 0, 100], [0, 1800, 3600], [0.5, 0.9]),
        # readings off the boundaries: constant 1 kW, read every 7 minutes from t=-300
        (
            np.arange(-300, 4000, 420),
            np.arange(-300, 4000, 420) / 3.6,
            np.zeros(11),
            [0, 1800, 3600],
            [0.5, 0.5],
        ),
        # a step in power between readings is spread linearly over that reading interval
        ([0, 1000, 2000, 3600], [0, 100, 1100, 1100], [0, 0, 0, 0], [0, 1800, 3600], [0.9, 0.2]),
        # boundaries outside the readings: no extrapolation
        ([600, 3000], [0, 1000], [0, 0], [0, 1800, 3600], [NAN, NAN]),
        ([0, 1200, 2700], [0, 800, 1800], [0, 0, 0], [0, 1800, 3600], [1.2, NAN]),
        # a boundary exactly on the first / last reading is inside the span
        ([0, 1000, 2000, 3600], [0, 277.5, 555, 1000], [0] * 4, [0, 1800, 3600], [0.4995, 0.5005]),
        # net export comes out negative
        ([0, 1800], [10, 10], [0, 400], [0, 1800], [-0.4]),
        # fewer than two boundaries: nothing to compute
        ([0, 1800], [0, 1], [0, 0], [0], []),
        # no readings at all
        ([], [], [], [0, 1800, 3600], [NAN, NAN]),
        ([900], [5], [0], [0, 1800], [NAN]),
    ],
)
def test_interval_energy(
    ts: list[float], imp: list[float], exp: list[float], bounds: list[float], expected: list[float]
) -> None:
    assert_same(interval_energy_kwh(ts, imp, exp, bounds), expected)


def test_gap_around_a_boundary_is_nan_and_only_its_neighbours() -> None:
    # Readings every minute, with no reading between 40 and 80 minutes: the 60-minute boundary falls in
    # the 40-minute hole, so the split across it is a guess.
    ts = np.array([t for t in range(0, 7201, 60) if not 2400 < t < 4800], dtype=float)
    imp = ts / 3.6  # 1 kW
    bounds = [0, 1800, 3600, 5400, 7200]
    assert_same(interval_energy_kwh(ts, imp, np.zeros_like(ts), bounds), [0.5, NAN, NAN, 0.5])
    # with the limit lifted, interpolation is exact here because power was constant
    assert_same(interval_energy_kwh(ts, imp, np.zeros_like(ts), bounds, max_gap_s=None), [0.5] * 4)
    # a limit longer than the hole accepts it
    assert_same(interval_energy_kwh(ts, imp, np.zeros_like(ts), bounds, max_gap_s=2400), [0.5] * 4)


def test_gap_inside_an_interval_is_exact() -> None:
    # Cumulative registers make the total over a gap exact; only boundary splits are estimated.
    ts = [0, 60, 3540, 3600]
    assert_same(interval_energy_kwh(ts, [0, 10, 700, 900], [0, 0, 0, 0], [0, 3600]), [0.9])


def test_register_decrease_poisons_only_intervals_it_touches() -> None:
    # A meter replaced (registers reset) between t=2000 and t=2400.
    ts = [0, 1800, 2000, 2400, 3600, 5400]
    imp = [0, 500, 600, 5, 300, 800]
    assert_same(interval_energy_kwh(ts, imp, [0] * 6, [0, 1800, 3600, 5400]), [0.5, NAN, 0.5])
    # a decreasing export register counts too, as does a NaN register
    assert_same(interval_energy_kwh([0, 1800, 3600], [0, 1, 2], [0, 10, 5], [0, 1800, 3600]), [-0.009, NAN])
    assert_same(interval_energy_kwh([0, 900, 1800], [0, NAN, 2], [0, 0, 0], [0, 1800]), [NAN])


@pytest.mark.parametrize(
    ("ts", "imp", "bounds", "match"),
    [
        ([0, 1800, 1800], [0, 1, 2], [0, 1800], "strictly increasing"),
        ([1800, 0], [0, 1], [0, 1800], "strictly increasing"),
        ([0, 1800], [0, 1], [1800, 0], "strictly increasing"),
        ([0, 1800], [0, 1, 2], [0, 1800], "one length"),
        ([0, NAN], [0, 1], [0, 1800], "finite"),
    ],
)
def test_interval_energy_rejects_bad_input(
    ts: list[float], imp: list[float], bounds: list[float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        interval_energy_kwh(ts, imp, [0] * len(ts), bounds)


def test_intervals_telescope_property() -> None:
    # Inside the span, the intervals add up to the register change between the outer boundaries.
    rng = np.random.default_rng(7)
    for _ in range(200):
        ts = np.cumsum(rng.uniform(1, 600, size=50))
        imp = np.cumsum(rng.uniform(0, 300, size=50))
        exp = np.cumsum(rng.uniform(0, 100, size=50))
        bounds = np.sort(rng.uniform(ts[0], ts[-1], size=8))
        energy = interval_energy_kwh(ts, imp, exp, bounds, max_gap_s=None)
        net = np.interp(bounds, ts, imp) - np.interp(bounds, ts, exp)
        assert math.isclose(energy.sum(), (net[-1] - net[0]) / 1000, rel_tol=1e-9, abs_tol=1e-9)


def reading(minutes: float, import_wh: float, export_wh: float = 0.0, received: int = 0) -> MeterReading:
    return MeterReading(
        household_id="hh1",
        ts=T0 + timedelta(minutes=minutes),
        import_wh=import_wh,
        export_wh=export_wh,
        power_w=0.0,
        received_at=T0 + timedelta(hours=1, minutes=received),
    )


def test_period_energy_sorts_and_keys_by_period() -> None:
    # 1.2 kW steady, read every 10 minutes starting at 16:55, delivered out of order
    readings = [reading(m, 1000 + 20 * m) for m in range(-5, 100, 10)][::-1]
    starts = [T0, T0 + timedelta(minutes=30), T0 + timedelta(minutes=60), T0 + timedelta(minutes=90)]
    out = period_energy_kwh(readings, starts)
    assert list(out) == starts
    assert out[T0] == pytest.approx(0.6)
    assert out[starts[1]] == pytest.approx(0.6)
    assert out[starts[2]] == pytest.approx(0.6)
    assert math.isnan(out[starts[3]])  # last reading at 18:35: the 18:30-19:00 period is not covered


def test_period_energy_non_contiguous_periods_and_other_zones() -> None:
    from homeflex.core.timeutil import LONDON

    readings = [reading(m, 10 * m) for m in range(0, 181, 15)]
    local = (T0 + timedelta(minutes=120)).astimezone(LONDON)
    out = period_energy_kwh(readings, [T0, local])
    assert out[T0] == pytest.approx(0.3)
    assert out[T0 + timedelta(minutes=120)] == pytest.approx(0.3)


def test_period_energy_latest_received_wins_for_duplicate_ts() -> None:
    readings = [
        reading(0, 0),
        reading(30, 999, received=5),  # corrected later by the next one
        reading(30, 400, received=9),
        reading(30, 700, received=1),
    ]
    assert period_energy_kwh(readings, [T0]) == {T0: pytest.approx(0.4)}


@pytest.mark.parametrize(
    "bad_start",
    [datetime(2026, 11, 24, 17, 0), T0 + timedelta(minutes=15), T0 + timedelta(seconds=1)],
)
def test_period_energy_rejects_unaligned_or_naive_periods(bad_start: datetime) -> None:
    with pytest.raises(ValueError, match="half-hour"):
        period_energy_kwh([reading(0, 0)], [bad_start])


def test_period_energy_rejects_mixed_households() -> None:
    other = MeterReading(household_id="hh2", ts=T0, import_wh=0, export_wh=0, power_w=0)
    with pytest.raises(ValueError, match="household"):
        period_energy_kwh([reading(0, 0), other], [T0])


def test_period_energy_without_readings() -> None:
    out = period_energy_kwh([], [T0])
    assert math.isnan(out[T0])
