"""Delivering the outbox over SMTP, at most once.

Each message is claimed in the database (claimed_at) before it is handed to the SMTP server and marked
sent once the server accepted it (250 after DATA). A crash between the two leaves the message claimed
but unconfirmed, "in doubt" in the console: it is never sent again by itself, because a second copy of
a notice is worse than asking the operator to check one. Failures that surely sent nothing are told
apart: a 4xx or an unreachable server before the message went out releases it for the next round; a
5xx marks it failed for good; anything going wrong while the message itself is transmitted leaves it
in doubt. Nothing is sent in the quiet hours (21:00-08:00 UK), not even mail that fell due earlier."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from types import TracebackType

from homeflex.core.clock import Clock
from homeflex.core.tasks import stop_tasks
from homeflex.portal.notify import quiet
from homeflex.storage.portal import Email, PortalStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class SmtpServer:
    host: str
    port: int = 25
    sender: str = "portal@homeflex.invalid"
    timeout_s: float = 10.0


class Refused(Exception):
    """The server answered no; `code` 4xx: try later, 5xx: never."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code


class InDoubt(Exception):
    """The connection failed while the message itself was going out: it may have been delivered."""


def message_of(email: Email, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email.to_email
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(email.created_at)
    # One id per outbox row, so a receiving system can tell a copy from a new message.
    msg["Message-ID"] = make_msgid(idstring=email.id, domain="homeflex.invalid")
    msg.set_content(email.body)
    return msg


def _reply(reply: tuple[int, bytes]) -> tuple[int, str]:
    return reply[0], reply[1].decode(errors="replace")


def send_one(server: SmtpServer, email: Email) -> None:
    """Blocking SMTP delivery of one message (run in a thread). Raises Refused, InDoubt, or OSError /
    SMTPException from before the message was transmitted (nothing sent)."""
    smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout_s)
    try:
        smtp.ehlo_or_helo_if_needed()
        code, text = _reply(smtp.mail(server.sender))
        if code != 250:
            raise Refused(code, text)
        code, text = _reply(smtp.rcpt(email.to_email))
        if code not in (250, 251):
            raise Refused(code, text)
        try:
            smtp.data(message_of(email, server.sender).as_bytes())
        except smtplib.SMTPDataError as err:  # the server said no to the message: not delivered
            why = err.smtp_error
            raise Refused(
                err.smtp_code, why.decode(errors="replace") if isinstance(why, bytes) else why
            ) from err
        except (OSError, smtplib.SMTPException) as err:
            raise InDoubt(str(err) or type(err).__name__) from err
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


@dataclass(frozen=True, kw_only=True)
class Outcome:
    email_id: str
    status: str  # sent | retry | failed | in doubt
    error: str | None = None


class OutboxSender:
    """`async with OutboxSender(store, clock, server):` sends what is due every `interval_s` (clock
    seconds); `send_due()` is one round."""

    def __init__(
        self,
        store: PortalStore,
        clock: Clock,
        server: SmtpServer,
        *,
        interval_s: float = 60.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.server = server
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OutboxSender:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="portal-outbox")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.send_due()
            except Exception:  # the database was away: try again next round
                log.exception("sending the outbox failed")
            await self.clock.sleep(self.interval_s)

    async def send_due(self) -> list[Outcome]:
        now = self.clock.now()
        if quiet(now):
            return []
        outcomes = []
        for email in await self.store.unsent(now):
            if not await self.store.claim_email(email.id, self.clock.now()):
                continue  # another sender has it
            outcomes.append(await self._deliver(email))
        return outcomes

    async def _deliver(self, email: Email) -> Outcome:
        try:
            await asyncio.to_thread(send_one, self.server, email)
        except Refused as err:
            if err.code >= 500:
                await self.store.mark_failed(email.id, self.clock.now(), str(err))
                log.error("mail %s to %s refused for good: %s", email.id, email.to_email, err)
                return Outcome(email_id=email.id, status="failed", error=str(err))
            await self.store.release_email(email.id, str(err))
            return Outcome(email_id=email.id, status="retry", error=str(err))
        except InDoubt as err:
            await self.store.note_email_error(email.id, f"in doubt: {err}")
            log.error("mail %s to %s in doubt (not sent again): %s", email.id, email.to_email, err)
            return Outcome(email_id=email.id, status="in doubt", error=str(err))
        except (OSError, smtplib.SMTPException) as err:
            why = f"SMTP server {self.server.host}:{self.server.port} unreachable: {err}"
            await self.store.release_email(email.id, why)
            return Outcome(email_id=email.id, status="retry", error=why)
        await self.store.mark_sent(email.id, self.clock.now())
        return Outcome(email_id=email.id, status="sent")
