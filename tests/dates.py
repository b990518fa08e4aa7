"""Dates for tests that put a real openleadr VEN or VTN in front of an event.

openleadr judges by the real wall clock, whatever clock homeflex injects, whether an event is pending,
active or over (`openleadr.utils.determine_event_status`): its VEN sends no oadrCreatedEvent for an
event that is over by the wall clock. A test that puts a real VEN in front of an event on a fixed date
passes until that date and fails after it. Such tests put their event on a coming working day instead
and start their injected clock shortly before it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from homeflex.core.calendar_uk import is_bank_holiday
from homeflex.core.clock import WallClock
from homeflex.core.timeutil import LONDON


def is_working_day(day: date) -> bool:
    """Monday to Friday and not an England & Wales bank holiday: settlement's weekday day type."""
    return day.weekday() < 5 and not is_bank_holiday(day)


def next_working_day(after: date | None = None) -> date:
    """The first UK working day after `after` (default: today's date in London by the wall clock)."""
    day = (after or WallClock().now().astimezone(LONDON).date()) + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def london(day: date, hour: int, minute: int = 0) -> datetime:
    """`hour:minute` London time on `day` (GMT or BST), as an aware datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)
