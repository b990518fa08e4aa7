"""What a community scenario is: a population mix, an event policy and settlement variants (pure values).

Strings from the command line are parsed here, once, into frozen values; a bad string is a ValueError
that says what was expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from homeflex.core.domain import Category, FlexEvent
from homeflex.core.timeutil import LONDON
from homeflex.settlement.payments import LINEAR, SLIDING_SCALE, PaymentCurve
from homeflex.settlement.programme import Rules, rules_from_record
from homeflex.storage.records import ProgrammeRecord

DEFAULT_MIX = {Category.A: 0.05, Category.B: 0.20, Category.C: 0.40, Category.D: 0.35}
CURVES: dict[str, PaymentCurve | None] = {"delivered": None, "linear": LINEAR, "sliding": SLIDING_SCALE}


def parse_mix(text: str) -> dict[Category, float]:
    """``A:5,B:20,C:40,D:35`` -> shares summing to 1 (weights, so any positive scale works)."""
    weights: dict[Category, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition(":")
        try:
            category = Category(name.strip().upper())
            weight = float(value)
        except ValueError:
            raise ValueError(f"bad mix entry {part.strip()!r}: expected CATEGORY:WEIGHT, e.g. A:5") from None
        if not sep or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"bad mix entry {part.strip()!r}: the weight must be a number >= 0")
        if category in weights:
            raise ValueError(f"category {category} appears twice in the mix")
        weights[category] = weight
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the mix needs at least one category with a positive weight")
    return {c: w / total for c, w in weights.items() if w > 0}


def apportion(n: int, shares: dict[Category, float]) -> dict[Category, int]:
    """Largest-remainder counts of ``n`` households over ``shares``."""
    exact = {c: n * s for c, s in shares.items()}
    counts = {c: int(v) for c, v in exact.items()}
    for c in sorted(exact, key=lambda c: counts[c] - exact[c])[: n - sum(counts.values())]:
        counts[c] += 1
    return counts


def _value(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One way of settling: a baseline method (with parameters) and a payment curve."""

    name: str
    baseline: str = "same_day_type"
    baseline_params: tuple[tuple[str, object], ...] = ()
    curve: str = "delivered"  # a key of CURVES
    adjustment: tuple[tuple[str, object], ...] = ()  # AdjustmentParams fields, e.g. (("kind", "additive"),)
    availability_gbp_per_mw_h: float = 0.0

    def rules(self) -> Rules:
        """The programme's settlement rules; ValueError naming the valid choices for unknown names."""
        if self.curve not in CURVES:
            raise ValueError(f"unknown payment curve {self.curve!r}; valid: {', '.join(CURVES)}")
        chosen = CURVES[self.curve]
        record = ProgrammeRecord(
            id=self.name,
            name=self.name,
            baseline_method=self.baseline,
            baseline_params=dict(self.baseline_params),
            adjustment=dict(self.adjustment),
            payment_curve=chosen.points if chosen else (),
            availability_gbp_per_mw_h=str(self.availability_gbp_per_mw_h),
        )
        return rules_from_record(record)


def parse_baseline(text: str) -> tuple[str, tuple[tuple[str, object], ...]]:
    """``x_of_y:x=4:y=5`` -> ("x_of_y", (("x", 4), ("y", 5)))."""
    name, *pairs = text.strip().split(":")
    params = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"bad baseline parameter {pair!r} in {text!r}: expected NAME=VALUE")
        params.append((key, _value(value)))
    return name, tuple(params)


def parse_compare(text: str, base: Variant) -> tuple[Variant, Variant]:
    """``baseline=same_day_type,x_of_y``, ``curve=delivered,sliding`` or ``adjustment=none,additive`` (the
    day-of adjustment's kind) or ``availability=0,300`` (£/MW/h on top of utilisation): two variants."""
    key, sep, values = text.partition("=")
    choices = [v.strip() for v in values.split(",")]
    if not sep or len(choices) != 2 or not all(choices):
        raise ValueError(f"bad --compare {text!r}: expected baseline=A,B or curve=A,B")
    if key == "baseline":
        out = []
        for choice in choices:
            method, params = parse_baseline(choice)
            out.append(_replace(base, name=choice, baseline=method, baseline_params=params))
        return out[0], out[1]
    if key == "adjustment":
        return (
            _replace(base, name=f"adjustment {choices[0]}", adjustment=(("kind", choices[0]),)),
            _replace(base, name=f"adjustment {choices[1]}", adjustment=(("kind", choices[1]),)),
        )
    if key == "availability":
        try:
            rates = [float(c) for c in choices]
        except ValueError:
            raise ValueError(f"bad --compare {text!r}: availability rates are £/MW/h numbers") from None
        return (
            _replace(base, name=f"availability {choices[0]}", availability_gbp_per_mw_h=rates[0]),
            _replace(base, name=f"availability {choices[1]}", availability_gbp_per_mw_h=rates[1]),
        )
    if key == "curve":
        return (
            _replace(base, name=choices[0], curve=choices[0]),
            _replace(base, name=choices[1], curve=choices[1]),
        )
    raise ValueError(
        f"bad --compare {text!r}: can compare baseline, curve, adjustment or availability, not {key!r}"
    )


