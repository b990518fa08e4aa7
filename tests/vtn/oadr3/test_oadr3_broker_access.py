"""Per-VEN credentials on a real mosquitto for the 3.1 notification topics (issue 16): a VEN client reads
its own VEN's topics and the program topics, never another VEN's; business logic reads everything; only
the VTN writes. Denial on mosquitto is silent, so each reader subscribes to everything under the prefix
and a marker published after the notifications shows what did (not) arrive before it."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from homeflex.cli import main
from homeflex.core.clock import ManualClock
from homeflex.core.timeutil import iso
from homeflex.mqtt.access import SERVICES, acl_text, issue_passwords, with_credentials, write_access_files
from homeflex.mqtt.broker import _write_config, find_mosquitto, free_port, running_mosquitto
from homeflex.mqtt.brokerconf import BrokerConfig, Listener, config_text, queue_limit
from homeflex.mqtt.session import MqttSession
from homeflex.storage import SQLiteStorage
from homeflex.vtn.oadr3 import provision_client
from homeflex.vtn.oadr3.broker_access import VTN_USER, acl_rules
from homeflex.vtn.oadr3.service import DEFAULT_TOPIC_PREFIX
from tests.vtn.oadr3.conftest import NOW, Vtn, register_ven, running_vtn

PREFIX = "OpenADR/3.1/"
USERS = (VTN_USER, "bl", "ven-hh1", "ven-hh2")


@asynccontextmanager
async def acl_mosquitto(passwords: dict[str, str]) -> AsyncIterator[str]:
    """mosquitto with the platform's password file and an ACL with the 3.1 rules added (the way
    `homeflex mqtt-access` adds them)."""
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("needs mosquitto on PATH")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="homeflex-oadr3-acl-") as tmp:
        access = write_access_files(Path(tmp), passwords)
        rules = acl_rules(PREFIX, {"ven-hh1": "hh1", "ven-hh2": "hh2"}, bl_clients=["bl"])
        access.acl_file.write_text(acl_text((), {**SERVICES, **rules}))
        text = config_text(
            BrokerConfig(
                listeners=(Listener(bind="127.0.0.1", port=port),),
                password_file=str(access.password_file),
                acl_file=str(access.acl_file),
                persistence_dir=None,
                max_queued_messages=queue_limit(len(passwords)),
            )
        )
        async with running_mosquitto(binary, _write_config(Path(tmp), text), port):
            yield f"mqtt://127.0.0.1:{port}"


def test_rules_give_each_ven_client_only_its_own_topics() -> None:
    rules = acl_rules(PREFIX, {"ven-hh1": "hh1"}, bl_clients=["bl"])
    assert rules[VTN_USER] == (("write", "OpenADR/3.1/#"), ("write", "homeflex/v1/+/payments"))
    assert rules["bl"] == (("read", "OpenADR/3.1/#"),)
    assert rules["ven-hh1"] == (
        ("read", "OpenADR/3.1/programs/+"),
        ("read", "OpenADR/3.1/events/vens/hh1/+"),
        ("read", "OpenADR/3.1/vens/hh1/+"),
        ("read", "OpenADR/3.1/resources/vens/hh1/+"),
    )
    with pytest.raises(ValueError, match="listed twice"):
        acl_rules(PREFIX, {"bl": "hh1"}, bl_clients=["bl"])


async def test_a_ven_client_reads_only_its_own_notifications(storage: SQLiteStorage) -> None:
    passwords = issue_passwords([*USERS, *SERVICES])
    async with acl_mosquitto(passwords) as broker:
        vtn_url = with_credentials(broker, VTN_USER, passwords[VTN_USER])
        async with running_vtn(storage, vtn_url, PREFIX) as vtn:
            _, notifiers = await vtn.call("GET", "/notifiers", "ven-hh1")
            assert notifiers["MQTT"]["URIS"] == [broker]  # the VTN's own credentials are not shown
            for hh in ("hh1", "hh2"):
                await register_ven(vtn, hh)
            seen: dict[str, asyncio.Queue[tuple[str, bytes]]] = {u: asyncio.Queue() for u in USERS[1:]}
            sessions = [MqttSession(with_credentials(broker, u, passwords[u]), f"t-{u}") for u in USERS[1:]]
            for user, session in zip(USERS[1:], sessions, strict=True):
                session.subscribe(f"{PREFIX}#", lambda t, p, q=seen[user]: q.put_nowait((t, p)))
            async with sessions[0], sessions[1], sessions[2]:
                await asyncio.sleep(0.3)  # the subscriptions reach the broker
                # A VEN cannot write its own notifications (nor anyone else's).
                await sessions[1].publish(f"{PREFIX}events/vens/hh2/create", {"forged": True})
                body = {
                    "programID": "default",
                    "targets": ["hh1", "hh2"],
                    "intervalPeriod": {"start": iso(NOW + timedelta(hours=2)), "duration": "PT30M"},
                    "intervals": [
                        {"id": 0, "payloads": [{"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-1]}]}
                    ],
                }
                status, event = await vtn.call("POST", "/events", "bl", body)
                assert status == 201
                await vtn.oadr3.drain()
                async with MqttSession(vtn_url, "t-vtn-marker") as writer:
                    for ven in ("hh1", "hh2"):
                        await writer.publish(f"{PREFIX}events/vens/{ven}/update", {"marker": ven})
                    await writer.publish(f"{PREFIX}events/update", {"marker": "bl"})

                async def until_marker(user: str, marker: str) -> list[tuple[str, dict[str, object]]]:
                    got = []
                    while True:
                        topic, payload = await asyncio.wait_for(seen[user].get(), 10)
                        message = json.loads(payload)
                        if message == {"marker": marker}:
                            return got
                        got.append((topic, message))

                hh1 = await until_marker("ven-hh1", "hh1")
                assert [t for t, _ in hh1] == [f"{PREFIX}events/vens/hh1/create"]
                assert hh1[0][1]["object"]["targets"] == ["hh1"]  # type: ignore[index]
                hh2 = await until_marker("ven-hh2", "hh2")
                assert [t for t, _ in hh2] == [f"{PREFIX}events/vens/hh2/create"]
                bl = await until_marker("bl", "bl")
                topics = {t for t, _ in bl}
                assert f"{PREFIX}events/create" in topics and f"{PREFIX}events/vens/hh1/create" in topics
                assert all(m.get("forged") is None for _, m in bl)
                assert event["id"] == hh1[0][1]["object"]["id"]  # type: ignore[index]


@pytest.fixture
def folder() -> Iterator[Path]:
    """Under the system temp dir, readable by mosquitto once it drops root (pytest's tmp_path is not)."""
    with tempfile.TemporaryDirectory(prefix="homeflex-oadr3-access-") as tmp:
        Path(tmp).chmod(0o755)
        yield Path(tmp)


async def test_mqtt_access_issues_the_provisioned_3_1_clients_their_broker_logins(
    storage: SQLiteStorage, tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`homeflex mqtt-access` reads the provisioned 3.1 clients from the database and writes a login for
    each (and the VTN's notifier); mosquitto started from exactly the mosquitto.conf it wrote lets a VEN
    client read its own notifications and nothing of another VEN's."""
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("needs mosquitto on PATH")
    clock = ManualClock(NOW)
    for client, role in (("bl", "bl"), ("ven-hh1", "ven"), ("ven-hh2", "ven"), ("ven-bad.name", "ven")):
        await provision_client(storage, clock, client, role)
    monkeypatch.setenv("HOMEFLEX_DATABASE_URL", f"sqlite:///{tmp_path / 'homeflex.db'}")
    port, out = free_port(), folder / "access"
    argv = ["mqtt-access", "--out", str(out), "--plain", f"127.0.0.1:{port}", "--data-dir", "none"]
    assert await asyncio.to_thread(main, argv) == 0
    passwords = json.loads((out / "credentials.json").read_text())
    assert {"bl", "ven-hh1", "ven-hh2", VTN_USER} <= set(passwords)
    assert "ven-bad.name" not in passwords  # not a broker username: skipped, said on stderr
    broker = f"mqtt://127.0.0.1:{port}"
    async with running_mosquitto(binary, out / "mosquitto.conf", port):
        vtn_url = with_credentials(broker, VTN_USER, passwords[VTN_USER])
        async with running_vtn(storage, vtn_url, DEFAULT_TOPIC_PREFIX) as vtn:
            notifier = vtn.oadr3.notifier.mqtt
            assert notifier is not None and notifier.username == f"{VTN_USER}.notify"
            await register_ven(vtn, "hh1")
            await register_ven(vtn, "hh2")
            await _only_own_notifications(vtn, broker, passwords)


async def _only_own_notifications(vtn: Vtn, broker: str, passwords: dict[str, str]) -> None:
    """ven-hh1 receives the event on its own topic; ven-hh2's login, subscribed to hh1's topics, gets
    nothing of it before a marker published after it (denial on mosquitto is silent)."""
    seen: dict[str, asyncio.Queue[tuple[str, bytes]]] = {u: asyncio.Queue() for u in ("ven-hh1", "ven-hh2")}
    own = MqttSession(with_credentials(broker, "ven-hh1", passwords["ven-hh1"]), "t-hh1")
    own.subscribe(f"{PREFIX}#", lambda t, p: seen["ven-hh1"].put_nowait((t, p)))
    other = MqttSession(with_credentials(broker, "ven-hh2", passwords["ven-hh2"]), "t-hh2")
    other.subscribe(f"{PREFIX}events/vens/hh1/#", lambda t, p: seen["ven-hh2"].put_nowait((t, p)))
    other.subscribe(f"{PREFIX}events/vens/hh2/#", lambda t, p: seen["ven-hh2"].put_nowait((t, p)))
    async with own, other:
        await asyncio.sleep(0.3)  # the subscriptions reach the broker
        body = {
            "programID": "default",
            "targets": ["hh1"],
            "intervalPeriod": {"start": iso(NOW + timedelta(hours=2)), "duration": "PT30M"},
            "intervals": [{"id": 0, "payloads": [{"type": "DISPATCH_SETPOINT_RELATIVE", "values": [-1]}]}],
        }
        status, event = await vtn.call("POST", "/events", "bl", body)
        assert status == 201, event
        await vtn.oadr3.drain()
        topic, payload = await asyncio.wait_for(seen["ven-hh1"].get(), 10)
        assert topic == f"{PREFIX}events/vens/hh1/create"
        assert json.loads(payload)["object"]["id"] == event["id"]
        async with MqttSession(vtn.mqtt_url, "t-marker") as writer:
            await writer.publish(f"{PREFIX}events/vens/hh2/update", {"marker": "hh2"})
        topic, payload = await asyncio.wait_for(seen["ven-hh2"].get(), 10)
        assert (topic, json.loads(payload)) == (f"{PREFIX}events/vens/hh2/update", {"marker": "hh2"})
