"""The aggregator's VEN: one openleadr OpenADRClient for a portfolio of households (resources).

The VTN sends it each event that targets any member, once, with the targeted members as eiTarget
resourceIDs and the request per resource in the LOAD_DISPATCH signal. `split_request` (pure) spreads
the portfolio's total request over those members in proportion to the flexibility each offered,
capped per member at its own request (each is settled against its own instruction) and, for a
vulnerable member, at what its safety rules allow (none by default). The VEN opts in for the portfolio
when the split covers at least `min_share` of the request; openleadr's oadrCreatedEvent carries one
answer per event, so the answer is the portfolio's. Metered power is reported per member: one report
with one rID per member, the rID and resourceID being the member's household id.
"""

from __future__ import annotations

import functools
import logging
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any

from openleadr import OpenADRClient, enums

from homeflex.core.domain import FlexEvent
from homeflex.ven.events import parse_event
from homeflex.ven.tls import guard_vtn_responses

log = logging.getLogger(__name__)
EPSILON_KW = 1e-9
RECEIVED_KEPT = 1000


@dataclass(frozen=True, kw_only=True)
class Resource:
    """A member as its aggregator knows it. kW are reductions of net import."""

    household_id: str
    offered_kw: float  # the flexibility the member offered
    vulnerable: bool = False
    safe_kw: float = 0.0  # a vulnerable member's most its safety rules allow it to shed

    def __post_init__(self) -> None:
        for name in ("offered_kw", "safe_kw"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{self.household_id}: {name} must be a finite, non-negative kW figure")

    @property
    def cap_kw(self) -> float:
        return min(self.offered_kw, self.safe_kw) if self.vulnerable else self.offered_kw


@dataclass(frozen=True, kw_only=True)
class Split:
    """The portfolio's answer to one event: a share per targeted member (kW) and the opt decision."""

    requested_kw: float  # the sum of the targeted members' requests
    shares: tuple[tuple[str, float], ...]  # (household id, kW) per targeted member, by id
    opt_in: bool
    reason: str

    @property
    def allocated_kw(self) -> float:
        return sum(kw for _, kw in self.shares)

    @property
    def opt_type(self) -> str:
        return "optIn" if self.opt_in else "optOut"

    def share(self, household_id: str) -> float:
        return dict(self.shares).get(household_id, 0.0)


def split_request(
    requests_kw: Mapping[str, float], portfolio: Sequence[Resource], *, min_share: float = 0.25
) -> Split:
    """Spread the total of `requests_kw` (kW asked per targeted member) over those members, in
    proportion to what each offered and capped at min(its request, its cap); what a capped member
    cannot take goes to the others (water-filling). Targeted households not in `portfolio` get 0."""
    if not 0 <= min_share <= 1:
        raise ValueError("min_share must be within [0, 1]")
    known = {r.household_id: r for r in portfolio}
    targeted = sorted(h for h in requests_kw if h in known)
    requested = sum(requests_kw[h] for h in targeted)
    shares = dict.fromkeys(targeted, 0.0)
    caps = {h: max(0.0, min(requests_kw[h], known[h].cap_kw)) for h in targeted}
    active = {h for h in targeted if caps[h] > EPSILON_KW and known[h].offered_kw > 0}
    remaining = requested
    while remaining > EPSILON_KW and active:
        weight = sum(known[h].offered_kw for h in active)
        give = {h: remaining * known[h].offered_kw / weight for h in active}
        full = {h for h in active if shares[h] + give[h] >= caps[h] - EPSILON_KW}
        if not full:
            for h in active:
                shares[h] += give[h]
            remaining = 0.0
            break
        for h in full:
            remaining -= caps[h] - shares[h]
            shares[h] = caps[h]
        active -= full
    allocated = sum(shares.values())
    opt_in, reason = _decide(portfolio, targeted, requested, allocated, min_share)
    return Split(requested_kw=requested, shares=tuple(sorted(shares.items())), opt_in=opt_in, reason=reason)


def _decide(
    portfolio: Sequence[Resource], targeted: list[str], requested: float, allocated: float, min_share: float
) -> tuple[bool, str]:
    if not portfolio:
        return False, "the portfolio is empty"
    if not targeted:
        return False, "the event targets no member of the portfolio"
    ratio = allocated / requested if requested > 0 else 0.0
    text = (
        f"portfolio covers {allocated:.2f} of {requested:.2f} kW ({ratio:.0%}) over {len(targeted)} resources"
    )
    if requested <= 0 or ratio + EPSILON_KW < min_share:
        return False, f"{text}: below the minimum share {min_share:.0%}"
    return True, text


def event_resources(event: dict[str, Any]) -> tuple[str, ...]:
    """The eiTarget resourceIDs of an openleadr event dict, sorted."""
    by_type = event.get("targets_by_type") or {}
    ids = by_type.get("resource_id") or [
        t["resource_id"] for t in event.get("targets") or [] if t.get("resource_id")
    ]
    return tuple(sorted(set(ids)))


class AggregatorVen:
    """`async with AggregatorVen(...)`: registers (ven_name = the aggregator id), answers events for the
    portfolio and reports each member's metered power from `power_w(household_id)` (W, import +)."""

    def __init__(
        self,
        aggregator_id: str,
        portfolio: Sequence[Resource],
        vtn_url: str,
        power_w: Callable[[str], float],
        *,
        report_interval: timedelta = timedelta(seconds=10),
        min_share: float = 0.25,
    ) -> None:
        self.aggregator_id = aggregator_id
        self.portfolio = tuple(portfolio)
        self.min_share = min_share
        self.splits: dict[str, Split] = {}
        # (event, modification, resources) of the latest events received; a long run keeps no more
        self.received: deque[tuple[str, int, tuple[str, ...]]] = deque(maxlen=RECEIVED_KEPT)
        guard_vtn_responses()
        self.client = OpenADRClient(ven_name=aggregator_id, vtn_url=vtn_url, show_fingerprint=False)
        self.client.add_handler("on_event", self.on_event)
        self.client.add_handler("on_update_event", self.on_event)
        for r in self.portfolio:
            self.client.add_report(
                callback=functools.partial(power_w, r.household_id),
                resource_id=r.household_id,
                r_id=r.household_id,
                report_specifier_id=f"{aggregator_id}-portfolio-power",
                measurement=enums.MEASUREMENTS.REAL_POWER,
                sampling_rate=report_interval,
                report_duration=timedelta(hours=1),
                unit="W",
            )

    async def __aenter__(self) -> AggregatorVen:
        await self.client.run()
        if not self.client.registration_id:
            raise RuntimeError(f"aggregator VEN {self.aggregator_id}: the VTN refused registration")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.client.stop()

    async def on_event(self, event: dict[str, Any]) -> str:
        try:
            flex = parse_event(event)
        except (KeyError, TypeError, ValueError) as err:
            log.error("%s: unreadable event, opting out: %s", self.aggregator_id, err)
            return "optOut"
        resources = event_resources(event)
        self.received.append((flex.event_id, flex.modification_number, resources))
        if flex.cancelled:
            self.splits.pop(flex.event_id, None)
            return "optIn"  # acknowledges the cancellation
        split = self.split(flex, resources)
        self.splits[flex.event_id] = split
        log.info("%s %s event %s: %s", self.aggregator_id, split.opt_type, flex.event_id, split.reason)
        return split.opt_type

    def split(self, flex: FlexEvent, resources: Sequence[str]) -> Split:
        """The request per resource is the event's LOAD_DISPATCH (the VTN sends one per resource)."""
        per_resource_kw = flex.reduction_w / 1000
        return split_request(
            dict.fromkeys(resources, per_resource_kw), self.portfolio, min_share=self.min_share
        )
