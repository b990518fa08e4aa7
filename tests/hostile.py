"""Odd but valid values for the schemathesis runs: a `date-time` may be in year 0001 or 9999 and a
`duration` a millisecond or a million hours, as well as the ordinary values schemathesis draws itself.
Imported by the fuzz tests (tests/reliability/test_fuzz_api.py, tests/portal/test_api.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import schemathesis
from hypothesis import strategies as st

EDGE_TIMES = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2026-11-25T17:00:00.001+14:00",
]
EDGE_DURATIONS = ["PT0.001S", "PT0S", "P0D", "-PT1H", "PT1000000H", "P9999Y", "PT1M"]

DATE_TIMES = st.sampled_from(EDGE_TIMES) | st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.isoformat().replace("+00:00", "Z"))
DURATIONS = st.sampled_from(EDGE_DURATIONS)

schemathesis.openapi.format("date-time", DATE_TIMES)
schemathesis.openapi.format("duration", DURATIONS)
