"""OpenADR 2.0b identity, from an attacker's side: a real openleadr VEN naming a household that is not
enrolled gets an OpenADR error code (452, invalid ID) in the oadrCreatedPartyRegistration, not 200 OK
with empty ids, and gives up at once; an enrolled household still registers. Over TLS, a certificate
not provisioned for the household gets 463."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openleadr import OpenADRClient
from openleadr.messaging import parse_message

from homeflex.core.clock import WallClock
from homeflex.core.domain import Category
from homeflex.mqtt.broker import free_port
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import HouseholdRecord
from homeflex.vtn.identity import provision_ven
from homeflex.vtn.openadr import ven_id_for
from homeflex.vtn.service import VtnService
from tests.pki import Pki, TlsVen
from tests.reliability.helpers import enrol


async def no_settle(event_id: str) -> list[Any]:
    return []


def recording_client(name: str, url: str) -> tuple[OpenADRClient, list[tuple[str, dict[str, Any]]]]:
    """An openleadr VEN and the messages it receives, parsed as openleadr parses them."""
    client = OpenADRClient(ven_name=name, vtn_url=url, show_fingerprint=False)
    received: list[tuple[str, dict[str, Any]]] = []
    client.add_hook("after_receive_xml", lambda xml: received.append(parse_message(xml.encode())))
    return client, received


async def test_an_unenrolled_ven_name_gets_452_and_the_ven_stops(storage: SQLiteStorage) -> None:
    household = HouseholdRecord(id="hh1", group="g", category=Category.B)
    await storage.upsert_household(household, WallClock().now())
    async with VtnService(storage, WallClock(), no_settle, port=0) as vtn:
        stranger, received = recording_client("hh999", vtn.openadr_url)
        try:
            await stranger.run()  # openleadr's full start-up: it must end, not poll on
            assert stranger.registration_id is None
        finally:
            await stranger.stop()
        message_type, payload = received[-1]
        assert message_type == "oadrCreatedPartyRegistration"
        assert payload["response"]["response_code"] == 452
        assert "hh999" in payload["response"]["response_description"]
        assert payload["vtn_id"] == "HOMEFLEX-VTN"
        assert await storage.count_vens() == 0

        member, received = recording_client("hh1", vtn.openadr_url)
        try:
            await member.create_party_registration(ven_id=member.ven_id)
        finally:
            await member.client_session.close()
        assert member.registration_id and received[-1][1]["response"]["response_code"] == 200


async def test_a_registration_with_a_certificate_not_provisioned_for_it_gets_463(
    storage: SQLiteStorage, tmp_path: Path
) -> None:
    """Over mutual TLS: household `bare` has no certificate of its own; a VEN registering as it with
    another household's certificate (and no venID yet, so openleadr's own lookup does not answer first)."""
    pki, clock = Pki(tmp_path / "pki"), WallClock()
    await enrol(storage, "bare", "other", at=clock.now())
    other = await provision_ven(storage, pki.ca, "other", clock.now())
    async with VtnService(storage, clock, no_settle, port=free_port(), tls=pki.vtn_tls) as vtn:
        thief = TlsVen("bare", vtn.openadr_url, pki.ven_tls(other, "thief", None))
        received: list[tuple[str, dict[str, Any]]] = []
        thief.client.add_hook("after_receive_xml", lambda xml: received.append(parse_message(xml.encode())))
        try:
            assert not await thief.register()
        finally:
            await thief.client.client_session.close()
    message_type, payload = received[-1]
    assert message_type == "oadrCreatedPartyRegistration"
    assert payload["response"]["response_code"] == 463
    assert "no VEN certificate was provisioned" in payload["response"]["response_description"]
    registered = await storage.get_ven(ven_id_for("bare"))
    assert registered is None
