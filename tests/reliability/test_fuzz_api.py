"""Bad input at the operator REST API: schemathesis over its OpenAPI document (/api/openapi.json), with
the operator's bearer token and without it. No 500, every answer in time, and the API keeps serving."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings

import tests.hostile  # noqa: F401  (extreme dates and durations for schemathesis)
from homeflex.vtn.openapi import OPENAPI
from tests.reliability.live import TOKEN, LiveVtn

EXAMPLES = int(os.environ.get("HOMEFLEX_FUZZ_EXAMPLES", "60"))


@pytest.fixture(scope="module")
def vtn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveVtn]:
    with LiveVtn(tmp_path_factory.mktemp("fuzz-api"), households=("hh1",)) as live:
        yield live


def test_served_document_is_the_one_fuzzed(vtn: LiveVtn) -> None:
    served = requests.get(f"{vtn.url}/api/openapi.json", headers=_auth(), timeout=10)
    assert served.status_code == 200 and served.json() == OPENAPI
    assert requests.get(f"{vtn.url}/api/openapi.json", timeout=10).status_code == 401


def test_schemathesis_finds_no_server_errors(vtn: LiveVtn) -> None:
    import schemathesis
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_dict(OPENAPI)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    statuses: Counter[str] = Counter()

    def fuzz(operation: Any, headers: dict[str, str], examples: int) -> None:
        @settings(
            max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(base_url=vtn.url, headers=headers, timeout=10)
            statuses[str(response.status_code)] += 1
            case.validate_response(response, checks=[not_a_server_error])

        run()

    for operation in operations:
        for headers, examples in ((_auth(), EXAMPLES // 3), ({}, 3)):
            try:
                fuzz(operation, headers, examples)
            except Exception as err:
                raise AssertionError(f"{operation.method.upper()} {operation.path}: {err}") from err
    print(f"api fuzz: {sum(statuses.values())} requests over {len(operations)} operations: {dict(statuses)}")
    assert sum(statuses.values()) >= len(operations) * 4
    assert requests.get(f"{vtn.url}/api/households", headers=_auth(), timeout=10).status_code == 200


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
