"""Settlement periods: UTC half-hours, UK local dates (the day type of a date: calendar_uk.day_type)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
PERIOD = timedelta(minutes=30)
FIRST_YEAR, LAST_YEAR = 2000, 2100  # event and reading times outside these years are typos


def parse_utc(text: str) -> datetime:
    """Parse an ISO 8601 time that carries an offset ('Z' allowed) into aware UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """Aware UTC time as ISO 8601 with 'Z'."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def period_start(value: datetime) -> datetime:
    """Start of the UTC half-hour settlement period containing `value`."""
    value = value.astimezone(UTC)
    return value.replace(minute=value.minute - value.minute % 30, second=0, microsecond=0)


def periods(start: datetime, end: datetime) -> list[datetime]:
    """Starts of the settlement periods that overlap [start, end)."""
    out = []
    t = period_start(start)
    while t < end:
        out.append(t)
        t += PERIOD
    return out


def local_date(value: datetime) -> date:
    return value.astimezone(LONDON).date()
