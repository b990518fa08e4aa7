"""The outbox delivered over SMTP to a real local server (aiosmtpd on loopback, a free port): due mail
goes once, never in the quiet hours, a refusal is told apart from a server that is away, and a
message claimed but never confirmed (a crash mid-send) is not sent again."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from homeflex.core.clock import ManualClock
from homeflex.portal.actions import PortalConfig
from homeflex.portal.mailer import OutboxSender, SmtpServer
from homeflex.portal.pages_console import mail_note
from homeflex.portal.service import PortalService
from homeflex.storage import SQLiteStorage
from homeflex.storage.portal import PortalStore
from tests.portal.conftest import OPERATOR, Stack
from tests.portal.helpers import Client

DAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 10:00 in London: mail may go
EVENING = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)  # quiet hours


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """The SMTP server's side: what it accepted, and how it answers (set by the test)."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.rcpt_reply: dict[str, str] = {}  # address -> reply instead of 250
        self.drop_in_data = False  # close the connection once the message is in, before the reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.rcpt_reply:
            return self.rcpt_reply[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(message_from_bytes(envelope.content))
        if self.drop_in_data:
            server.transport.close()
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpServer]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, SmtpServer(host="127.0.0.1", port=controller.port, sender="portal@example.org")
    finally:
        controller.stop()


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    storage = await SQLiteStorage.open(tmp_path / "mail.db")
    yield storage.portal
    await storage.close()