def _replace(base: Variant, **changes: object) -> Variant:
    fields = {**base.__dict__, **changes}
    variant = Variant(**fields)
    variant.rules()  # fail now, not after the simulation
    return variant


@dataclass(frozen=True, kw_only=True)
class EventPolicy:
    """The DSO's events: every weekday (or every day) at ``start`` local for ``minutes``."""

    start: time = time(17, 30)
    minutes: int = 60
    reduction_kw: float = 1.5
    notice_h: float = 2.0
    price_gbp_per_mwh: float = 1812.0
    weekdays_only: bool = True

    def __post_init__(self) -> None:
        if self.minutes <= 0 or not self.reduction_kw > 0 or self.notice_h < 0 or self.price_gbp_per_mwh < 0:
            raise ValueError("an event needs minutes > 0, a reduction > 0, notice >= 0 and a price >= 0")

    def events(self, first_day: date, days: int) -> list[tuple[datetime, FlexEvent]]:
        """(notice time, event) for each event day in [first_day, first_day + days)."""
        out = []
        for k in range(days):
            day = first_day + timedelta(days=k)
            if self.weekdays_only and day.weekday() >= 5:
                continue
            start = datetime.combine(day, self.start, LONDON)
            event = FlexEvent(
                event_id=f"sim-{day:%Y%m%d}",
                modification_number=0,
                start=start,
                duration=timedelta(minutes=self.minutes),
                reduction_w=self.reduction_kw * 1000,
                price_gbp_per_mwh=self.price_gbp_per_mwh,
            )
            out.append((start - timedelta(hours=self.notice_h), event))
        return out


@dataclass(frozen=True, kw_only=True)
class Scenario:
    households: int = 20
    days: int = 7
    seed: int = 1
    mix: dict[Category, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    first_day: date = date(2026, 1, 19)  # a Monday; observing the 14 days before misses Christmas
    observe_days: int = 14
    policy: EventPolicy = field(default_factory=EventPolicy)
    variants: tuple[Variant, ...] = (Variant(name="programme"),)
    # Baseline gaming: settle again as if each stage-3 household had run an extra ``gaming_kw`` over the
    # ``gaming_h`` hours before each event (e.g. a dishwasher on early). 0: no gaming check.
    gaming_kw: float = 0.0
    gaming_h: float = 2.0  # the default notice: the household learns of the event this long before
    # The customer journey: ``households`` express interest and walk the portal's journey; only those
    # installed are simulated. None: every household is installed (no journey). See scenarios/journey.
    journey_scale: float | None = None
    # The control core's plan cadence in hours (live: 0.5): it also re-plans on every change (a
    # deviation, a car behind its plan, an event). Its refresh in seconds (live: 300): it also wakes when
    # a car comes or goes, an event's notice arrives, a part-step heat-pump run ends and the half-hour
    # turns. The defaults run ~9x faster than live for nearly the same outcomes (bench simulate).
    replan_h: float = 12.0
    tick_s: float = 1800.0

    def __post_init__(self) -> None:
        if self.households < 1 or self.days < 1 or self.observe_days < 1:
            raise ValueError("households, days and observe days must each be at least 1")
        if not 0.5 <= self.replan_h <= 24:
            raise ValueError("the re-plan cadence must be between 0.5 and 24 hours")
        if not 60 <= self.tick_s <= 1800:
            raise ValueError("the control refresh must be between 1 and 30 minutes")
        if self.journey_scale is not None and not (0 <= self.journey_scale <= 10):
            raise ValueError("the journey's drop-off scale must be between 0 and 10")
        if not (self.gaming_kw >= 0 and self.gaming_h > 0 and (self.gaming_h * 2).is_integer()):
            raise ValueError("gaming needs a load >= 0 kW over a whole number of half-hours")
        if not self.variants:
            raise ValueError("a scenario needs at least one settlement variant")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"settlement variants need distinct names, got {names}")
        for variant in self.variants:
            variant.rules()
