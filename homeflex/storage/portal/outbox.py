"""The portal's mail outbox (migration 0006): queued mail, claimed before it goes to the SMTP server
(homeflex.portal.mailer) so that it is handed over at most once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from homeflex.storage.portal.base import StoreBase
from homeflex.storage.portal.records import Email
from homeflex.storage.sql import Row


class OutboxStore(StoreBase):
    """Queued mail and what became of it: claimed, sent, failed for good, or released to retry."""

    async def enqueue_email(
        self, to_email: str, subject: str, body: str, send_after: datetime, at: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO portal_outbox (id, to_email, subject, body, send_after, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (uuid.uuid4().hex, to_email, subject, body, self._t(send_after), self._t(at)),
        )

    async def outbox(self, to_email: str | None = None) -> list[Email]:
        rows = await self._rows("portal_outbox", "created_at, id", to_email=to_email)
        return [self._email(r) for r in rows]

    def _email(self, r: Row) -> Email:
        def when(value: Any) -> datetime | None:
            return None if value is None else self._rt(value)

        return Email(
            id=r["id"],
            to_email=r["to_email"],
            subject=r["subject"],
            body=r["body"],
            send_after=self._rt(r["send_after"]),
            created_at=self._rt(r["created_at"]),
            claimed_at=when(r["claimed_at"]),
            sent_at=when(r["sent_at"]),
            failed_at=when(r["failed_at"]),
            attempts=int(r["attempts"]),
            last_error=r["last_error"],
        )

    async def unsent(self, due_by: datetime) -> list[Email]:
        """Mail not yet claimed by a sender whose send_after has come, oldest first."""
        rows = await self._db.fetch(
            "SELECT * FROM portal_outbox WHERE claimed_at IS NULL AND send_after <= ?"
            " ORDER BY send_after, created_at, id",
            (self._t(due_by),),
        )
        return [self._email(r) for r in rows]

    async def claim_email(self, email_id: str, at: datetime) -> bool:
        """Take a message for sending, before it goes to the SMTP server (at most once); False if
        another sender has it or it is no longer queued."""
        changed = await self._db.execute(
            "UPDATE portal_outbox SET claimed_at=?, attempts=attempts + 1"
            " WHERE id=? AND claimed_at IS NULL AND sent_at IS NULL AND failed_at IS NULL",
            (self._t(at), email_id),
        )
        return changed == 1

    async def mark_sent(self, email_id: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE portal_outbox SET sent_at=?, last_error=NULL WHERE id=?", (self._t(at), email_id)
        )

    async def mark_failed(self, email_id: str, at: datetime, error: str) -> None:
        """The server refused the message for good: it is not tried again."""
        await self._db.execute(
            "UPDATE portal_outbox SET failed_at=?, last_error=? WHERE id=?",
            (self._t(at), error[:500], email_id),
        )

    async def note_email_error(self, email_id: str, error: str) -> None:
        await self._db.execute("UPDATE portal_outbox SET last_error=? WHERE id=?", (error[:500], email_id))

    async def release_email(self, email_id: str, error: str) -> None:
        """Not handed over (the server was unreachable or said "try later"): queued again."""
        await self._db.execute(
            "UPDATE portal_outbox SET claimed_at=NULL, last_error=? WHERE id=? AND sent_at IS NULL",
            (error[:500], email_id),
        )