async def test_due_mail_goes_once_and_later_mail_waits(
    store: PortalStore, smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    clock = ManualClock(DAY)
    await store.enqueue_email("ada@example.org", "Welcome", "Hello Ada", DAY, DAY)
    await store.enqueue_email("ada@example.org", "Tomorrow", "Later", DAY + timedelta(days=1), DAY)
    sender = OutboxSender(store, clock, server)
    assert [o.status for o in await sender.send_due()] == ["sent"]
    [mail] = inbox.received
    assert (mail["To"], mail["From"], mail["Subject"]) == ("ada@example.org", "portal@example.org", "Welcome")
    assert mail.get_payload().strip() == "Hello Ada"
    assert await sender.send_due() == []  # sent once: a second round sends nothing
    statuses = {m.subject: (m.status, m.sent_at) for m in await store.outbox()}
    assert statuses == {"Welcome": ("sent", DAY), "Tomorrow": ("queued", None)}
    assert len(inbox.received) == 1


async def test_nothing_goes_in_the_quiet_hours_not_even_mail_long_due(
    store: PortalStore, smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    clock = ManualClock(EVENING)
    await store.enqueue_email("ada@example.org", "Due since noon", "x", DAY + timedelta(hours=2), DAY)
    sender = OutboxSender(store, clock, server)
    assert await sender.send_due() == []
    assert inbox.received == []
    await clock.advance((datetime(2026, 11, 25, 8, 0, tzinfo=UTC) - EVENING).total_seconds())
    assert [o.status for o in await sender.send_due()] == ["sent"]  # 08:00 in London
    assert [m["Subject"] for m in inbox.received] == ["Due since noon"]


async def test_a_refusal_is_final_a_try_later_or_an_absent_server_is_retried(
    store: PortalStore, smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    clock = ManualClock(DAY)
    inbox.rcpt_reply = {"gone@example.org": "550 No such user", "busy@example.org": "451 Try again later"}
    for to in ("gone@example.org", "busy@example.org"):
        await store.enqueue_email(to, f"to {to}", "x", DAY, DAY)
    sender = OutboxSender(store, clock, server)
    outcomes = {o.status for o in await sender.send_due()}
    assert outcomes == {"failed", "retry"}
    mails = {m.to_email: m for m in await store.outbox()}
    assert mails["gone@example.org"].status == "failed"
    assert "550" in (mails["gone@example.org"].last_error or "")
    assert mails["busy@example.org"].status == "queued"
    assert "451" in (mails["busy@example.org"].last_error or "")
    # The server is away: nothing can have gone out, so the message stays queued with the reason.
    away = OutboxSender(store, clock, SmtpServer(host="127.0.0.1", port=free_port(), timeout_s=2))
    [outcome] = await away.send_due()
    assert outcome.status == "retry" and "unreachable" in (outcome.error or "")
    # The server takes it now: sent, and the refused one is never tried again.
    inbox.rcpt_reply.pop("busy@example.org")
    assert [o.status for o in await sender.send_due()] == ["sent"]
    assert [m["To"] for m in inbox.received] == ["busy@example.org"]
    mails = {m.to_email: m for m in await store.outbox()}
    assert (mails["busy@example.org"].status, mails["busy@example.org"].attempts) == ("sent", 3)
    assert mails["gone@example.org"].attempts == 1


async def test_a_message_in_doubt_is_never_sent_twice(
    store: PortalStore, smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    clock = ManualClock(DAY)
    await store.enqueue_email("ada@example.org", "Crashed", "x", DAY, DAY)
    await store.enqueue_email("bob@example.org", "Cut off", "y", DAY, DAY)
    [crashed, cut] = sorted(await store.outbox(), key=lambda m: m.subject)
    # A sender claimed "Crashed" and died before it could say whether the server took it.
    assert await store.claim_email(crashed.id, DAY)
    # "Cut off": the server has the message, but the connection drops before its reply.
    inbox.drop_in_data = True
    sender = OutboxSender(store, clock, server)
    [outcome] = await sender.send_due()
    assert outcome.status == "in doubt"
    inbox.drop_in_data = False
    assert await sender.send_due() == []  # neither goes again
    assert [m["Subject"] for m in inbox.received] == ["Cut off"]  # delivered once, not twice
    statuses = {m.subject: m.status for m in await store.outbox()}
    assert statuses == {"Crashed": "in doubt", "Cut off": "in doubt"}
    assert "in doubt" in ({m.id: m for m in await store.outbox()}[cut.id].last_error or "")


async def test_the_sender_runs_in_the_background(store: PortalStore, smtp: tuple[Inbox, SmtpServer]) -> None:
    inbox, server = smtp
    clock = ManualClock(DAY)
    await store.enqueue_email("ada@example.org", "Hello", "x", DAY + timedelta(minutes=1), DAY)
    async with OutboxSender(store, clock, server, interval_s=60):
        await asyncio.sleep(0.2)
        assert inbox.received == []  # not due yet
        await clock.advance(60)
        async with asyncio.timeout(10):
            while not inbox.received:
                await asyncio.sleep(0.05)
    assert [m["Subject"] for m in inbox.received] == ["Hello"]


async def test_the_portal_service_sends_its_mail_when_smtp_is_configured(
    tmp_path: Path, smtp: tuple[Inbox, SmtpServer]
) -> None:
    inbox, server = smtp
    storage = await SQLiteStorage.open(tmp_path / "portal.db")
    clock = ManualClock(DAY)
    config = PortalConfig(smtp=server)
    try:
        async with PortalService(storage, clock, "http://127.0.0.1:9", port=0, config=config) as service:
            await service.portal.express_interest(
                {"name": "Ada", "email": "ada@example.org", "postcode": "M1 1AA"}
            )
            await clock.advance(60)  # the sender's next round
            async with asyncio.timeout(10):
                while not inbox.received:
                    await asyncio.sleep(0.05)
    finally:
        await storage.close()
    assert [(m["To"], m["Subject"]) for m in inbox.received] == [
        ("ada@example.org", "Thank you for your interest")
    ]


async def test_the_console_says_whether_mail_is_sent(stack: Stack) -> None:
    client = Client(stack.portal_url)
    try:
        await client.login(*OPERATOR)
        status, html = await client.get("/console")
        assert status == 200
        assert "No SMTP server is configured" in html and "mail stays queued" in html
    finally:
        await client.close()
    note = mail_note(SmtpServer(host="mail.example.org", port=587, sender="p@example.org"))
    assert "mail.example.org:587" in note and "never overnight" in note
