"""Interval meter data (a supplier's or a consumer access device's CSV export) -> register readings.

Each row is the energy of one interval: `start,value` with value in kWh. Defined outcomes:
- naive timestamps are read in `timezone`: "UTC" (half-hourly smart-meter exports are on UTC settlement
  periods) or "Europe/London" (wall clock: a repeated autumn hour is taken as BST then GMT, in file
  order; a time skipped in spring is rejected as `nonexistent_local_time`);
- rows may come in any order;
- a repeated interval with the same value is a duplicate and counted; with a different value it is
  rejected as `conflicting_duplicate` (the first one stands);
- negative, non-numeric or impossible values are rejected with their reason and line;
- a gap stays a gap: the registers are flat across it, so the periods inside it are not measurable;
  after a gap of a single interval the next interval is not measurable either (see import_intervals).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from homeflex.core.domain import MeterReading
from homeflex.storage.records import RejectedReading
from homeflex.telemetry.validate import MAX_POWER_W, ReadingRejected

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


def _start(text: str, zone: ZoneInfo | None, seen_local: set[datetime]) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise ReadingRejected("bad_timestamp", f"cannot read time {text!r}") from err
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    if zone is None:
        return value.replace(tzinfo=UTC)
    local = value.replace(tzinfo=zone, fold=1 if value in seen_local else 0)
    seen_local.add(value)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        raise ReadingRejected(
            "nonexistent_local_time", f"{text} does not exist in {zone.key} (clocks went forward)"
        )
    return local.astimezone(UTC)


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


def read_intervals(text: str, *, timezone: str, interval: timedelta) -> tuple[list[Interval], ImportResult]:
    """Parse and check every row; returns the accepted intervals (sorted, deduplicated)."""
    if timezone not in TIMEZONES:
        raise ValueError(f"timezone must be one of {', '.join(TIMEZONES)}")
    zone = None if timezone == "UTC" else ZoneInfo(timezone)
    rows = csv.DictReader(io.StringIO(text))
    if not rows.fieldnames or not {"start", "value"} <= set(rows.fieldnames):
        raise ReadingRejected("malformed", "the CSV needs a header with 'start' and 'value' (kWh) columns")
    result, seen_local = ImportResult(), set[datetime]()
    by_start: dict[datetime, Interval] = {}
    for line, row in enumerate(rows, start=2):
        try:
            item = Interval(
                line=line,
                start=_start(row["start"] or "", zone, seen_local),
                kwh=_kwh(row["value"] or "", interval),
            )
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
    intervals, result = read_intervals(text, timezone=timezone, interval=interval)
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
        # After a gap the register starts again, flat across the gap. A flat stretch of one interval
        # would read as zero use, so after such a short gap the next interval is left unmeasurable too.
        if last_end is None or item.start - last_end > interval:
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
