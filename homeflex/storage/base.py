"""The one storage interface. SQLiteStorage and PostgresStorage implement it; code outside
homeflex.storage should depend on this Protocol only (construction goes through `open_storage`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from homeflex.core.domain import MeterReading
from homeflex.storage.records import (
    AggregatorRecord,
    ConfigRecord,
    ConfigVersion,
    EventQuery,
    EventRecord,
    HouseholdRecord,
    LedgerEntry,
    Oadr3Client,
    Oadr3Object,
    Oadr3Program,
    Oadr3Query,
    ProfileRecord,
    ProfileVersion,
    ProgrammeRecord,
    RejectedReading,
    SettlementRecord,
    TargetRecord,
    VenRecord,
)


class CorruptRecordError(ValueError):
    """A stored row cannot be read back (e.g. its JSON is not valid): repair the data, retrying won't help."""


class OverlappingEventError(ValueError):
    """A new event would overlap, for some household, an event it is already in: the same energy would
    be baselined and paid twice. Nothing was stored; the message names the households and the event."""


class Storage(Protocol):
    """Times are aware datetimes (UTC); money is decimal strings; energy kWh, power kW or W as named."""

    async def close(self) -> None:
        """Release the connection (or pool)."""

    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied now."""

    # -- households and VENs
    async def upsert_household(self, h: HouseholdRecord, at: datetime) -> None:
        """Create a household, or update its group, category and vulnerability."""

    async def get_household(self, household_id: str) -> HouseholdRecord | None:
        """One household, or None."""

    async def list_households(self, group: str | None = None) -> list[HouseholdRecord]:
        """All households (of one group if given), ordered by id."""

    async def save_ven(self, ven: VenRecord, at: datetime) -> None:
        """Register a VEN, or update its registration id and fingerprint."""

    async def get_ven(self, ven_id: str) -> VenRecord | None:
        """One VEN registration, or None."""

    async def count_vens(self) -> int:
        """How many VENs are registered."""

    # -- events
    async def create_event(self, event: EventRecord, household_ids: Iterable[str]) -> None:
        """Store an event and its target households atomically. OverlappingEventError, storing nothing,
        if any of those households is in another scheduled (not cancelled) event whose window overlaps
        this one's: a household is in one event at a time, so no half-hour is paid twice."""

    async def get_event(self, event_id: str) -> EventRecord | None:
        """One event, or None."""

    async def list_events(self) -> list[EventRecord]:
        """All events, ordered by start then id."""

    async def live_events(self, now: datetime) -> list[EventRecord]:
        """Events (cancelled ones too) that have not ended at `now`, ordered by start then id; an index
        lookup, so the VTN's poll state stays cheap with a long history of events."""

    async def cancel_event(self, event_id: str, at: datetime) -> EventRecord | None:
        """Mark cancelled and bump the modification number (once); returns the event as stored."""

    async def event_targets(self, event_id: str) -> list[TargetRecord]:
        """The event's targets with what each VEN was sent and answered, ordered by household."""

    async def household_events(self, household_id: str) -> list[tuple[EventRecord, TargetRecord]]:
        """Every event targeting the household with its target row (answer, what was sent), newest first."""

    async def events_for_poll(self, household_id: str, now: datetime) -> list[EventRecord]:
        """Events this VEN has not answered at their current modification and that have not ended."""

    async def mark_sent(self, household_id: str, events: Sequence[EventRecord]) -> None:
        """Record which modification of each event was sent to the household's VEN."""

    async def record_opt(
        self, event_id: str, household_id: str, modification_number: int, opt_type: str, at: datetime
    ) -> bool:
        """Store a VEN's opt response; False if the event is not targeted at that household."""

    async def mark_sent_many(self, sent: Sequence[tuple[str, str, int]]) -> None:
        """Many (event_id, household_id, modification_number) deliveries in one transaction."""

    async def record_opts(self, opts: Sequence[tuple[str, str, int, str, datetime]]) -> None:
        """Many (event_id, household_id, modification_number, opt_type, at) responses in one transaction;
        the caller has checked that each event targets that household (a row that does not is a no-op)."""

    async def claim_deliveries(
        self, event_id: str, modification_number: int, household_ids: Sequence[str]
    ) -> list[str]:
        """Mark the modification sent to those households that had not been sent it yet; returns them.
        Of several workers claiming the same household at once, exactly one gets it."""

    # -- OpenADR 2.0b push
    async def save_push_url(self, ven_id: str, url: str | None, at: datetime) -> None:
        """The endpoint a VEN registered for push, or None (it registered for pull only)."""

    async def push_vens(self) -> dict[str, tuple[str, str]]:
        """household id -> (ven id, push url) of every VEN registered for push."""

    # -- OpenADR reports
    async def save_report_request(self, report_request_id: str, ven_id: str, at: datetime) -> None:
        """Remember a report request (a repeated id is ignored)."""

    async def report_request_ven(self, report_request_id: str) -> str | None:
        """The VEN a report request was made to, or None."""

    async def save_ven_reports(
        self, ven_id: str, report_request_id: str, values: Sequence[tuple[str, datetime, float]], at: datetime
    ) -> None:
        """Store reported (r_id, time, value) triples; a repeated (r_id, time) replaces the old value."""

    async def ven_reports(self, ven_id: str) -> list[tuple[str, datetime, float]]:
        """A VEN's reported (r_id, time, value) triples, oldest first."""

    # -- readings
    async def insert_readings(self, readings: Sequence[MeterReading], received_at: datetime) -> int:
        """Insert atomically; duplicates by (household, ts) are ignored, the first stored wins.
        Returns how many were new."""

    async def insert_rejected(self, rejected: Sequence[RejectedReading]) -> None:
        """Keep readings that failed validation, with the reason."""

    async def readings(self, household_id: str, start: datetime, end: datetime) -> list[MeterReading]:
        """A household's readings measured in [start, end] (both inclusive), oldest first."""

    async def count_readings(self, household_id: str | None = None) -> int:
        """How many readings are stored (for one household if given)."""

    async def rejected_readings(self) -> list[RejectedReading]:
        """Every rejected reading, in the order stored."""

    # -- settlement and ledger
    async def household_settlements(
        self, household_id: str, start: datetime, end: datetime
    ) -> list[SettlementRecord]:
        """Every settlement version for a household computed in [start, end), oldest first."""

    async def ledger_balances(self) -> dict[str, Decimal]:
        """Balance per account: credits minus debits (they sum to zero)."""

    async def upsert_programme(self, p: ProgrammeRecord, at: datetime) -> None:
        """Create or replace a flexibility programme."""

    async def get_programme(self, programme_id: str) -> ProgrammeRecord | None:
        """One programme, or None."""

    async def list_programmes(self) -> list[ProgrammeRecord]:
        """Every programme, ordered by id."""

    async def save_period_energy(
        self, household_id: str, energy: Mapping[datetime, float], at: datetime
    ) -> None:
        """Upsert aggregated kWh per half-hour; NaN is stored as NULL (not measurable)."""

    async def period_energy(self, household_id: str, start: datetime, end: datetime) -> dict[datetime, float]:
        """kWh per half-hour starting in [start, end); NaN where not measurable."""

    async def save_settlement_run(
        self, started_at: datetime, period_start: datetime, period_end: datetime, events: int, versions: int
    ) -> None:
        """Append a settlement run to the audit trail."""

    async def events_ending_between(self, start: datetime, end: datetime) -> list[EventRecord]:
        """Events whose window ends in [start, end)."""

    async def latest_settlements(self, event_id: str) -> list[SettlementRecord]:
        """The latest settlement version per household for an event, ordered by household."""

    async def save_settlement(self, record: SettlementRecord, entries: Sequence[LedgerEntry]) -> None:
        """A settlement version and its ledger entries, atomically."""

    async def ledger(self, event_id: str | None = None) -> list[LedgerEntry]:
        """Ledger entries (of one event if given), in the order written."""

    # -- stage-1 profiles
    async def save_profile(
        self,
        household_id: str,
        *,
        as_of: datetime,
        learned_at: datetime,
        ready: bool,
        reasons: Sequence[str],
        profile: Mapping[str, Any],
    ) -> ProfileRecord:
        """Store the household's next profile version (1, 2, ...), numbered atomically even with
        concurrent writers; a stored version is never overwritten or edited. The stored document is
        `profile` with its "version" set to that number. LookupError if the household is unknown."""

    async def latest_profile(self, household_id: str) -> ProfileRecord | None:
        """The household's newest profile version, or None. CorruptRecordError if it cannot be read."""

    async def profile_versions(self, household_id: str) -> list[ProfileVersion]:
        """Every profile version's metadata (no document), oldest first."""

    # -- household configurations (homeflex.household: the portal's profile writes them)
    async def save_household_config(
        self, household_id: str, document: Mapping[str, Any], *, saved_at: datetime, actor: str
    ) -> ConfigRecord:
        """Store the household's next configuration version (1, 2, ...), numbered atomically even with
        concurrent writers; the stored document is `document` with its "version" set to that number.
        LookupError if the household is unknown."""

    async def discard_household_config(self, household_id: str, version: int) -> bool:
        """Undo save_household_config when what it saved could not be sent (the version must still be
        the household's newest); False if it was not."""

    async def latest_household_config(self, household_id: str) -> ConfigRecord | None:
        """The household's newest configuration, or None. CorruptRecordError if it cannot be read."""

    async def household_config_versions(self, household_id: str) -> list[ConfigVersion]:
        """Every configuration version's metadata (no document), oldest first."""

    # -- OpenADR 3.1 (homeflex.vtn.oadr3)
    async def save_oadr3_client(self, client: Oadr3Client, at: datetime) -> None:
        """Provision an OAuth2 client, or replace its secret and role."""

    async def get_oadr3_client(self, client_id: str) -> Oadr3Client | None:
        """One OAuth2 client, or None."""

    async def list_oadr3_clients(self) -> list[Oadr3Client]:
        """Every provisioned OAuth2 client, by client id."""

    async def put_oadr3_object(self, obj: Oadr3Object) -> None:
        """Create or replace a 3.1 object; a replacement keeps the stored created_at."""

    async def get_oadr3_object(self, object_type: str, object_id: str) -> Oadr3Object | None:
        """One 3.1 object, or None."""

    async def list_oadr3_objects(self, object_type: str, client_id: str | None = None) -> list[Oadr3Object]:
        """3.1 objects of a type (owned by one client if given), oldest first."""

    async def oadr3_objects_page(self, query: Oadr3Query) -> list[Oadr3Object]:
        """A page of 3.1 objects, every filter and the page in the query (created_at, id order)."""

    async def delete_oadr3_object(self, object_type: str, object_id: str) -> bool:
        """Delete a 3.1 object; False if there was none."""

    async def put_oadr3_program(
        self, program_id: str, name: str, document: dict[str, Any], at: datetime
    ) -> None:
        """Create a programme (paid like the default) or replace an existing one's name and 3.1 document,
        keeping its settlement terms; `at` is its creation or modification time."""

    async def get_oadr3_program(self, program_id: str) -> Oadr3Program | None:
        """A programme as a 3.1 program (its document {} if 3.1 never wrote one), or None."""

    async def list_oadr3_programs(self) -> list[Oadr3Program]:
        """Every programme as a 3.1 program, oldest first."""

    async def delete_programme(self, program_id: str) -> bool | None:
        """Delete a programme: True; False if there was none; None (nothing deleted) if events refer to it."""

    async def modify_event(self, event: EventRecord, household_ids: Sequence[str]) -> EventRecord | None:
        """Replace a scheduled event's window, payload, programme, name, document and targets atomically
        and bump its modification number; returns it as stored, or None if it is cancelled or unknown."""

    async def events_page(self, query: EventQuery) -> list[tuple[EventRecord, list[str]]]:
        """A page of scheduled events with their targeted households (ordered), by start then id."""

    # -- aggregators (one VEN for a portfolio of households)
    async def save_aggregator(self, aggregator: AggregatorRecord, at: datetime) -> None:
        """Create an aggregator (its id a household) or replace its name and portfolio, atomically;
        fails, changing nothing, if a member is in another portfolio or is not a household."""

    async def get_aggregator(self, aggregator_id: str) -> AggregatorRecord | None:
        """One aggregator with its members (by household id), or None."""

    async def list_aggregators(self) -> list[AggregatorRecord]:
        """Every aggregator with its members, ordered by id."""

    async def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """For tests and diagnostics only: SQL and placeholders in the backend's own dialect."""
