"""The OpenADR 3.1 API seen by a hostile VEN client over plain HTTP, on both storage backends: text no
database can hold (a NUL character, which PostgreSQL refuses in text; a lone surrogate, which neither
backend can encode) and JSON nested past Python's recursion limit. Each is the client's error, 400 with
a problem document, never a 500 and a traceback; nothing is stored, and the VTN goes on answering."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from homeflex.storage import SQLiteStorage, Storage
from homeflex.vtn.oadr3 import PREFIX
from tests.storage.conftest import new_schema, open_postgres
from tests.vtn.oadr3.conftest import Vtn, register_ven, running_vtn

DEEP = 100_000


@pytest.fixture(params=["sqlite", "postgres"])
async def backend_vtn(
    request: pytest.FixtureRequest, tmp_path: object, mqtt_url: str, uid: str
) -> AsyncIterator[Vtn]:
    storage: Storage
    if request.param == "sqlite":
        storage = await SQLiteStorage.open(":memory:")
    else:
        storage = await open_postgres(new_schema())
    try:
        async with running_vtn(storage, mqtt_url, f"test-{uid}/OpenADR/3.1/") as vtn:  # type: ignore[arg-type]
            yield vtn
    finally:
        await storage.close()


async def raw_post(vtn: Vtn, path: str, client_id: str, text: str) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {await vtn.token(client_id)}", "Content-Type": "application/json"}
    async with vtn.http.post(PREFIX + path, data=text.encode(), headers=headers) as r:
        return r.status, r.content_type, await r.text()


def resource(name: str) -> str:
    # json.dumps writes "\u0000" and "\udc80" as escapes: valid JSON whose strings no database stores
    return json.dumps({"objectType": "VEN_RESOURCE_REQUEST", "resourceName": name, "venID": "hh1"})


@pytest.mark.parametrize(
    "text",
    [
        resource("heat\x00pump"),
        resource("heat\udc80pump"),
        json.dumps(
            {
                "objectType": "VEN_RESOURCE_REQUEST",
                "resourceName": "x",
                "venID": "hh1",
                "attributes": [{"type": "NOTE\x00", "values": ["a"]}],
            }
        ),
        "[" * DEEP + "]" * DEEP,  # refused by the JSON depth guard (homeflex.jsonguard)
        '{"a":' * DEEP + "1" + "}" * DEEP,
    ],
    ids=["nul", "surrogate", "nul-in-attribute", "deep-array", "deep-object"],
)
async def test_unstorable_text_and_deep_json_are_the_clients_error(backend_vtn: Vtn, text: str) -> None:
    vtn = backend_vtn
    await register_ven(vtn, "hh1")
    status, content_type, body = await raw_post(vtn, "/resources", "ven-hh1", text)
    assert status == 400, body
    assert content_type == "application/json" and isinstance(json.loads(body), dict)  # said, as JSON
    assert (await vtn.call("GET", "/resources", "bl"))[1] == []  # nothing stored
    status, created = await vtn.call("POST", "/resources", "ven-hh1", json.loads(resource("heat pump")))
    assert status == 201 and created["resourceName"] == "heat pump"
