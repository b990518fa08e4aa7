"""Odd but valid values for the schemathesis runs: a `date-time` may be in year 0001 or 9999 and a
`duration` a millisecond or a million hours, as well as the ordinary values schemathesis draws itself.
Imported by the fuzz tests (tests/reliability/test_fuzz_api.py, test_fuzz_oadr3.py and
tests/portal/test_api.py), with one way to fuzz an operation."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
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


def fuzz(
    operation: Any, base_url: str, headers: dict[str, str], examples: int, statuses: Counter[str]
) -> None:
    """`examples` generated requests to one schemathesis operation; fails on a 5xx answer."""
    from schemathesis.checks import not_a_server_error

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        statuses[str(response.status_code)] += 1
        case.validate_response(response, checks=[not_a_server_error])

    run()
