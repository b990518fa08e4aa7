"""When a notification may go out: never overnight (pure). Mail queued in the quiet hours is held in
the outbox until the morning, UK local time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from homeflex.core.timeutil import LONDON

QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)


def send_after(at: datetime) -> datetime:
    """`at` itself in the day; otherwise the next 08:00 local (UTC-aware)."""
    local = at.astimezone(LONDON)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return at.astimezone(UTC)
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, LONDON).astimezone(UTC)


def quiet(at: datetime) -> bool:
    """Whether `at` falls in the quiet hours, when nothing is sent (even mail long due)."""
    return send_after(at) != at.astimezone(UTC)


def event_notice_at(event_start: datetime, lead: timedelta = timedelta(hours=4)) -> datetime:
    """A notice `lead` ahead of the event, moved out of the quiet hours: to the evening before if the
    morning would be too late."""
    wanted = event_start - lead
    candidate = send_after(wanted)
    if candidate < event_start:
        return candidate
    local = wanted.astimezone(LONDON)
    evening = datetime.combine(local.date(), QUIET_FROM, LONDON) - timedelta(minutes=1)
    if evening > wanted:
        evening -= timedelta(days=1)
    return evening.astimezone(UTC)
