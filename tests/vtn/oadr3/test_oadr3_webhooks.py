"""OpenADR 3.1 webhooks from an attacker's side: a subscriber points its callbackUrl at the VTN's own
machine or private network (a real HTTP receiver on loopback stands for the internal service). By default
the VTN refuses such a subscription, and does not call one stored before the check, even behind a name
that resolves to loopback; where the operator allows the network, every notification is signed with
the subscriber's secret (X-Homeflex-Signature), which the receiver checks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from homeflex.storage import SQLiteStorage
from homeflex.storage.records import Oadr3Object
from homeflex.vtn.oadr3.webhooks import SIGNATURE_HEADER, PolicyResolver, WebhookPolicy, verify
from tests.vtn.oadr3.conftest import NOW, Vtn, register_ven, serve
from tests.vtn.oadr3.test_oadr3_api import event_request


class Receiver:
    """An internal HTTP service on loopback that records every request it gets."""

    def __init__(self) -> None:
        self.got: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        await self.got.put((dict(request.headers), await request.read()))
        return web.json_response({})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    found.port = runner.addresses[0][1]
    yield found
    await runner.cleanup()


@pytest.fixture
async def strict(storage: SQLiteStorage, mqtt_url: str, uid: str) -> AsyncIterator[Vtn]:
    """A VTN whose operator allowed no private network: the default."""
    async with serve(storage, mqtt_url, uid, WebhookPolicy()) as served:
        yield served


def subscription(url: str, token: str | None = "stolen?") -> dict[str, Any]:
    entry: dict[str, Any] = {"objects": ["EVENT"], "operations": ["CREATE"], "callbackUrl": url}
    if token:
        entry["bearerToken"] = token
    return {"clientName": "hh1", "objectOperations": [entry]}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:{port}/cb", "not a public address"),
        ("http://localhost:{port}/cb", "localhost resolves to"),
        ("http://[::1]:{port}/cb", "not a public address"),
        ("http://[::ffff:127.0.0.1]:{port}/cb", "not a public address"),
        ("http://2130706433:{port}/cb", "resolves to 127.0.0.1"),  # 127.0.0.1 as one number
        ("http://169.254.169.254/latest/meta-data", "not a public address"),
        ("http://10.1.2.3/cb", "not a public address"),
        ("https://192.168.0.1/cb", "not a public address"),
        ("http://0.0.0.0:{port}/cb", "not a public address"),
        ("ftp://127.0.0.1/cb", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
    ],
)
async def test_a_subscription_to_a_private_target_is_refused(
    strict: Vtn, receiver: Receiver, url: str, why: str
) -> None:
    await register_ven(strict, "hh1")
    status, body = await strict.call(
        "POST", "/subscriptions", "ven-hh1", subscription(url.format(port=receiver.port))
    )
    assert status == 400 and why in body["detail"], body
    assert (await strict.call("GET", "/subscriptions", "bl"))[1] == []
    assert (await strict.call("POST", "/events", "bl", event_request(targets=["hh1"])))[0] == 201
    await strict.oadr3.drain()
    assert receiver.got.empty()


async def test_a_private_target_stored_before_the_check_is_not_called(
    strict: Vtn, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Subscriptions from a database written before the check: an address literal and a name that
    resolves to loopback (as a rebinding name would, after the check). Neither is called."""
    await register_ven(strict, "hh1")
    for i, host in enumerate(("127.0.0.1", "localhost")):
        doc = subscription(f"http://{host}:{receiver.port}/cb")
        old = Oadr3Object(
            object_type="SUBSCRIPTION",
            id=f"sub-old{i}",
            client_id="ven-hh1",
            document=doc,
            created_at=NOW,
            modified_at=NOW,
        )
        await strict.storage.put_oadr3_object(old)
    assert (await strict.call("POST", "/events", "bl", event_request(targets=["hh1"])))[0] == 201
    await strict.oadr3.drain()
    assert receiver.got.empty()
    logged = [r.getMessage() for r in caplog.records]
    assert any("webhook not called" in m and "127.0.0.1" in m for m in logged)
    assert any("webhook host localhost: not connecting to 127.0.0.1" in m for m in logged)


async def test_the_resolver_connects_only_to_allowed_addresses() -> None:
    with pytest.raises(OSError, match="not allowed"):
        await PolicyResolver(WebhookPolicy()).resolve("localhost", 80)
    allowed = await PolicyResolver(WebhookPolicy.from_setting("127.0.0.0/8")).resolve("localhost", 80)
    assert {r["host"] for r in allowed} == {"127.0.0.1"}
    with pytest.raises(ValueError, match="bogus"):
        WebhookPolicy.from_setting("10.0.0.0/8, bogus")


async def test_notifications_are_signed_with_the_subscribers_secret(vtn: Vtn, receiver: Receiver) -> None:
    """The operator allowed loopback (the `vtn` fixture); each notification carries a signature that the
    receiver recomputes from its client secret alone, as documented."""
    await register_ven(vtn, "hh1")
    url = f"http://127.0.0.1:{receiver.port}/cb"
    assert (await vtn.call("POST", "/subscriptions", "ven-hh1", subscription(url, token=None)))[0] == 201
    bl_sub = {"clientName": "dso", "objectOperations": subscription(url + "/bl", None)["objectOperations"]}
    assert (await vtn.call("POST", "/subscriptions", "bl", bl_sub))[0] == 201
    assert (await vtn.call("POST", "/events", "bl", event_request(targets=["hh1"])))[0] == 201
    await vtn.oadr3.drain()
    got = [receiver.got.get_nowait() for _ in range(receiver.got.qsize())]
    assert len(got) == 2
    secrets = [vtn.secrets["ven-hh1"], vtn.secrets["bl"]]
    for headers, body in got:
        header = headers[SIGNATURE_HEADER]
        fields = dict(part.split("=", 1) for part in header.split(","))
        assert int(fields["t"]) == int(NOW.timestamp())
        # Who signed it: exactly one of the two subscribers' secrets verifies it.
        signers = [
            s
            for s in secrets
            if hmac.compare_digest(
                fields["v1"],
                hmac.new(
                    hashlib.sha256(s.encode()).digest(), f"{fields['t']}.".encode() + body, hashlib.sha256
                ).hexdigest(),
            )
        ]
        assert len(signers) == 1
        assert verify(signers[0], header, body, NOW.timestamp())
        assert not verify(signers[0], header, body.replace(b"hh1", b"hh2"), NOW.timestamp())  # tampered
        assert not verify(signers[0], header, body, NOW.timestamp() + 3600)  # replayed an hour later
        assert "Authorization" not in headers  # no bearerToken was given
