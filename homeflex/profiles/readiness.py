"""Is a learned profile good enough to leave stage 1 (manual) for stage 2 (automatic)?"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from homeflex.profiles.model import HouseholdProfile


@dataclass(frozen=True, kw_only=True)
class ReadinessRule:
    min_days: int = 14  # local days with at least one reading
    min_coverage: float = 0.8  # fraction of half-hours measured over the observed days
    min_weekday_days: int = 5
    min_weekend_days: int = 2  # weekend and bank-holiday days

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_coverage <= 1.0:
            raise ValueError("min_coverage must be within [0, 1]")


@dataclass(frozen=True, kw_only=True)
class Readiness:
    """`reasons` lists the failed checks when not ready, and the checks passed when ready."""

    ready: bool
    reasons: list[str] = field(default_factory=list)


def readiness(profile: HouseholdProfile, rule: ReadinessRule | None = None) -> Readiness:
    rule = rule or ReadinessRule()
    cov = profile.coverage
    if cov.days_observed == 0:
        return Readiness(ready=False, reasons=["no readings", f"0 of {rule.min_days} days observed"])
    checks = [
        (cov.days_observed >= rule.min_days, f"{cov.days_observed} of {rule.min_days} days observed"),
        (cov.fraction >= rule.min_coverage, _coverage_text(cov.fraction, rule.min_coverage)),
        (
            profile.weekday.days >= rule.min_weekday_days,
            f"{profile.weekday.days} of {rule.min_weekday_days} weekdays observed",
        ),
        (
            profile.weekend.days >= rule.min_weekend_days,
            f"{profile.weekend.days} of {rule.min_weekend_days} weekend or bank-holiday days observed",
        ),
    ]
    failed = [text for ok, text in checks if not ok]
    return Readiness(ready=not failed, reasons=failed or [text for _, text in checks])


def _coverage_text(fraction: float, minimum: float) -> str:
    sign = ">=" if fraction >= minimum else "<"
    return f"coverage {_percent(fraction)} % {sign} {_percent(minimum)} %"


def _percent(fraction: float) -> int:
    """Whole percent rounded down, so a shortfall never prints as '80 % < 80 %'."""
    return math.floor(round(fraction * 100, 6))
