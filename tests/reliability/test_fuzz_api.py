"""Bad input at the operator REST API: schemathesis over its OpenAPI document (/api/openapi.json), with
the operator's bearer token and without it. No 500, every answer in time, and the API keeps serving."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from homeflex.vtn.openapi import OPENAPI
from tests.hostile import fuzz
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

    schema = schemathesis.openapi.from_dict(OPENAPI)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    statuses: Counter[str] = Counter()

    for operation in operations:
        for headers, examples in ((_auth(), EXAMPLES // 3), ({}, 3)):
            try:
                fuzz(operation, vtn.url, headers, examples, statuses)
            except Exception as err:
                raise AssertionError(f"{operation.method.upper()} {operation.path}: {err}") from err
    print(f"api fuzz: {sum(statuses.values())} requests over {len(operations)} operations: {dict(statuses)}")
    assert sum(statuses.values()) >= len(operations) * 4
    assert requests.get(f"{vtn.url}/api/households", headers=_auth(), timeout=10).status_code == 200


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
