"""tests/dates.py: the coming working day that tests with a real openleadr VEN put their events on."""

from __future__ import annotations

from datetime import date

import pytest

from homeflex.core.clock import WallClock
from homeflex.core.timeutil import LONDON
from tests.dates import is_working_day, london, next_working_day


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (date(2026, 11, 24), date(2026, 11, 25)),  # Tuesday -> Wednesday
        (date(2026, 11, 27), date(2026, 11, 30)),  # Friday -> Monday
        (date(2026, 12, 24), date(2026, 12, 29)),  # Christmas, Boxing Day, a weekend
        (date(2027, 3, 25), date(2027, 3, 30)),  # Good Friday, a weekend, Easter Monday
    ],
)
def test_next_working_day_skips_weekends_and_bank_holidays(after: date, expected: date) -> None:
    assert next_working_day(after) == expected


def test_next_working_day_is_after_today_by_the_wall_clock() -> None:
    today = WallClock().now().astimezone(LONDON).date()
    day = next_working_day()
    assert day > today and is_working_day(day)
    assert all(not is_working_day(date.fromordinal(d)) for d in range(today.toordinal() + 1, day.toordinal()))


def test_london_time_follows_the_clock_change() -> None:
    assert london(date(2027, 1, 6), 17, 30).isoformat() == "2027-01-06T17:30:00+00:00"
    assert london(date(2027, 7, 6), 17, 30).isoformat() == "2027-07-06T17:30:00+01:00"
