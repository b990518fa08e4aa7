"""OpenADR 2.0b push with the same mutual TLS and signatures as pull: a TLS VTN pushes a signed event to a
real openleadr VEN's https PushEndpoint; an endpoint with another CA's certificate, with another VEN's
certificate, or on plain http is not pushed to and its VEN gets the event by polling; the VEN's endpoint
turns away a client without a community certificate, another VEN's certificate, and a message whose
signature is not the VTN's; the household VEN (`homeflex ven --pki DIR --push HOST:PORT`) serves https.

The VTN polls are set to a minute, so only a push can bring the event to the first VEN in time."""

from __future__ import annotations

import logging
import ssl
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from lxml import etree
from openleadr.messaging import create_message, parse_message

from homeflex.control.loop import ControlSettings, HouseholdController
from homeflex.core.clock import WallClock
from homeflex.core.domain import Category, HouseholdSpec, Stage
from homeflex.mqtt.broker import free_port
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import EventRecord
from homeflex.ven.agent import VenAgent
from homeflex.ven.push import PushEndpoint
from homeflex.ven.tls import VenTls
from homeflex.vtn.events import openadr_event
from homeflex.vtn.identity import issue, new_ca, provision_ven
from homeflex.vtn.openadr import VTN_ID, ven_id_for
from homeflex.vtn.push import push_context
from homeflex.vtn.service import VtnService
from homeflex.vtn.tls import VtnTls
from tests.pki import Pki
from tests.pki import TlsVen as Ven
from tests.reliability.helpers import enrol, until


async def no_settle(event_id: str) -> list[Any]:
    return []


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


def an_event(event_id: str) -> EventRecord:
    now = WallClock().now()
    return EventRecord(
        event_id=event_id,
        modification_number=0,
        status="scheduled",
        start=now + timedelta(minutes=10),
        duration=timedelta(minutes=30),
        reduction_kw=1.0,
        price_gbp_per_mwh=1000.0,
        created_at=now,
    )


async def opt(storage: SQLiteStorage, event_id: str, household: str) -> str | None:
    return {t.household_id: t.opt_type for t in await storage.event_targets(event_id)}[household]


async def test_a_tls_vtn_pushes_over_mutual_tls_and_untrusted_or_plain_endpoints_pull(
    pki: Pki, storage: SQLiteStorage, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = WallClock()
    good, stranger, misnamed, plain = f"push{uid}", f"strange{uid}", f"misnamed{uid}", f"plain{uid}"
    households = (good, stranger, misnamed, plain)
    await enrol(storage, *households, at=clock.now())
    creds = {hh: await provision_ven(storage, pki.ca, hh, clock.now()) for hh in households}
    tls = {hh: pki.ven_tls(cred, hh, ven_id_for(hh)) for hh, cred in creds.items()}
    # The stranger pulls with its community certificate but serves push with another CA's.
    other = issue(new_ca(clock.now(), "someone else's CA"), ven_id_for(stranger), clock.now())
    cert, key = other.write(pki.folder, "stranger-push")
    stranger_push = VenTls(
        cert=cert, key=key, ca=pki.ca_file, vtn_fingerprint=pki.vtn.fingerprint, ven_id=ven_id_for(stranger)
    )

    async with VtnService(
        storage, clock, no_settle, port=0, poll_interval=timedelta(minutes=1), tls=pki.vtn_tls
    ) as vtn:
        vens = {hh: Ven(hh, vtn.openadr_url, tls[hh]) for hh in households}
        endpoints = {
            good: PushEndpoint(vens[good].client, tls=tls[good]),
            stranger: PushEndpoint(vens[stranger].client, tls=stranger_push),
            # A community certificate, but another VEN's (its name is checked, not only the CA).
            misnamed: PushEndpoint(
                vens[misnamed].client, tls=replace(tls[misnamed], cert=tls[good].cert, key=tls[good].key)
            ),
            plain: PushEndpoint(vens[plain].client),  # http while the VTN runs TLS
        }
        try:
            for hh, endpoint in endpoints.items():
                await endpoint.__aenter__()
                await vens[hh].client.run()  # registers for push over mutual TLS; polls a minute apart
                assert vens[hh].client.registration_id, hh
            assert endpoints[good].url.startswith("https://") and endpoints[plain].url.startswith("http://")
            assert set(await storage.push_vens()) == set(households)

            event_id = f"tlspush{uid}"
            with caplog.at_level(logging.WARNING, logger="homeflex.vtn.push"):
                await storage.create_event(an_event(event_id), list(households))
                # Pushed, decided and answered (a signed oadrCreatedEvent) well before any poll.
                await until(lambda: opt(storage, event_id, good), 15, "the pushed event's optIn")
                await until(lambda: vtn.pusher.failed >= 2, 15, "the pushes to untrusted endpoints fail")
            assert await opt(storage, event_id, good) == "optIn"
            assert vens[good].events == [event_id]
            assert endpoints[good].received == 1
            assert vtn.pusher.pushed == 1 and vtn.pusher.failed == 2  # the plain endpoint was not tried
            assert [endpoints[hh].received for hh in (stranger, misnamed, plain)] == [0, 0, 0]
            assert any(
                "plain http while the VTN runs TLS" in r.getMessage() and ven_id_for(plain) in r.getMessage()
                for r in caplog.records
            )
            failures = [r.getMessage() for r in caplog.records if "failed, it gets" in r.getMessage()]
            assert any(ven_id_for(stranger) in m and "CERTIFICATE_VERIFY_FAILED" in m for m in failures)
            assert any(ven_id_for(misnamed) in m and "mismatch" in m for m in failures), failures
            # Both get the event by pulling, over TLS.
            for hh in (stranger, misnamed, plain):
                assert vens[hh].events == []
                await vens[hh].client._poll()  # the poll a minute away, now
                assert vens[hh].events == [event_id]
                await until(lambda hh=hh: opt(storage, event_id, hh), 10, f"{hh}'s polled optIn")
        finally:
            for hh, endpoint in endpoints.items():
                await vens[hh].client.stop()
                await endpoint.__aexit__(None, None, None)


async def post(endpoint: PushEndpoint, body: bytes, context: ssl.SSLContext, ven_id: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            endpoint.url,
            data=body,
            headers={"content-type": "application/xml"},
            ssl=context,
            server_hostname=ven_id,
        ) as response,
    ):
        return response.status, await response.text()


