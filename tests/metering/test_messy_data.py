"""Real meter data is messy: each case has a defined outcome, checked on the real UK samples."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.timeutil import periods
from homeflex.metering.energy import period_energy_kwh
from homeflex.metering.importer import import_intervals, rejected_rows
from tests.metering.uk_samples import rows, uk_sample

RECEIVED = datetime(2026, 11, 24, tzinfo=UTC)


def as_csv(items: list[tuple[str, str]]) -> str:
    return "start,value\n" + "".join(f"{s},{v}\n" for s, v in items)


def day_energy(readings: list, day: datetime) -> dict[datetime, float]:  # type: ignore[type-arg]
    window = [r for r in readings if day - timedelta(hours=1) <= r.ts <= day + timedelta(hours=25)]
    return period_energy_kwh(window, periods(day, day + timedelta(days=1)))


def test_sample_2_naive_stamps_are_utc_periods_and_the_clock_change_days_have_48() -> None:
    text = uk_sample(2)
    result = import_intervals("hh-s2", text, received_at=RECEIVED)
    raw = rows(text)
    assert result.rejected == []
    assert result.duplicates == 24  # the export repeats a row at each monthly chunk boundary
    assert result.intervals == len(raw) - 24
    expected: dict[str, float] = defaultdict(float)
    for start, value in dict(raw).items():  # the test's own sum per UTC day, duplicates once
        expected[start[:10]] += float(value)
    for day in ("2012-03-25", "2012-10-28"):  # spring forward, fall back: still 48 half-hours
        energy = day_energy(result.readings, datetime.fromisoformat(day).replace(tzinfo=UTC))
        assert len(energy) == 48
        assert all(math.isfinite(v) for v in energy.values())
        assert sum(energy.values()) == pytest.approx(expected[day], abs=1e-9)


def test_reading_the_sample_as_local_time_rejects_the_skipped_and_the_unresolved_repeated_hour() -> None:
    result = import_intervals("hh-s2", uk_sample(2), received_at=RECEIVED, timezone="Europe/London")
    skipped = [(line, err.reason) for line, err in result.rejected]
    # 01:00 and 01:30 skipped each spring (2012, 2013); and each autumn the file (on UTC periods) gives
    # the repeated 01:00 and 01:30 once, so which hour they were is unknown: before, they were silently
    # taken as BST and the GMT hour silently vanished.
    assert [reason for _, reason in skipped] == (
        ["nonexistent_local_time"] * 2 + ["ambiguous_local_time"] * 2
    ) * 2
    assert [line for line, _ in skipped] == [2475, 2476, 12225, 12226, 19429, 19430, 29515, 29516]
    assert all("clocks went" in str(err) for _, err in result.rejected)


def test_gaps_stay_gaps_and_total_energy_is_kept() -> None:
    text = uk_sample(2)
    result = import_intervals("hh-s2", text, received_at=RECEIVED)
    first, last = result.readings[0].ts, result.readings[-1].ts
    energy = period_energy_kwh(result.readings, periods(first, last))
    csv_kwh = {datetime.fromisoformat(s).replace(tzinfo=UTC): float(v) for s, v in rows(text)}
    measured = {p: v for p, v in energy.items() if math.isfinite(v)}
    # No energy is invented: every measurable period is exactly an imported interval's value...
    assert all(p in csv_kwh and v == pytest.approx(csv_kwh[p], abs=1e-9) for p, v in measured.items())
    # ...and every imported interval is measurable, the one after a one-interval gap too (before, the
    # three after this sample's one-interval gaps were lost), while the gap itself stays not measurable.
    single_gaps = [
        p - timedelta(minutes=30)
        for p in csv_kwh
        if p - timedelta(minutes=30) not in csv_kwh and p - timedelta(hours=1) in csv_kwh
    ]
    assert len(single_gaps) == 3
    assert len(measured) == result.intervals
    assert all(math.isnan(energy[g]) for g in single_gaps)
    assert sum(1 for v in energy.values() if not math.isfinite(v)) > 29 * 48  # the largest gap: 29 days


def test_rows_out_of_order_give_the_same_readings() -> None:
    raw = rows(uk_sample(1))
    shuffled = raw[:]
    random.Random(4).shuffle(shuffled)
    ordered = import_intervals("hh-s1", as_csv(raw), received_at=RECEIVED)
    mixed = import_intervals("hh-s1", as_csv(shuffled), received_at=RECEIVED)
    assert mixed.readings == ordered.readings
    assert mixed.duplicates == ordered.duplicates == 15


def test_conflicting_duplicate_is_rejected_and_the_first_value_stands() -> None:
    raw = rows(uk_sample(1))[:100]
    altered = [*raw, (raw[10][0], "9.999")]
    result = import_intervals("hh-s1", as_csv(altered), received_at=RECEIVED)
    assert [(line, err.reason) for line, err in result.rejected] == [
        (len(altered) + 1, "conflicting_duplicate")
    ]
    clean = import_intervals("hh-s1", as_csv(raw), received_at=RECEIVED)
    assert result.readings == clean.readings


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-0.2", "impossible_value"),
        ("lots", "wrong_type"),
        ("900", "impossible_value"),
        ("nan", "impossible_value"),
    ],
)
def test_bad_values_are_rejected_with_their_line(value: str, reason: str) -> None:
    text = as_csv(
        [("2026-01-05 00:00:00", "0.1"), ("2026-01-05 00:30:00", value), ("2026-01-05 01:00:00", "0.2")]
    )
    result = import_intervals("hh", text, received_at=RECEIVED)
    assert [(line, err.reason) for line, err in result.rejected] == [(3, reason)]
    assert result.intervals == 2
    [row] = rejected_rows(result, "hh", "export.csv", RECEIVED)  # stored so each refusal traces to its row
    assert (row.household_id, row.topic, row.reason) == ("hh", "export.csv:3", reason)
    assert row.received_at == RECEIVED
    assert row.message == result.rejected[0][1].message


def test_autumn_repeated_hour_in_local_time_is_bst_then_gmt() -> None:
    stamps = [
        "2026-10-25 00:30:00",
        "2026-10-25 01:00:00",
        "2026-10-25 01:30:00",
        "2026-10-25 01:00:00",
        "2026-10-25 01:30:00",
        "2026-10-25 02:00:00",
    ]
    result = import_intervals(
        "hh", as_csv([(s, "0.1") for s in stamps]), received_at=RECEIVED, timezone="Europe/London"
    )
    assert result.rejected == [] and result.duplicates == 0
    starts = sorted({r.ts for r in result.readings})
    assert starts[0] == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert starts[-1] == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)  # 6 half-hours, no gap, no overlap
    assert len(starts) == 7


def test_file_without_the_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="'start' and 'value'"):
        import_intervals("hh", "time,kwh\n2026-01-01,1\n", received_at=RECEIVED)


def test_the_repeated_hour_given_three_times_is_rejected_with_its_row() -> None:
    stamps = ["2026-10-25 01:00:00", "2026-10-25 01:00:00", "2026-10-25 01:00:00", "2026-10-25 02:00:00"]
    result = import_intervals(
        "hh", as_csv([(s, "0.1") for s in stamps]), received_at=RECEIVED, timezone="Europe/London"
    )
    assert [(line, err.reason) for line, err in result.rejected] == [
        (2, "ambiguous_local_time"),
        (3, "ambiguous_local_time"),
        (4, "ambiguous_local_time"),
    ]
    assert result.intervals == 1  # 02:00 GMT
    offsets = as_csv([("2026-10-25T01:00:00+01:00", "0.1"), ("2026-10-25T01:00:00+00:00", "0.2")])
    assert import_intervals("hh", offsets, received_at=RECEIVED, timezone="Europe/London").intervals == 2


def test_one_interval_gap_keeps_the_reading_after_it_and_the_gap_stays_unmeasurable() -> None:
    text = as_csv(
        [("2026-01-05 00:00:00", "0.1"), ("2026-01-05 01:00:00", "0.3"), ("2026-01-05 01:30:00", "0.2")]
    )
    result = import_intervals("hh", text, received_at=RECEIVED)
    day = datetime(2026, 1, 5, tzinfo=UTC)
    energy = period_energy_kwh(result.readings, periods(day, day + timedelta(hours=2)))
    first, gap, *after = energy.values()
    assert first == pytest.approx(0.1)
    assert math.isnan(gap)  # the gap: not a zero
    assert after == [pytest.approx(0.3), pytest.approx(0.2)]  # before: 0.3 was lost


def test_rows_for_the_future_or_absurd_years_are_rejected_with_their_row() -> None:
    text = as_csv(
        [("2026-11-23 23:00:00", "0.1"), ("2026-11-24 00:00:00", "0.2"), ("1900-01-01 00:00:00", "0.1")]
    )
    result = import_intervals("hh", text, received_at=RECEIVED)
    assert [(line, err.reason) for line, err in result.rejected] == [
        (3, "future_timestamp"),
        (4, "bad_timestamp"),
    ]
    assert result.intervals == 1 and {r.source for r in result.readings} == {"upload"}
