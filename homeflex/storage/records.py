"""Rows the storage interface reads and writes: plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from homeflex.core.domain import Category


@dataclass(frozen=True, kw_only=True)
class HouseholdRecord:
    id: str
    group: str
    category: Category
    vulnerable: bool = False


@dataclass(frozen=True, kw_only=True)
class VenRecord:
    ven_id: str
    household_id: str
    ven_name: str
    registration_id: str
    fingerprint: str | None = None


@dataclass(frozen=True, kw_only=True)
class EventRecord:
    """A DSO flex event as the VTN stores it. reduction_kw is per targeted household."""

    event_id: str
    modification_number: int
    status: str  # 'scheduled' | 'cancelled'
    start: datetime
    duration: timedelta
    reduction_kw: float
    price_gbp_per_mwh: float
    created_at: datetime
    programme_id: str = "default"
    name: str | None = None  # OpenADR 3.1 eventName
    modified_at: datetime | None = None  # None: never modified since created_at
    # What an OpenADR 3.1 client gave beyond the columns above (priority, descriptors, intervals, targets
    # as given ...), served back as given; None for an event made by the operator API.
    document: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    @property
    def last_modified(self) -> datetime:
        return self.modified_at or self.created_at


@dataclass(frozen=True, kw_only=True)
class ProgrammeRecord:
    """A flexibility product: how its events are baselined and paid."""

    id: str
    name: str
    baseline_method: str = "same_day_type"
    baseline_params: dict[str, Any] = field(default_factory=dict)
    adjustment: dict[str, Any] = field(default_factory=dict)  # {} = no day-of adjustment
    payment_curve: tuple[tuple[float, float], ...] = ()  # () = pay the delivered (capped) energy
    availability_gbp_per_mw_h: str = "0"
    community_share: str = "0"  # fraction of each payment the community operator keeps


@dataclass(frozen=True, kw_only=True)
class TargetRecord:
    event_id: str
    household_id: str
    sent_modification: int | None
    acked_modification: int | None
    opt_type: str | None
    opt_at: datetime | None

    def late_opt_in(self, start: datetime) -> bool:
        """An opt-in first given at or after the event's `start`: kept as the VEN's answer, never paid,
        since the DSO could not count on a reduction it learnt of only once the event was under way."""
        return self.opt_type == "optIn" and (self.opt_at is None or self.opt_at >= start)

    def opted_in_by(self, start: datetime) -> bool:
        """An opt-in given before the event's `start`: the only answer settlement pays."""
        return self.opt_type == "optIn" and not self.late_opt_in(start)


@dataclass(frozen=True, kw_only=True)
class RejectedReading:
    household_id: str | None
    topic: str
    payload: bytes
    reason: str
    message: str
    received_at: datetime


@dataclass(frozen=True, kw_only=True)
class SettlementRecord:
    event_id: str
    household_id: str
    version: int
    status: str
    method: str
    baseline_kw: float | None
    actual_kw: float | None
    instructed_kwh: float
    delivered_kwh: float
    payment_gbp: str  # decimal string: what the DSO pays for this household's delivery
    evidence: str  # JSON: per-period baseline, actual, delivered
    computed_at: datetime
    household_gbp: str = "0"
    community_gbp: str = "0"
    inputs_sha256: str = ""  # of the readings and parameters used, so a run can be checked later
    parameters: str = "{}"  # JSON: method, params, product


@dataclass(frozen=True, kw_only=True)
class LedgerEntry:
    event_id: str
    household_id: str
    settlement_version: int
    debit_account: str
    credit_account: str
    amount_gbp: str
    memo: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class ProfileVersion:
    """One stored version of a household's stage-1 profile, without the profile itself."""

    household_id: str
    version: int  # 1, 2, ... per household, assigned by the storage
    as_of: datetime  # learned from data before this time
    learned_at: datetime
    ready: bool  # may the household leave stage 1 (manual)?
    reasons: tuple[str, ...]  # the failed readiness checks, or every check passed when ready


@dataclass(frozen=True, kw_only=True)
class ProfileRecord(ProfileVersion):
    """A stored profile version with its document (homeflex.profiles.serial's JSON form)."""

    profile: dict[str, Any]  # its "version" is the record's version


@dataclass(frozen=True, kw_only=True)
class ConfigVersion:
    """One stored version of a household's configuration (homeflex.household), without the document."""

    household_id: str
    version: int  # 1, 2, ... per household, assigned by the storage
    saved_at: datetime
    actor: str  # who saved it


@dataclass(frozen=True, kw_only=True)
class ConfigRecord(ConfigVersion):
    """A stored configuration version with its document (HouseholdConfig.to_document())."""

    document: dict[str, Any]  # its "version" is the record's version


@dataclass(frozen=True, kw_only=True)
class Oadr3Client:
    """An OpenADR 3.1 OAuth2 client: 'ven' (a household's VEN) or 'bl' (the DSO's business logic)."""

    client_id: str
    secret_sha256: str  # hex; the secret itself is never stored
    role: str


@dataclass(frozen=True, kw_only=True)
class Oadr3Object:
    """An OpenADR 3.1 VEN, resource, subscription or report as the API serves it (without metadata)."""

    object_type: str  # 'VEN' | 'RESOURCE' | 'SUBSCRIPTION' | 'REPORT'
    id: str
    client_id: str  # the client that owns it
    document: dict[str, Any]
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True, kw_only=True)
class Oadr3Program:
    """An OpenADR 3.1 program: a programmes row (same id; its settlement terms stay there) with the 3.1
    document as given (descriptions, interval period, payload descriptors, targets, ...)."""

    id: str
    name: str
    document: dict[str, Any]
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True, kw_only=True)
class EventQuery:
    """A page of events as OpenADR 3.1 GET /events asks for it, answered in SQL (start, id order)."""

    program_ids: tuple[str, ...] = ()  # any of them; () = every program
    targets: tuple[str, ...] = ()  # any of them: a household id or a group name; () = no filter
    visible_to: tuple[str, ...] | None = None  # only events targeting one of these households
    ended_after: datetime | None = None  # only events ending after this (3.1 `active`)
    # Only events starting after this: with `ended_after` less the longest event, it lets the page walk
    # the start index from there instead of from the first event ever.
    started_after: datetime | None = None
    skip: int = 0
    limit: int = 50


@dataclass(frozen=True, kw_only=True)
class Oadr3Query:
    """A page of 3.1 objects of one type as a list operation asks for it, answered in SQL (created_at, id
    order). Field names are the document's; the list operation fixes which (objects_api.FILTERS)."""

    object_type: str
    equal: tuple[tuple[str, str], ...] = ()  # (document field, value): the field is that string
    # (list name, values): the document's list holds any of the values; "targets", or "objects" for the
    # object types of a subscription's objectOperations
    any_of: tuple[tuple[str, tuple[str, ...]], ...] = ()
    client_id: str | None = None  # only objects this client owns
    ven_ids: tuple[str, ...] | None = None  # only these VENs (VEN objects) or their resources (venID)
    skip: int = 0
    limit: int = 50


@dataclass(frozen=True, kw_only=True)
class PortfolioMember:
    """A household (resource) in an aggregator's portfolio, with the flexibility it offered."""

    household_id: str
    offered_kw: float


@dataclass(frozen=True, kw_only=True)
class AggregatorRecord:
    """An aggregator: one VEN for a portfolio. Its id is also its household (account) id."""

    id: str
    name: str
    members: tuple[PortfolioMember, ...]  # ordered by household id