async def test_only_the_vtn_can_push_to_a_vens_https_endpoint(
    pki: Pki, storage: SQLiteStorage, uid: str
) -> None:
    clock = WallClock()
    hh, other = f"end{uid}", f"oth{uid}"
    await enrol(storage, hh, other, at=clock.now())
    ven_tls = pki.ven_tls(await provision_ven(storage, pki.ca, hh, clock.now()), hh, ven_id_for(hh))
    other_tls = pki.ven_tls(
        await provision_ven(storage, pki.ca, other, clock.now()), other, ven_id_for(other)
    )
    # Its VTN is not running: this test talks to the endpoint directly.
    ven = Ven(hh, f"https://127.0.0.1:{free_port()}/OpenADR2/Simple/2.0b", ven_tls)

    def signed(cert: Path | None, key: Path | None) -> bytes:
        return str(
            create_message(
                "oadrDistributeEvent",
                cert=cert.read_bytes() if cert else None,
                key=key.read_bytes() if key else None,
                events=[openadr_event(an_event(f"direct{uid}"), ven_id_for(hh), clock.now())],
                vtn_id=VTN_ID,
                response={"response_code": 200, "response_description": "OK", "request_id": None},
                request_id="r1",
            )
        ).encode()

    vtn_body = signed(pki.vtn_tls.cert, pki.vtn_tls.key)
    as_vtn = push_context(pki.vtn_tls)
    # A client that trusts the CA but has no certificate of its own.
    bare = ssl.create_default_context(cafile=str(pki.ca_file))
    bare.hostname_checks_common_name = True
    # A certificate from another CA.
    forged_cred = issue(new_ca(clock.now(), "forger"), "vtn", clock.now(), hosts=["127.0.0.1"])
    fcert, fkey = forged_cred.write(pki.folder, "forged")
    forged = push_context(VtnTls(cert=fcert, key=fkey, ca=pki.ca_file))
    # Another household's community certificate: the TLS handshake passes, the push does not.
    as_other = push_context(VtnTls(cert=other_tls.cert, key=other_tls.key, ca=pki.ca_file))
    # A message signed with another household's key, an unsigned one, and one signed by the VTN then
    # altered.
    wrong_signer = signed(other_tls.cert, other_tls.key)
    unsigned = signed(None, None)
    tree = etree.fromstring(vtn_body)
    ns = {"ei": "http://docs.oasis-open.org/ns/energyinterop/201110"}
    tree.find(".//ei:eventID", ns).text = f"altered{uid}"  # type: ignore[union-attr]
    altered = etree.tostring(tree)

    async with PushEndpoint(ven.client, tls=ven_tls) as endpoint:
        assert endpoint.url.startswith("https://")
        for context in (bare, forged):
            with pytest.raises(aiohttp.ClientError):
                await post(endpoint, vtn_body, context, ven_id_for(hh))
        assert await post(endpoint, vtn_body, as_other, ven_id_for(hh)) == (403, "only the VTN may push")
        for body in (wrong_signer, unsigned, altered):
            status, text = await post(endpoint, body, as_vtn, ven_id_for(hh))
            assert status == 400 and text.startswith("refused"), text
        assert endpoint.received == 0 and ven.events == []
        # The VTN's certificate and signature: accepted, answered, handed to the client's event handling.
        status, text = await post(endpoint, vtn_body, as_vtn, ven_id_for(hh))
        assert status == 200 and parse_message(text)[0] == "oadrResponse"
        await until(lambda: ven.events == [f"direct{uid}"], 10, "the pushed event reaches the handler")
        assert endpoint.received == 1
    await ven.client.stop()


async def test_the_household_ven_with_pki_serves_its_push_endpoint_over_https(
    pki: Pki, storage: SQLiteStorage, uid: str, mqtt_url: str
) -> None:
    clock = WallClock()
    hh = f"agent{uid}"
    await enrol(storage, hh, at=clock.now())
    tls = pki.ven_tls(await provision_ven(storage, pki.ca, hh, clock.now()), hh, ven_id_for(hh))
    spec = HouseholdSpec(id=hh, category=Category.B, stage=Stage.FLEX, devices=())
    async with (
        VtnService(
            storage, clock, no_settle, port=0, poll_interval=timedelta(minutes=1), tls=pki.vtn_tls
        ) as vtn,
        HouseholdController(spec, clock, mqtt_url, ControlSettings()) as controller,
        VenAgent(controller, clock, vtn.openadr_url, tls=tls, push=("127.0.0.1", 0)) as agent,
    ):
        assert agent.push is not None and agent.push.url.startswith("https://")
        event_id = f"agentpush{uid}"
        await storage.create_event(an_event(event_id), [hh])
        await until(lambda: opt(storage, event_id, hh), 15, "the pushed event's answer")
        assert agent.push.received == 1 and vtn.pusher.pushed == 1
        assert event_id in agent.decisions  # decided by the household's own logic (no devices: optOut)
        assert await opt(storage, event_id, hh) == agent.decisions[event_id].opt_type
