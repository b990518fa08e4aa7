"""A programme's settlement rules, read from its stored record and checked once (pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from homeflex.settlement.baselines import HOLIDAY_RULES, METHODS
from homeflex.settlement.baselines.adjustment import AdjustmentParams, applies
from homeflex.settlement.payments import PaymentCurve
from homeflex.storage.records import ProgrammeRecord

# Bounds on what a programme may say, so no typo can overflow settlement (a £1e300 fee) or make it read
# years of history. Each is far beyond any real programme (NGED pays about £21/MW/h, settlement.md §8).
MAX_AVAILABILITY_GBP_PER_MW_H = 10_000.0
MAX_PAYMENT_FACTOR = 2.0  # a curve may pay a bonus, not a multiple
MAX_BASELINE_PARAM = 366  # days, weeks, counts of days or half-hours: a year at most
MAX_ADJUSTMENT_SECONDS = 7 * 24 * 3600.0


def _bounded(where: str, values: dict[str, Any], limit: float) -> None:
    """Every number in `values` finite and within [-limit, limit]; ValueError naming the key otherwise."""
    for key, value in values.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and not -limit <= value <= limit:
            raise ValueError(f"{where} {key!r} = {value} is out of range: at most {limit:g} in size")


@dataclass(frozen=True, kw_only=True)
class Rules:
    programme_id: str
    method: str
    params: dict[str, Any]
    adjustment: AdjustmentParams
    curve: PaymentCurve | None  # None: pay the delivered (capped) energy
    community_share: Decimal
    availability_gbp_per_mw_h: float = 0.0

    def describe(self) -> str:
        """The parameters as JSON, stored with each settlement so a figure can be explained later."""
        return json.dumps(
            {
                "programme": self.programme_id,
                "method": self.method,
                "params": self.params,
                "adjustment": {
                    **self.adjustment.__dict__,
                    "window_offset": self.adjustment.window_offset.total_seconds(),
                    "window_length": self.adjustment.window_length.total_seconds(),
                    "exempt_technologies": sorted(self.adjustment.exempt_technologies),
                },
                "curve": None if self.curve is None else self.curve.points,
                "community_share": str(self.community_share),
                "availability_gbp_per_mw_h": self.availability_gbp_per_mw_h,
            },
            sort_keys=True,
        )

    @property
    def lookback(self) -> timedelta:
        """History settlement must fetch before the event: what the method reads under its parameters
        (its own defaults included), or the day-of adjustment window if that reaches further, plus a
        day, since the method counts local days and a clock change shifts them against UTC."""
        method_days = timedelta(days=METHODS.history_days(self.method, self.params))
        adjustment = -self.adjustment.window_offset if applies(self.adjustment) else timedelta(0)
        return max(method_days, adjustment) + timedelta(days=1)


PROGRAMME_FIELDS = (
    "name",
    "baseline_method",
    "baseline_params",
    "adjustment",
    "payment_curve",
    "availability_gbp_per_mw_h",
    "community_share",
)


def programme_from_json(programme_id: str, body: dict[str, Any]) -> ProgrammeRecord:
    unknown = set(body) - set(PROGRAMME_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown fields: {', '.join(sorted(unknown))}; known: {', '.join(PROGRAMME_FIELDS)}"
        )
    if not isinstance(body.get("name"), str) or not body["name"]:
        raise ValueError("'name' is required")
    curve = body.get("payment_curve", [])
    if not isinstance(curve, list) or not all(isinstance(p, list) and len(p) == 2 for p in curve):
        raise ValueError("'payment_curve' must be a list of [ratio, factor] pairs")
    for key in ("baseline_params", "adjustment"):
        if not isinstance(body.get(key, {}), dict):
            raise ValueError(f"'{key}' must be an object")
    return ProgrammeRecord(
        id=programme_id,
        name=body["name"],
        baseline_method=str(body.get("baseline_method", "same_day_type")),
        baseline_params=body.get("baseline_params", {}),
        adjustment=body.get("adjustment", {}),
        payment_curve=tuple((float(a), float(b)) for a, b in curve),
        availability_gbp_per_mw_h=str(body.get("availability_gbp_per_mw_h", "0")),
        community_share=str(body.get("community_share", "0")),
    )


def programme_json(record: ProgrammeRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "baseline_method": record.baseline_method,
        "baseline_params": record.baseline_params,
        "adjustment": record.adjustment,
        "payment_curve": [list(p) for p in record.payment_curve],
        "availability_gbp_per_mw_h": record.availability_gbp_per_mw_h,
        "community_share": record.community_share,
    }


def rules_from_record(record: ProgrammeRecord) -> Rules:
    """Validate a programme; ValueError with the reason for anything settlement could not use."""
    if record.baseline_method not in METHODS.names():
        raise ValueError(
            f"unknown baseline method {record.baseline_method!r}; known: {', '.join(METHODS.names())}"
        )
    unknown = set(record.baseline_params) - set(METHODS.params(record.baseline_method))
    if unknown:
        raise ValueError(
            f"{record.baseline_method}: unknown parameters {sorted(unknown)}; accepted: "
            f"{list(METHODS.params(record.baseline_method))}"
        )
    _bounded("baseline_params", dict(record.baseline_params), MAX_BASELINE_PARAM)
    rule = record.baseline_params.get("bank_holidays", "exclude")
    if rule not in HOLIDAY_RULES:
        raise ValueError(f"bank_holidays must be one of {', '.join(HOLIDAY_RULES)}, got {rule!r}")
    _bounded("adjustment", dict(record.adjustment), MAX_ADJUSTMENT_SECONDS)
    adj = dict(record.adjustment)
    for key in ("window_offset", "window_length"):
        if key in adj:
            adj[key] = timedelta(seconds=float(adj[key]))
    if "exempt_technologies" in adj:
        adj["exempt_technologies"] = frozenset(adj["exempt_technologies"])
    try:
        adjustment = AdjustmentParams(**adj)
        share = Decimal(record.community_share)
        availability = float(record.availability_gbp_per_mw_h)
    except (TypeError, ValueError, InvalidOperation) as err:
        raise ValueError(f"programme {record.id}: {err}") from err
    if not Decimal(0) <= share < Decimal(1):
        raise ValueError("community_share must be a fraction in [0, 1)")
    if not 0 <= availability <= MAX_AVAILABILITY_GBP_PER_MW_H:
        raise ValueError(f"availability_gbp_per_mw_h must be between 0 and {MAX_AVAILABILITY_GBP_PER_MW_H:g}")
    if any(not 0 <= f <= MAX_PAYMENT_FACTOR for _, f in record.payment_curve):
        raise ValueError(f"payment_curve factors must be between 0 and {MAX_PAYMENT_FACTOR:g}")
    curve = PaymentCurve(points=record.payment_curve) if record.payment_curve else None
    return Rules(
        programme_id=record.id,
        method=record.baseline_method,
        params=dict(record.baseline_params),
        adjustment=adjustment,
        curve=curve,
        community_share=share,
        availability_gbp_per_mw_h=availability,
    )
