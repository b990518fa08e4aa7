"""Vectorised settlement equals the per-household reference (registry + settle_household) to 1e-9."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from homeflex.settlement.baselines import METHODS, eligible_days
from homeflex.settlement.payments import SLIDING_SCALE
from homeflex.settlement.vectorised import (
    VECTOR_METHODS,
    VectorSettlement,
    settle_many,
    settle_many_reference,
)

FIELDS = tuple(inspect.signature(VectorSettlement).parameters)


def random_portfolio(seed: int, *, households: int = 30, days: int = 50, first: datetime) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    kwh = rng.gamma(2.0, 0.3, size=(households, days * 48))
    kwh[rng.random(kwh.shape) < rng.uniform(0.0, 0.4)] = np.nan  # gaps, some households badly
    kwh[rng.random(kwh.shape) < 0.001] = np.inf
    kwh[rng.random(kwh.shape) < 0.05] *= -1  # some export
    start = int(rng.integers((days - 3) * 48, (days - 1) * 48))
    return {
        "kwh": kwh,
        "first_period": first,
        "event_idx": list(range(start, start + int(rng.integers(1, 7)))),
        "reduction_kw": rng.choice([0.0, 0.5, 1.0, 2.5], size=households),
        "price_gbp_per_mwh": 1812.0,
    }


def assert_same(a: VectorSettlement, b: VectorSettlement) -> None:
    for field in FIELDS:
        x, y = getattr(a, field), getattr(b, field)
        assert x.shape == y.shape, field
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-9, equal_nan=True, err_msg=field)


CASES: list[tuple[str, dict[str, Any]]] = [
    ("same_day_type", {}),
    ("same_day_type", {"weeks": 2, "min_days": 3}),
    ("same_day_type", {"holidays": frozenset()}),
    ("x_of_y", {}),
    ("x_of_y", {"x": 4, "y": 6, "kind": "mid"}),
    ("x_of_y", {"x": 4, "y": 5, "kind": "high", "lookback_days": 20}),
    ("x_of_y", {"x": 2, "y": 3, "kind": "low"}),
]
# September-October crosses the autumn clock change; March-April has Easter and the spring one.
FIRSTS = [datetime(2026, 9, 15, tzinfo=UTC), datetime(2026, 2, 20, tzinfo=UTC)]


@pytest.mark.parametrize(("method", "params"), CASES)
@pytest.mark.parametrize("first", FIRSTS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_equals_reference(method: str, params: dict[str, Any], first: datetime, seed: int) -> None:
    inputs = random_portfolio(seed, first=first)
    rng = np.random.default_rng(seed)
    options: dict[str, Any] = {
        "method": method,
        "aggregation": rng.choice(["net", "positive_only"]),
        "curve": SLIDING_SCALE if seed % 2 else None,
        **params,
    }
    day = (first + inputs["event_idx"][0] * timedelta(minutes=30)).date()
    if seed == 3:  # portfolio event days
        options["excluded_days"] = frozenset(day - timedelta(days=k) for k in (1, 2, 8))
    assert_same(settle_many(**inputs, **options), settle_many_reference(**inputs, **options))


def test_event_near_the_start_of_the_grid_has_no_history() -> None:
    inputs = random_portfolio(4, days=5, first=FIRSTS[0])
    inputs["event_idx"] = [3 * 48 + 36]
    vec = settle_many(**inputs, method="x_of_y")
    assert_same(vec, settle_many_reference(**inputs, method="x_of_y"))
    assert not vec.settled.any()
    assert (vec.payment_gbp == 0).all()


def test_settlement_md_vector_through_the_vectorised_path() -> None:
    vector = [1.20, 0.90, 1.50, 1.10, 0.80, 1.30, 1.00, 1.40, 0.95, 1.05]
    first = datetime(2026, 11, 1, tzinfo=UTC)
    event = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)
    event_idx = round((event - first) / timedelta(minutes=30))
    kwh = np.full((2, event_idx + 1), np.nan)
    for day, value in zip(eligible_days(event, lookback_days=30), vector, strict=False):
        kwh[
            :,
            round(
                (datetime(day.year, day.month, day.day, 17, 30, tzinfo=UTC) - first) / timedelta(minutes=30)
            ),
        ] = value
    kwh[:, event_idx] = [0.0, 1.12 - 0.6]
    got = settle_many(
        kwh,
        first_period=first,
        event_idx=[event_idx],
        reduction_kw=[1.6, 1.6],
        price_gbp_per_mwh=1812.0,
        method="x_of_y",
        curve=SLIDING_SCALE,
    )
    np.testing.assert_allclose(got.baseline_kwh[:, 0], [1.12, 1.12])
    np.testing.assert_allclose(got.delivered_kwh[:, 0], [0.8, 0.6])
    np.testing.assert_allclose(got.payment_gbp, [1.4496, 1.0872])


def test_vector_methods_mirror_the_registry_signatures() -> None:
    for name, fn in VECTOR_METHODS.items():
        vec = {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY}
        ref = {
            k: p.default
            for k, p in inspect.signature(METHODS.get(name)).parameters.items()
            if p.kind is p.KEYWORD_ONLY
        }
        ref.pop("event")
        assert vec == ref, name


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"kwh": np.zeros(10)}, "2-D"),
        ({"event_idx": []}, "consecutive"),
        ({"event_idx": [100, 102]}, "consecutive"),
        ({"event_idx": [10**6]}, "consecutive"),
        ({"event_idx": [-1, 0]}, "consecutive"),
        ({"reduction_kw": [1.0]}, "one finite value"),
        ({"reduction_kw": np.full(30, -1.0)}, "one finite value"),
        ({"price_gbp_per_mwh": float("nan")}, "price"),
        ({"first_period": datetime(2026, 9, 1)}, "half-hour"),
        ({"first_period": datetime(2026, 9, 1, 0, 10, tzinfo=UTC)}, "half-hour"),
        (
            {"method": "pjm_same_day"},
            "no vectorised baseline method 'pjm_same_day'; valid: same_day_type, x_of_y",
        ),
        ({"method": "x_of_y", "weeks": 3}, r"unknown parameters \['weeks'\]"),
        ({"method": "x_of_y", "x": 3, "y": 6, "kind": "mid"}, "even"),
    ],
)
def test_rejects(overrides: dict[str, Any], match: str) -> None:
    inputs = {**random_portfolio(1, first=FIRSTS[0]), **overrides}
    with pytest.raises(ValueError, match=match):
        settle_many(**inputs)
