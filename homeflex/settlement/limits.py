"""The ranges an event's numbers must lie in to be paid: checked where an event enters (the operator and
OpenADR 3.1 APIs, homeflex.vtn.events) and again before settling one (an event stored before these
bounds, or written past the API, must fail with its reason, not crash a settlement run)."""

from __future__ import annotations

from datetime import timedelta

from homeflex.core.timeutil import FIRST_YEAR, LAST_YEAR
from homeflex.storage.records import EventRecord

MAX_DURATION = timedelta(hours=24)
MIN_DURATION = timedelta(minutes=1)  # shorter rounds to nothing in storage (whole seconds) and in settlement
MAX_REDUCTION_KW = 100.0  # per household: a domestic supply cannot shed more
# Above any price a DSO pays: the DFS Guaranteed Acceptance Price was £3,000/MWh and competitive DFS
# cleared at up to £2,500/MWh (settlement.md §5). Bounded so a typo cannot pay (or overflow) absurdly.
MAX_PRICE_GBP_PER_MWH = 10_000.0


class UnsettleableEventError(ValueError):
    """An event whose numbers are out of range: settlement refuses it, saying which and why."""


def out_of_range(event: EventRecord) -> str | None:
    """Why `event` cannot be settled as stored, or None when its numbers are in range."""
    if not 0 <= event.price_gbp_per_mwh <= MAX_PRICE_GBP_PER_MWH:
        return f"price {event.price_gbp_per_mwh} £/MWh is outside 0..{MAX_PRICE_GBP_PER_MWH:g}"
    if not 0 <= event.reduction_kw <= MAX_REDUCTION_KW:
        return f"reduction {event.reduction_kw} kW is outside 0..{MAX_REDUCTION_KW:g}"
    if not MIN_DURATION <= event.duration <= MAX_DURATION:
        return f"duration {event.duration} is outside {MIN_DURATION}..{MAX_DURATION}"
    if not FIRST_YEAR <= event.start.year <= LAST_YEAR:
        return f"start {event.start} is outside the years {FIRST_YEAR}..{LAST_YEAR}"
    return None
