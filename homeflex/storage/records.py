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

    @property
    def end(self) -> datetime:
        return self.start + self.duration


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
    """A stored profile version with its document (homeflex.control.profile's JSON form)."""

    profile: dict[str, Any]  # its "version" is the record's version


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
