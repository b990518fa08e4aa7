"""Bad input at the OpenADR 3.1 API: schemathesis over its OpenAPI document (homeflex/vtn/oadr3/openadr3.yaml)
as the DSO's business logic, a VEN and nobody, with extreme dates and durations among the values
(tests/hostile.py). No 500, and the API keeps serving."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

import homeflex
from homeflex.vtn.oadr3 import PREFIX
from tests.hostile import fuzz
from tests.reliability.live import LiveVtn

EXAMPLES = int(os.environ.get("HOMEFLEX_FUZZ_EXAMPLES", "60")) // 6
# YAML reads the document's example timestamps as datetimes; schemathesis wants JSON types.
DOCUMENT = json.loads(
    json.dumps(
        yaml.safe_load((Path(homeflex.__file__).parent / "vtn" / "oadr3" / "openadr3.yaml").read_text()),
        default=lambda value: value.isoformat(),
    )
)


@pytest.fixture(scope="module")
def vtn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveVtn]:
    clients = (("bl", "bl"), ("ven-hh1", "ven"))
    with LiveVtn(tmp_path_factory.mktemp("fuzz-oadr3"), oadr3_clients=clients) as live:
        yield live


def token(vtn: LiveVtn, client_id: str) -> dict[str, str]:
    secret = vtn.secrets[client_id]
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    answer = requests.post(f"{vtn.url}{PREFIX}/auth/token", data=form, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_schemathesis_finds_no_server_errors_in_the_31_api(vtn: LiveVtn) -> None:
    import schemathesis

    schema = schemathesis.openapi.from_dict(DOCUMENT)
    operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    callers = ((token(vtn, "bl"), EXAMPLES), (token(vtn, "ven-hh1"), EXAMPLES // 2), ({}, 2))
    statuses: Counter[str] = Counter()
    for operation in operations:
        for headers, examples in callers:
            try:
                fuzz(operation, vtn.url + PREFIX, headers, max(examples, 1), statuses)
            except Exception as err:
                raise AssertionError(f"{operation.method.upper()} {operation.path}: {err}") from err
    print(f"3.1 fuzz: {sum(statuses.values())} requests over {len(operations)} operations: {dict(statuses)}")
    assert sum(statuses.values()) >= len(operations) * 3
    still = requests.get(f"{vtn.url}{PREFIX}/programs", headers=token(vtn, "bl"), timeout=10)
    assert still.status_code == 200
