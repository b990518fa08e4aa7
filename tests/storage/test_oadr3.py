"""The OpenADR 3.1 part of the storage contract, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from homeflex.storage import Storage
from homeflex.storage.records import Oadr3Client, Oadr3Object, Oadr3Query, ProgrammeRecord

NOW = datetime(2026, 11, 25, 17, 0, 0, 123456, tzinfo=UTC)


def obj(object_type: str, oid: str, client: str = "c1", at: datetime = NOW, **doc: object) -> Oadr3Object:
    return Oadr3Object(
        object_type=object_type, id=oid, client_id=client, document=dict(doc), created_at=at, modified_at=at
    )


async def test_clients_are_provisioned_and_replaced(backend: Storage) -> None:
    assert await backend.get_oadr3_client("ven-a") is None
    await backend.save_oadr3_client(Oadr3Client(client_id="ven-a", secret_sha256="aa", role="ven"), NOW)
    await backend.save_oadr3_client(Oadr3Client(client_id="ven-a", secret_sha256="bb", role="bl"), NOW)
    assert await backend.get_oadr3_client("ven-a") == Oadr3Client(
        client_id="ven-a", secret_sha256="bb", role="bl"
    )
    await backend.save_oadr3_client(Oadr3Client(client_id="bl", secret_sha256="cc", role="bl"), NOW)
    assert [c.client_id for c in await backend.list_oadr3_clients()] == ["bl", "ven-a"]


async def test_objects_round_trip_list_by_owner_and_delete(backend: Storage) -> None:
    later = NOW + timedelta(seconds=1)
    await backend.put_oadr3_object(obj("SUBSCRIPTION", "s2", "c2", later, clientName="b"))
    await backend.put_oadr3_object(obj("SUBSCRIPTION", "s1", "c1", NOW, clientName="a", nested={"x": [1.5]}))
    await backend.put_oadr3_object(obj("REPORT", "s1", "c1", NOW))  # ids are per object type
    assert [o.id for o in await backend.list_oadr3_objects("SUBSCRIPTION")] == ["s1", "s2"]
    assert [o.id for o in await backend.list_oadr3_objects("SUBSCRIPTION", "c2")] == ["s2"]
    got = await backend.get_oadr3_object("SUBSCRIPTION", "s1")
    assert got == obj("SUBSCRIPTION", "s1", "c1", NOW, clientName="a", nested={"x": [1.5]})
    # A replacement keeps created_at and takes the new document and modified_at.
    await backend.put_oadr3_object(
        Oadr3Object(
            object_type="SUBSCRIPTION",
            id="s1",
            client_id="c1",
            document={"clientName": "z"},
            created_at=later,
            modified_at=later,
        )
    )
    replaced = await backend.get_oadr3_object("SUBSCRIPTION", "s1")
    assert replaced is not None
    assert (replaced.created_at, replaced.modified_at, replaced.document) == (NOW, later, {"clientName": "z"})
    assert await backend.delete_oadr3_object("SUBSCRIPTION", "s1") is True
    assert await backend.delete_oadr3_object("SUBSCRIPTION", "s1") is False
    assert await backend.get_oadr3_object("SUBSCRIPTION", "s1") is None
    assert await backend.get_oadr3_object("REPORT", "s1") is not None


async def test_object_pages_filter_and_page_in_sql(backend: Storage) -> None:
    """oadr3_objects_page: equality on document fields, any-of on lists (nested for a subscription's
    object types), the owner and the VENs a client may see, and skip/limit over what passes."""
    for n, (ven, name) in enumerate([("hh2", "pv"), ("hh1", "battery"), ("hh2", "battery"), ("hh1", "pv")]):
        at = NOW + timedelta(seconds=n)
        doc = {"venID": ven, "resourceName": name, "targets": [ven, "north"] if n % 2 else None}
        await backend.put_oadr3_object(obj("RESOURCE", f"r{n}", f"ven-{ven}", at, **doc))
    await backend.put_oadr3_object(obj("VEN", "hh1", "ven-hh1", NOW, venName="hh1", targets=["hh1"]))
    await backend.put_oadr3_object(obj("VEN", "hh2", "ven-hh2", NOW, venName="hh2", targets=["hh2"]))
    ops = [{"objects": [kind], "operations": ["CREATE"]} for kind in ("EVENT", "REPORT")]
    await backend.put_oadr3_object(obj("SUBSCRIPTION", "s1", "bl", NOW, objectOperations=ops))
    await backend.put_oadr3_object(obj("SUBSCRIPTION", "s2", "bl", NOW, objectOperations=ops[:1]))

    async def ids(object_type: str = "RESOURCE", **query: Any) -> list[str]:
        found = await backend.oadr3_objects_page(Oadr3Query(object_type=object_type, **query))
        return [o.id for o in found]

    assert await ids() == ["r0", "r1", "r2", "r3"]
    assert await ids(equal=(("resourceName", "battery"),)) == ["r1", "r2"]
    assert await ids(equal=(("resourceName", "battery"), ("venID", "hh2"))) == ["r2"]
    assert await ids(any_of=(("targets", ("north", "nobody")),)) == ["r1", "r3"]  # null targets: none
    assert await ids(ven_ids=("hh1",)) == ["r1", "r3"]
    assert await ids(ven_ids=("hh1",), limit=1, skip=1) == ["r3"]  # the page counts visible ones only
    assert await ids(ven_ids=()) == []
    assert await ids(skip=1, limit=2) == ["r1", "r2"]
    assert await ids("VEN", ven_ids=("hh2",), client_id="ven-hh2") == ["hh2"]
    assert await ids("VEN", ven_ids=("hh2",), client_id="ven-hh1") == []
    assert await ids("SUBSCRIPTION", any_of=(("objects", ("REPORT",)),)) == ["s1"]
    assert await ids("SUBSCRIPTION", any_of=(("objects", ("EVENT", "X")),)) == ["s1", "s2"]
    with pytest.raises(ValueError, match="field"):
        await ids(equal=(("venID') OR 1=1 --", "x"),))


async def test_list_programmes_in_id_order(backend: Storage) -> None:
    await backend.upsert_programme(ProgrammeRecord(id="a-first", name="A"), NOW)
    ids = [p.id for p in await backend.list_programmes()]
    assert ids == sorted(ids)
    assert {"a-first", "default", "trial"} <= set(ids)
