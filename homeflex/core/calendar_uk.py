"""UK (England & Wales) bank holidays, computed for any year from 1978.

The regular holidays follow fixed rules (Banking and Financial Dealings Act 1971 and the 1978 addition of
Early May); anything else is a one-off by royal proclamation and lives in the tables below. A future
one-off is unknown until proclaimed: add it here, and re-settle anything already settled over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

FIRST_YEAR = 1978  # Early May Bank Holiday begins; earlier years follow other rules

# Regular holidays moved to another day: (year, name) -> date.
_MOVED: Mapping[tuple[int, str], date] = MappingProxyType(
    {
        (1995, "Early May bank holiday"): date(1995, 5, 8),  # VE Day 50th anniversary
        (2002, "Spring bank holiday"): date(2002, 6, 4),  # Golden Jubilee
        (2012, "Spring bank holiday"): date(2012, 6, 4),  # Diamond Jubilee
        (2020, "Early May bank holiday"): date(2020, 5, 8),  # VE Day 75th anniversary
        (2022, "Spring bank holiday"): date(2022, 6, 2),  # Platinum Jubilee
    }
)

# Extra one-off holidays.
_EXTRA: Mapping[date, str] = MappingProxyType(
    {
        date(1981, 7, 29): "Royal wedding",
        date(1999, 12, 31): "Millennium celebrations",
        date(2002, 6, 3): "Golden Jubilee",
        date(2011, 4, 29): "Royal wedding",
        date(2012, 6, 5): "Diamond Jubilee",
        date(2022, 6, 3): "Platinum Jubilee",
        date(2022, 9, 19): "State funeral of Queen Elizabeth II",
        date(2023, 5, 8): "Coronation of King Charles III",
    }
)

MONDAY, SATURDAY = 0, 5


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian computus, a.k.a. Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def bank_holiday_names(year: int) -> Mapping[date, str]:
    """Date -> name of every England & Wales bank holiday in `year` (substitute days included)."""
    if not FIRST_YEAR <= year <= 9999:
        raise ValueError(f"bank holidays are computed for {FIRST_YEAR}..9999, not {year}")
    easter = easter_sunday(year)
    regular = {
        "Good Friday": easter - timedelta(days=2),
        "Easter Monday": easter + timedelta(days=1),
        "Early May bank holiday": _nth_monday(year, 5, 1),
        "Spring bank holiday": _last_monday(year, 5),
        "Summer bank holiday": _last_monday(year, 8),
    }
    named = {_MOVED.get((year, name), day): name for name, day in regular.items()}
    named.update(_substituted(((date(year, 1, 1), "New Year's Day"),)))
    named.update(_substituted(((date(year, 12, 25), "Christmas Day"), (date(year, 12, 26), "Boxing Day"))))
    named.update({day: name for day, name in _EXTRA.items() if day.year == year})
    return MappingProxyType(dict(sorted(named.items())))


def bank_holidays(year: int) -> frozenset[date]:
    return frozenset(bank_holiday_names(year))


def bank_holidays_between(first: date, last: date) -> frozenset[date]:
    """Bank holidays in [first, last]; the calendar a baseline over that lookback needs."""
    if last < first:
        return frozenset()
    days = (d for year in range(first.year, last.year + 1) for d in bank_holidays(year))
    return frozenset(d for d in days if first <= d <= last)


def is_bank_holiday(day: date) -> bool:
    return day in bank_holiday_names(day.year)


class DayType(StrEnum):
    WORKING = "working"  # Monday to Friday, not a bank holiday
    WEEKEND = "weekend"  # Saturday or Sunday (a holiday on one is still a weekend day)
    BANK_HOLIDAY = "bank_holiday"  # a bank holiday on a weekday


def day_type(day: date, holidays: frozenset[date] | None = None) -> DayType:
    """The one day-type rule of a UK local date, for the profile, the forecast and settlement alike.

    `holidays` None means the England & Wales bank holidays (none are known before FIRST_YEAR). What a
    bank holiday counts as is each user's choice: the household's profile and forecast take it as a
    non-working day (`is_non_working`); a programme's baseline decides by its own setting.
    """
    if day.weekday() >= SATURDAY:
        return DayType.WEEKEND
    holiday = day in holidays if holidays is not None else day.year >= FIRST_YEAR and is_bank_holiday(day)
    return DayType.BANK_HOLIDAY if holiday else DayType.WORKING


def is_non_working(day: date) -> bool:
    """A weekend day or a bank holiday: the household's weekend load shape (profile and forecast)."""
    return day_type(day) is not DayType.WORKING


def _nth_monday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(MONDAY - first.weekday()) % 7 + 7 * (n - 1))


def _last_monday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - MONDAY) % 7)


def _substituted(days: tuple[tuple[date, str], ...]) -> dict[date, str]:
    # A holiday on a weekday keeps its day; one on a weekend moves to the next weekday not already a
    # holiday. So 25 Dec on a Sunday gives Boxing Day on Monday 26 and Christmas on Tuesday 27.
    out = {day: name for day, name in days if day.weekday() < SATURDAY}
    for day, name in days:
        if day.weekday() >= SATURDAY:
            observed = day
            while observed.weekday() >= SATURDAY or observed in out:
                observed += timedelta(days=1)
            out[observed] = f"{name} (substitute day)"
    return out
