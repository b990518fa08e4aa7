"""OpenADR 3.1 from an attacker's side, over real HTTP: the client provisioned as `ven-hh1` tries to act
for household hh2. It may create, read and change only its own VEN (hh1), its resources and the events
that target it; the real hh2 registers and is served as if nothing had happened."""

from __future__ import annotations

import pytest

from homeflex.storage.records import Oadr3Client, Oadr3Object
from homeflex.vtn.oadr3 import provision_client
from homeflex.vtn.oadr3.auth import hash_secret
from homeflex.vtn.openadr import household_of
from tests.vtn.oadr3.conftest import NOW, Vtn, register_ven
from tests.vtn.oadr3.test_oadr3_api import event_request

ATTACKER = "ven-hh1"


async def test_a_ven_client_cannot_claim_another_households_ven(vtn: Vtn) -> None:
    _, event = await vtn.call("POST", "/events", "bl", event_request(targets=["hh2"]))
    claim = {"objectType": "VEN_VEN_REQUEST", "venName": "hh2"}
    status, body = await vtn.call("POST", "/vens", ATTACKER, claim)
    assert status == 403 and "only for VEN 'hh1'" in body["detail"], body
    assert await vtn.storage.get_oadr3_object("VEN", "hh2") is None
    # Nothing of hh2's is readable or writable through the attacker's token.
    assert await vtn.call("GET", "/events", ATTACKER) == (200, [])
    assert (await vtn.call("GET", f"/events/{event['id']}", ATTACKER))[0] == 404
    resource = {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": "ev", "venID": "hh2"}
    assert (await vtn.call("POST", "/resources", ATTACKER, resource))[0] == 400

    # The real hh2 registers and gets its event.
    await register_ven(vtn, "hh2")
    status, events = await vtn.call("GET", "/events", "ven-hh2")
    assert status == 200 and [e["id"] for e in events] == [event["id"]]

    # Once hh2 exists, the attacker (with its own VEN now) still cannot see or change it.
    await register_ven(vtn, "hh1")
    for method, path, doc in (
        ("GET", "/vens/hh2", None),
        ("PUT", "/vens/hh2", {"objectType": "VEN_VEN_REQUEST", "venName": "hh2", "targets": ["hh1"]}),
        ("DELETE", "/vens/hh2", None),
        ("GET", "/notifiers/mqtt/topics/vens/hh2/events", None),
    ):
        assert (await vtn.call(method, path, ATTACKER, doc))[0] == 404, (method, path)
    assert [v["id"] for v in (await vtn.call("GET", "/vens", ATTACKER))[1]] == ["hh1"]
    assert (await vtn.call("POST", "/resources", ATTACKER, resource))[0] == 400
    assert await vtn.call("GET", "/events", ATTACKER) == (200, [])
    ven = await vtn.storage.get_oadr3_object("VEN", "hh2")
    assert ven is not None and ven.client_id == "ven-hh2" and ven.document["targets"] == ["hh2"]


async def test_business_logic_binds_a_ven_only_to_the_client_provisioned_for_it(vtn: Vtn) -> None:
    wrong = {"objectType": "BL_VEN_REQUEST", "venName": "hh3", "clientID": ATTACKER}
    status, body = await vtn.call("POST", "/vens", "bl", wrong)
    assert status == 400 and "not provisioned for VEN 'hh3'" in body["detail"]
    right = {**wrong, "clientID": "ven-hh3"}
    assert (await vtn.call("POST", "/vens", "bl", right))[0] == 201
    assert [v["id"] for v in (await vtn.call("GET", "/vens", "bl"))[1]] == ["hh3"]  # BL sees all


async def test_a_ven_taken_before_the_check_gives_its_taker_nothing(vtn: Vtn) -> None:
    """A database from before: the attacker's client owns VEN hh3. Its token still reaches nothing of hh3."""
    taken = Oadr3Object(
        object_type="VEN",
        id="hh3",
        client_id=ATTACKER,
        document={"venName": "hh3", "targets": ["hh3"]},
        created_at=NOW,
        modified_at=NOW,
    )
    await vtn.storage.put_oadr3_object(taken)
    _, event = await vtn.call("POST", "/events", "bl", event_request(targets=["hh3"]))
    assert await vtn.call("GET", "/vens", ATTACKER) == (200, [])
    assert (await vtn.call("GET", "/vens/hh3", ATTACKER))[0] == 404
    assert await vtn.call("GET", "/events", ATTACKER) == (200, [])
    report = {"eventID": event["id"], "clientName": "hh3", "resources": []}
    status, body = await vtn.call("POST", "/reports", ATTACKER, report)
    assert status == 400 and "does not target this client's VEN" in body["detail"]
    # The operator (BL) removes it; then the real hh3 registers.
    assert (await vtn.call("DELETE", "/vens/hh3", "bl"))[0] == 200
    await register_ven(vtn, "hh3")
    assert [e["id"] for e in (await vtn.call("GET", "/events", "ven-hh3"))[1]] == [event["id"]]


async def test_a_ven_client_is_provisioned_for_one_household(vtn: Vtn) -> None:
    assert household_of("ven-hh1") == "hh1"
    assert household_of("ven-") is None and household_of("hh1") is None
    with pytest.raises(ValueError, match="ven-<household id>"):
        await provision_client(vtn.storage, vtn.clock, "hh1", "ven")
    await provision_client(vtn.storage, vtn.clock, "dso-planning", "bl")  # BL ids are free
    # A VEN client provisioned before the rule, under another id, acts for no VEN.
    legacy = Oadr3Client(client_id="meter-7", secret_sha256=hash_secret("s3cret"), role="ven")
    await vtn.storage.save_oadr3_client(legacy, NOW)
    vtn.secrets["meter-7"] = "s3cret"
    claim = {"objectType": "VEN_VEN_REQUEST", "venName": "hh1"}
    status, body = await vtn.call("POST", "/vens", "meter-7", claim)
    assert status == 403 and "provisioned for no VEN" in body["detail"]
