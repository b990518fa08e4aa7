"""Interval meter data (a supplier's or a consumer access device's CSV export) -> register readings.

Each row is the energy of one interval: `start,value` with value in kWh. Defined outcomes:
- naive timestamps are read in `timezone`: "UTC" (half-hourly smart-meter exports are on UTC settlement
  periods) or "Europe/London" (wall clock). A wall-clock time of the repeated autumn hour must appear
  twice: its first row (in file order) is BST, its second GMT; given once or more than twice it is
  rejected as `ambiguous_local_time` with its row, as nothing says which hour it was (a time with an
  offset is never ambiguous). A time skipped in spring is rejected as `nonexistent_local_time`;
- an interval that ends after the file was received, or starts outside the years 2000..2100, is
  rejected (`future_timestamp`, `bad_timestamp`): a customer's file cannot speak for the meter's future;
- rows may come in any order;
- a repeated interval with the same value is a duplicate and counted; with a different value it is
  rejected as `conflicting_duplicate` (the first one stands);
- negative, non-numeric or impossible values are rejected with their reason and line;
- a gap stays a gap and every interval measured is kept: after a gap the registers start a new run
  (see import_intervals), so the periods inside the gap are not measurable and the ones around it are;
- every reading is marked source "upload": where the meter has a reading for the same time, the
  meter's wins (storage and energy.period_energy_kwh).
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from homeflex.core.domain import MeterReading
from homeflex.core.timeutil import FIRST_YEAR, LAST_YEAR
from homeflex.metering.validate import MAX_CLOCK_SKEW, MAX_POWER_W, ReadingRejected
from homeflex.storage.records import RejectedReading

TIMEZONES = ("UTC", "Europe/London")


@dataclass(frozen=True, kw_only=True)
class Interval:
    line: int
    start: datetime  # UTC
    kwh: float


@dataclass(kw_only=True)
class ImportResult:
    readings: list[MeterReading] = field(default_factory=list)
    rejected: list[tuple[int, ReadingRejected]] = field(default_factory=list)  # (line, why)
    duplicates: int = 0
    intervals: int = 0


def _naive(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise ReadingRejected("bad_timestamp", f"cannot read time {text!r}") from err


@dataclass(kw_only=True)
class _WallClock:
    """Reads naive times in `zone`, resolving the repeated autumn hour by file order (see the module)."""

    zone: ZoneInfo | None
    given: Counter[datetime]  # how often the file gives each naive time
    seen: Counter[datetime] = field(default_factory=Counter)

    def utc(self, text: str) -> datetime:
        value = _naive(text)
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        if self.zone is None:
            return value.replace(tzinfo=UTC)
        first = value.replace(tzinfo=self.zone)
        if first.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) != value:
            raise ReadingRejected(
                "nonexistent_local_time", f"{text} does not exist in {self.zone.key} (clocks went forward)"
            )
        if first.utcoffset() == first.replace(fold=1).utcoffset():
            return first.astimezone(UTC)
        n, self.seen[value] = self.seen[value], self.seen[value] + 1
        if self.given[value] != 2:
            raise ReadingRejected(
                "ambiguous_local_time",
                f"{text} occurs twice in {self.zone.key} (clocks went back) and the file gives it"
                f" {self.given[value]} time(s), not twice (BST, then GMT): give its UTC offset",
            )
        return first.replace(fold=n).astimezone(UTC)


def _check_when(start: datetime, interval: timedelta, received_at: datetime) -> None:
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise ReadingRejected("bad_timestamp", f"{start} is outside the years {FIRST_YEAR}..{LAST_YEAR}")
    if start + interval - received_at > MAX_CLOCK_SKEW:
        raise ReadingRejected(
            "future_timestamp", f"the interval from {start} ends after the file was received ({received_at})"
        )


def _given(texts: list[str]) -> Counter[datetime]:
    counts: Counter[datetime] = Counter()
    for text in texts:
        try:
            counts[_naive(text)] += 1
        except ReadingRejected:
            continue  # reported with its row when the row is read
    return counts


def _kwh(text: str, interval: timedelta) -> float:
    try:
        kwh = float(text)
    except ValueError as err:
        raise ReadingRejected("wrong_type", f"value {text!r} is not a number") from err
    if not math.isfinite(kwh) or kwh < 0:
        raise ReadingRejected("impossible_value", f"value {text!r} kWh is not possible on an import meter")
    if kwh * 1000 / (interval.total_seconds() / 3600) > MAX_POWER_W:
        raise ReadingRejected("impossible_value", f"{kwh} kWh in {interval} is more than a house can draw")
    return kwh


def read_intervals(
    text: str, *, timezone: str, interval: timedelta, received_at: datetime
) -> tuple[list[Interval], ImportResult]:
    """Parse and check every row; returns the accepted intervals (sorted, deduplicated)."""
    if timezone not in TIMEZONES:
        raise ValueError(f"timezone must be one of {', '.join(TIMEZONES)}")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"start", "value"} <= set(reader.fieldnames):
        raise ReadingRejected("malformed", "the CSV needs a header with 'start' and 'value' (kWh) columns")
    rows = list(reader)
    clock = _WallClock(
        zone=None if timezone == "UTC" else ZoneInfo(timezone), given=_given([r["start"] or "" for r in rows])
    )
    result = ImportResult()
    by_start: dict[datetime, Interval] = {}
    for line, row in enumerate(rows, start=2):
        try:
            item = Interval(
                line=line, start=clock.utc(row["start"] or ""), kwh=_kwh(row["value"] or "", interval)
            )
            _check_when(item.start, interval, received_at)
        except ReadingRejected as err:
            result.rejected.append((line, err))
            continue
        first = by_start.get(item.start)
        if first is None:
            by_start[item.start] = item
        elif first.kwh == item.kwh:
            result.duplicates += 1
        else:
            result.rejected.append(
                (
                    line,
                    ReadingRejected(
                        "conflicting_duplicate",
                        f"{item.start} already has {first.kwh} kWh (line {first.line})",
                    ),
                )
            )
    return sorted(by_start.values(), key=lambda i: i.start), result


def import_intervals(
    household_id: str,
    text: str,
    *,
    received_at: datetime,
    timezone: str = "UTC",
    interval: timedelta = timedelta(minutes=30),
    start_register_wh: float = 0.0,
) -> ImportResult:
    """Interval rows -> cumulative-register readings, as a meter would have reported them."""
    intervals, result = read_intervals(text, timezone=timezone, interval=interval, received_at=received_at)
    register, last_end = start_register_wh, None
    power_per_kwh = 1000 / (interval.total_seconds() / 3600)

    def reading(ts: datetime, power_w: float) -> MeterReading:
        return MeterReading(
            household_id=household_id,
            ts=ts,
            import_wh=round(register, 6),
            export_wh=0.0,
            power_w=power_w,
            received_at=received_at,
            source="upload",
        )

    for item in intervals:
        if last_end is not None and item.start < last_end:
            result.rejected.append(
                (
                    item.line,
                    ReadingRejected(
                        "overlapping_interval", f"{item.start} starts before the previous interval ends"
                    ),
                )
            )
            continue
        if last_end is None or item.start > last_end:
            # After a gap a new run of registers starts, back at the first run's value. Across the gap
            # the register then goes down, which energy reads as not measurable: a flat register over a
            # one-interval gap would read as zero use instead. Only if nothing was used before the gap
            # can it not go down; then, rather than invent a zero, the interval after a one-interval
            # gap is left unmeasurable (its start reading is not written).
            restarts = register > start_register_wh
            if last_end is None or restarts or item.start - last_end > interval:
                register = start_register_wh if last_end is not None else register
                result.readings.append(reading(item.start, item.kwh * power_per_kwh))
        register += item.kwh * 1000
        last_end = item.start + interval
        result.readings.append(reading(last_end, item.kwh * power_per_kwh))
        result.intervals += 1
    return result


def rejected_rows(
    result: ImportResult, household_id: str, source: str, received_at: datetime
) -> list[RejectedReading]:
    """The rows an import refused, as rejected readings to store; ``source`` names the file (the line
    number is appended), so each refusal can be traced back to its row."""
    return [
        RejectedReading(
            household_id=household_id,
            topic=f"{source}:{line}",
            payload=b"",
            reason=why.reason,
            message=why.message,
            received_at=received_at,
        )
        for line, why in result.rejected
    ]
