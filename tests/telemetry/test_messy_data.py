"""Real meter data is messy: each case has a defined outcome, checked on the real UK samples."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.timeutil import periods
from homeflex.telemetry.energy import period_energy_kwh
from homeflex.telemetry.importer import import_intervals, rejected_rows
from tests.telemetry.uk_samples import rows, uk_sample

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


def test_reading_the_sample_as_local_time_rejects_the_hour_skipped_in_spring() -> None:
    result = import_intervals("hh-s2", uk_sample(2), received_at=RECEIVED, timezone="Europe/London")
    skipped = [(line, err.reason) for line, err in result.rejected]
    assert [reason for _, reason in skipped] == ["nonexistent_local_time"] * 4  # 01:00, 01:30 in 2012, 2013
    assert all("clocks went forward" in str(err) for _, err in result.rejected)


def test_gaps_stay_gaps_and_total_energy_is_kept() -> None:
    text = uk_sample(2)
    result = import_intervals("hh-s2", text, received_at=RECEIVED)
    first, last = result.readings[0].ts, result.readings[-1].ts
    energy = period_energy_kwh(result.readings, periods(first, last))
    csv_kwh = {datetime.fromisoformat(s).replace(tzinfo=UTC): float(v) for s, v in rows(text)}
    measured = {p: v for p, v in energy.items() if math.isfinite(v)}
    # No energy is invented: every measurable period is exactly an imported interval's value...
    assert all(p in csv_kwh and v == pytest.approx(csv_kwh[p], abs=1e-9) for p, v in measured.items())
    # ...and only the interval after a one-interval gap is lost (it has no trustworthy start).
    single_gaps = sum(
        1 for p in csv_kwh if p - timedelta(minutes=30) not in csv_kwh and p - timedelta(hours=1) in csv_kwh
    )
    assert len(measured) == result.intervals - single_gaps
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
