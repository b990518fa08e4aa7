"""The S2 CEM endpoint seen from an attacker on the network. S2 has no authentication of its own, so the
endpoint binds an RM to one household before reading a message (``/s2/<household>`` and a bearer token
per resource): a wrong or missing token, a household no driver serves, another household's resource id,
junk, oversized messages and replayed answers to earlier instructions get nowhere, and the household's
own RM goes on being driven."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from s2python.common import (
    InstructionStatus,
    InstructionStatusUpdate,
    ReceptionStatus,
    ReceptionStatusValues,
)
from s2python.frbc import FRBCStorageStatus
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidMessage, InvalidStatus

from homeflex.core.clock import ManualClock
from homeflex.core.strict import ConfigError
from homeflex.drivers import DeviceUnreachable
from homeflex.drivers.s2 import INFO
from homeflex.drivers.s2_cem import MAX_MESSAGE_BYTES, Cem, CemSettings
from tests.drivers.s2_rm import DISCHARGE, NOW, ResourceManager, connected, driven, token
from tests.pki import Pki


@pytest.fixture
async def cem() -> AsyncIterator[Cem]:
    async with Cem(CemSettings(port=0, response_timeout_s=0.5)) as server:
        yield server


async def handshake(url: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status the endpoint answers a WebSocket handshake with (101: let in)."""
    try:
        async with connect(url, additional_headers=headers or {}, proxy=None):
            return 101
    except InvalidStatus as err:
        return err.response.status_code


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_only_the_households_path_with_a_resources_token_is_let_in(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with driven(clock, cem, household="hha"), driven(clock, cem, household="hhb"):
        assert await handshake(cem.url_for("hha"), bearer(token("hha"))) == 101
        assert await handshake(cem.url_for("hha") + "?token=" + token("hha")) == 101  # a URL-only device
        assert await handshake(cem.url_for("hha")) == 401  # no token
        assert await handshake(cem.url_for("hha"), bearer("guess-" + token("hha"))) == 401
        assert await handshake(cem.url_for("hha"), {"Authorization": "Basic aGhhOng="}) == 401
        assert await handshake(cem.url_for("hha"), bearer(token("hhb"))) == 401  # another household's
        assert await handshake(cem.url_for("hhz"), bearer(token("hha"))) == 404  # nobody's household
        assert await handshake(cem.url_for("hha") + "/more", bearer(token("hha"))) == 404
        assert await handshake(cem.url.replace("/s2", "/other/hha"), bearer(token("hha"))) == 404


async def test_another_households_resource_cannot_be_claimed(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock, household="hha") as (victim, seen, rm):
        async with driven(clock, cem, household="hhb"):
            # hhb's own RM, with hhb's good token, says it is hha's resource.
            thief = ResourceManager(cem.url_for("hhb"), rm.resource_id, token("hhb"), clock=clock)
            await thief.start()
            await thief.until(lambda: thief._task is not None and thief._task.done())  # let go
            assert thief.receptions[-1].status is ReceptionStatusValues.PERMANENT_ERROR
            assert thief.instructions == []
        # hha's RM was not displaced: it is still the one driven, nothing of the thief reached the driver.
        assert cem.is_connected("hha", str(rm.resource_id))
        await victim.send({"power_w": -1000}, None)
        assert rm.instructions[-1].operation_mode == DISCHARGE
        assert (False, "RM disconnected") not in seen.availability


async def test_junk_and_messages_out_of_turn_are_answered_and_the_session_goes_on(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock) as (driver, seen, rm):
        assert rm.ws is not None
        marked = str(uuid.uuid4())
        for junk in ("[]", "null", '{"message_type": 7}', b"\xff\xfe", json.dumps({"message_id": marked})):
            await rm.ws.send(junk)
        await rm.until(lambda: any(str(r.subject_message_id) == marked for r in rm.receptions))
        assert [r.status for r in rm.receptions if str(r.subject_message_id) == marked] == [
            ReceptionStatusValues.INVALID_DATA
        ]
        await driver.send({"power_w": 0}, None)
        assert seen.availability[-1] == (True, "RM connected")
    # A message that cannot be an RM's (over 1 MiB) closes the connection; the endpoint stays up.
    async with connected(cem, clock) as (driver, _seen, rm):
        assert rm.ws is not None
        await rm.ws.send("x" * (MAX_MESSAGE_BYTES + 1))
        await rm.until(lambda: rm._task is not None and rm._task.done())
        with pytest.raises(DeviceUnreachable):
            await driver.send({"power_w": 0}, None)
    async with connected(cem, clock) as (driver, _seen, _rm):
        assert await driver.send({"power_w": 0}, None) == 1


async def test_a_message_before_the_rm_says_who_it_is_is_not_taken(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with driven(clock, cem, household="hha") as (driver, seen):
        async with connect(cem.url_for("hha"), additional_headers=bearer(token("hha"))) as ws:
            status = FRBCStorageStatus(message_id=uuid.uuid4(), present_fill_level=9.0)
            await ws.send(status.to_json())
            answer = json.loads(await ws.recv())
            assert answer["status"] == "TEMPORARY_ERROR" and answer["subject_message_id"] == str(
                status.message_id
            )
        assert seen.states == [] and driver.fill is None


async def test_a_replayed_answer_to_an_earlier_instruction_answers_nothing(cem: Cem) -> None:
    clock = ManualClock(NOW)
    async with connected(cem, clock) as (driver, _seen, rm):
        await driver.send({"power_w": -1000}, None)
        earlier = rm.instructions[-1]
        replays = [
            ReceptionStatus(subject_message_id=earlier.message_id, status=ReceptionStatusValues.OK),
            InstructionStatusUpdate(
                message_id=uuid.uuid4(),
                instruction_id=earlier.id,
                status_type=InstructionStatus.ACCEPTED,
                timestamp=NOW,
            ),
        ]
        rm.answer = False  # the next instruction's answers are withheld...
        sending = asyncio.get_running_loop().create_task(driver.send({"power_w": 2000}, None))
        await rm.until(lambda: rm.instructions[-1] is not earlier)
        for message in replays:  # ...and the earlier instruction's answers replayed instead
            await rm.send(message)
        with pytest.raises(DeviceUnreachable, match="did not answer"):
            await sending


async def test_the_endpoint_serves_tls_when_given_a_certificate(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    tls = CemSettings(
        port=0, response_timeout_s=1.0, tls_cert=str(pki.vtn_tls.cert), tls_key=str(pki.vtn_tls.key)
    )
    async with Cem(tls) as cem:
        assert cem.url.startswith("wss://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(pki.ca_file))
        async with connected(cem, ManualClock(NOW), tls=trust) as (driver, _seen, _rm):
            assert await driver.send({"power_w": 500}, None) == 1
        with pytest.raises((InvalidMessage, OSError)):  # no TLS, no handshake
            await handshake(cem.url_for("hhs2").replace("wss://", "ws://"), bearer(token("hhs2")))
    with pytest.raises(ValueError, match="s2_tls_cert and s2_tls_key go together"):
        CemSettings(tls_cert="cert.pem")


def test_the_address_wants_a_token_that_is_a_secret() -> None:
    rid = str(uuid.uuid4())
    with pytest.raises(ConfigError, match="one of token and token_env"):
        INFO.parse({"resource_id": rid})
    with pytest.raises(ConfigError, match="at least 16"):
        INFO.parse({"resource_id": rid, "token": "1234"})
    with pytest.raises(ConfigError, match="fill_level_is"):
        INFO.parse({"resource_id": rid, "token": token("hh"), "fill_level_is": "soc"})
    assert INFO.parse({"resource_id": rid.upper(), "token_env": "HOMEFLEX_S2_TOKEN"}).resource_id == rid
