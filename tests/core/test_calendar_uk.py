"""England & Wales bank holidays: the published lists 2020-2027, Easter, substitutes and one-offs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from homeflex.core.calendar_uk import (
    bank_holiday_names,
    bank_holidays,
    bank_holidays_between,
    easter_sunday,
    is_bank_holiday,
)


def d(text: str) -> date:
    return date.fromisoformat(text)


# gov.uk/bank-holidays, England and Wales
PUBLISHED = {
    2020: "01-01 04-10 04-13 05-08 05-25 08-31 12-25 12-28",
    2021: "01-01 04-02 04-05 05-03 05-31 08-30 12-27 12-28",
    2022: "01-03 04-15 04-18 05-02 06-02 06-03 08-29 09-19 12-26 12-27",
    2023: "01-02 04-07 04-10 05-01 05-08 05-29 08-28 12-25 12-26",
    2024: "01-01 03-29 04-01 05-06 05-27 08-26 12-25 12-26",
    2025: "01-01 04-18 04-21 05-05 05-26 08-25 12-25 12-26",
    2026: "01-01 04-03 04-06 05-04 05-25 08-31 12-25 12-28",
    2027: "01-01 03-26 03-29 05-03 05-31 08-30 12-27 12-28",
}


@pytest.mark.parametrize(("year", "days"), PUBLISHED.items())
def test_published_lists(year: int, days: str) -> None:
    assert bank_holidays(year) == frozenset(d(f"{year}-{md}") for md in days.split())


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2020-05-08", "Early May bank holiday"),  # moved to Friday for VE Day 75
        ("2020-12-28", "Boxing Day (substitute day)"),
        ("2021-12-27", "Christmas Day (substitute day)"),
        ("2021-12-28", "Boxing Day (substitute day)"),
        ("2022-01-03", "New Year's Day (substitute day)"),
        ("2022-06-02", "Spring bank holiday"),  # moved to Thursday for the Platinum Jubilee
        ("2022-06-03", "Platinum Jubilee"),
        ("2022-09-19", "State funeral of Queen Elizabeth II"),
        ("2022-12-26", "Boxing Day"),  # a weekday keeps its own holiday ...
        ("2022-12-27", "Christmas Day (substitute day)"),  # ... and Christmas (a Sunday) moves past it
        ("2023-05-08", "Coronation of King Charles III"),
    ],
)
def test_names_of_moved_substitute_and_one_off_days(day: str, name: str) -> None:
    assert bank_holiday_names(d(day).year)[d(day)] == name


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (1981, "1981-04-19"),
        (2000, "2000-04-23"),
        (2008, "2008-03-23"),
        (2011, "2011-04-24"),  # latest-but-one possible
        (2019, "2019-04-21"),
        (2038, "2038-04-25"),  # latest possible
        (2285, "2285-03-22"),  # earliest possible
        (2026, "2026-04-05"),
    ],
)
def test_easter_sunday(year: int, easter: str) -> None:
    assert easter_sunday(year) == d(easter)


def test_is_bank_holiday() -> None:
    assert is_bank_holiday(date(2026, 8, 31))
    assert not is_bank_holiday(date(2026, 8, 24))
    assert not is_bank_holiday(date(2026, 12, 26))  # a Saturday; the holiday is Monday 28th


def test_between_spans_years_and_is_inclusive() -> None:
    got = bank_holidays_between(date(2026, 12, 25), date(2027, 1, 1))
    assert got == {date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)}
    assert bank_holidays_between(date(2026, 1, 2), date(2026, 1, 1)) == frozenset()


@pytest.mark.parametrize("year", [1977, 0, 10000])
def test_years_outside_the_rules_are_rejected(year: int) -> None:
    with pytest.raises(ValueError, match=r"1978\.\.9999"):
        bank_holidays(year)


def test_rules_hold_every_year() -> None:
    for year in range(1978, 2201):
        check_rules(year)


def check_rules(year: int) -> None:
    names = bank_holiday_names(year)
    assert all(day.year == year and day.weekday() < 5 for day in names)  # substitutes leave no weekend
    assert len(names) >= 8
    by_name = {name.removesuffix(" (substitute day)"): day for day, name in names.items()}
    easter = easter_sunday(year)
    assert by_name["Good Friday"] == easter - timedelta(days=2)
    assert by_name["Easter Monday"] == easter + timedelta(days=1)
    assert by_name["Summer bank holiday"].month == 8
    assert (by_name["Summer bank holiday"] + timedelta(days=7)).month == 9  # the last Monday
    assert by_name["New Year's Day"] - date(year, 1, 1) <= timedelta(days=2)
    assert by_name["Christmas Day"] - date(year, 12, 25) <= timedelta(days=2)
    assert by_name["Boxing Day"] - date(year, 12, 26) <= timedelta(days=2)
    if year not in (1995, 2020):
        assert by_name["Early May bank holiday"].day <= 7
        assert by_name["Early May bank holiday"].weekday() == 0


def test_one_day_type_rule_for_profile_forecast_and_settlement() -> None:
    from homeflex.core.calendar_uk import DayType, day_type, is_non_working

    assert day_type(date(2026, 5, 25)) is DayType.BANK_HOLIDAY  # Spring bank holiday, a Monday
    assert day_type(date(2026, 5, 26)) is DayType.WORKING
    assert day_type(date(2026, 5, 23)) is DayType.WEEKEND
    assert day_type(date(1970, 12, 25)) is DayType.WORKING  # no calendar before 1978: not a holiday
    assert day_type(date(2026, 5, 26), frozenset({date(2026, 5, 26)})) is DayType.BANK_HOLIDAY
    assert [is_non_working(date(2026, 5, d)) for d in (23, 25, 26)] == [True, True, False]
