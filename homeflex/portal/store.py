"""The portal's persistence, in the shared SQL of homeflex.storage (migration 0006), on either backend:
the journey, categories, information sessions, outbox, skips and VEN provisioning (accounts and links
are in accountstore.py, the shared primitives in storebase.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeflex.core.domain import Category
from homeflex.portal.accountstore import AccountStore
from homeflex.portal.categories import CategoryChange
from homeflex.portal.journey import AuditEntry, JourneyError, JourneyState, Role, Step
from homeflex.portal.storebase import Account, StoreBase, TokenError, _duplicate
from homeflex.storage.sqlbase import Row, Transaction

__all__ = ["Account", "AccountStore", "Customer", "PortalStore", "StoreBase", "TokenError"]


@dataclass(frozen=True, kw_only=True)
class Customer:
    household_id: str
    name: str
    email: str
    postcode: str
    state: JourneyState
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class InfoSession:
    id: str
    starts_at: datetime
    mode: str  # face_to_face | online
    place: str
    capacity: int
    booked: int


@dataclass(frozen=True, kw_only=True)
class Email:
    id: str
    to_email: str
    subject: str
    body: str
    send_after: datetime
    created_at: datetime
    claimed_at: datetime | None = None  # handed to the SMTP sender (mailer.py)
    sent_at: datetime | None = None
    failed_at: datetime | None = None  # refused for good
    attempts: int = 0
    last_error: str | None = None

    @property
    def status(self) -> str:
        """queued | sent | failed | in doubt (claimed, never confirmed: a crash mid-send)."""
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        return "in doubt" if self.claimed_at is not None else "queued"


@dataclass(frozen=True, kw_only=True)
class Skip:
    event_id: str
    household_id: str
    at: datetime
    reason: str


class PortalStore(AccountStore):
    """The customer journey with its audit trail, category history, information sessions, the
    outbox, event skips and VEN provisioning; accounts and links in AccountStore."""

    async def _next_seq(self, tx: Transaction, table: str, household_id: str) -> int:
        rows = await tx.fetch(
            f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table} WHERE household_id=?", (household_id,)
        )
        return int(rows[0][0])

    async def _audit(self, tx: Transaction, e: AuditEntry) -> None:
        seq = await self._next_seq(tx, "portal_audit", e.household_id)
        await tx.execute(
            "INSERT INTO portal_audit (household_id, seq, from_step, to_step, actor, role, at, reason)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                e.household_id,
                seq,
                e.from_step.value if e.from_step else None,
                e.to_step.value,
                e.actor,
                e.role.value,
                self._t(e.at),
                e.reason,
            ),
        )

    async def _category(self, tx: Transaction, c: CategoryChange) -> None:
        seq = await self._next_seq(tx, "portal_categories", c.household_id)
        await tx.execute(
            "INSERT INTO portal_categories (household_id, seq, category, vulnerable, since, reason, actor)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                c.household_id,
                seq,
                c.category.value,
                self._db._flag(c.vulnerable),
                self._t(c.since),
                c.reason,
                c.actor,
            ),
        )
        # The VTN's household row carries the current category (settlement and reports read it there).
        await tx.execute(
            "UPDATE households SET category=?, vulnerable=? WHERE id=?",
            (c.category.value, self._db._flag(c.vulnerable), c.household_id),
        )

    # -- customers and the journey ------------------------------------------------------------------

    async def create_customer(
        self,
        *,
        name: str,
        email: str,
        postcode: str,
        group: str,
        state: JourneyState,
        entry: AuditEntry,
        category: CategoryChange,
        data: Mapping[str, Any],
    ) -> None:
        """The household, its customer row, first category and first audit entry, atomically.
        ValueError if the email is already registered."""
        if await self._db._fetch("SELECT 1 FROM portal_customers WHERE email=?", (email,)):
            raise ValueError("this email address has already expressed interest")
        try:
            async with self._db._transaction() as tx:
                await tx.execute(
                    "INSERT INTO households (id, group_name, category, vulnerable, created_at)"
                    " VALUES (?,?,?,?,?)",
                    (
                        state.household_id,
                        group,
                        category.category.value,
                        self._db._flag(category.vulnerable),
                        self._t(state.since),
                    ),
                )
                await tx.execute(
                    "INSERT INTO portal_customers (household_id, name, email, postcode, step, since,"
                    " left_from, data, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        state.household_id,
                        name,
                        email,
                        postcode,
                        state.step.value,
                        self._t(state.since),
                        None,
                        json.dumps(dict(data)),
                        self._t(state.since),
                    ),
                )
                await self._audit(tx, entry)
                await self._category(tx, category)
        except Exception as err:
            if _duplicate(err):  # a concurrent request with the same email (or id) came first
                raise ValueError("this email address has already expressed interest") from err
            raise

    def _customer(self, r: Row) -> Customer:
        state = JourneyState(
            household_id=r["household_id"],
            step=Step(r["step"]),
            since=self._rt(r["since"]),
            left_from=Step(r["left_from"]) if r["left_from"] else None,
        )
        return Customer(
            household_id=r["household_id"],
            name=r["name"],
            email=r["email"],
            postcode=r["postcode"],
            state=state,
            data=json.loads(r["data"]),
            created_at=self._rt(r["created_at"]),
        )

    async def customer(self, household_id: str) -> Customer | None:
        rows = await self._db._fetch("SELECT * FROM portal_customers WHERE household_id=?", (household_id,))
        return self._customer(rows[0]) if rows else None

    async def customers(self) -> list[Customer]:
        rows = await self._db._fetch("SELECT * FROM portal_customers ORDER BY household_id")
        return [self._customer(r) for r in rows]

    async def apply(
        self,
        old: JourneyState,
        new: JourneyState,
        entry: AuditEntry,
        data: Mapping[str, Any] | None = None,
        group: str | None = None,
    ) -> None:
        """Store a transition made from `old`; JourneyError if the customer moved meanwhile. `data`
        keys are merged into the customer's document, `group` moves the household's VTN group."""
        async with self._db._transaction() as tx:
            rows = await tx.fetch(
                "UPDATE portal_customers SET step=?, since=?, left_from=? WHERE household_id=? AND step=?"
                " RETURNING data",
                (
                    new.step.value,
                    self._t(new.since),
                    new.left_from.value if new.left_from else None,
                    old.household_id,
                    old.step.value,
                ),
            )
            if not rows:
                raise JourneyError("the customer's journey changed meanwhile: reload and try again")
            if data:
                merged = {**json.loads(rows[0]["data"]), **data}
                await tx.execute(
                    "UPDATE portal_customers SET data=? WHERE household_id=?",
                    (json.dumps(merged), old.household_id),
                )
            if group is not None:
                await tx.execute("UPDATE households SET group_name=? WHERE id=?", (group, old.household_id))
            await self._audit(tx, entry)

    async def update_data(self, household_id: str, data: Mapping[str, Any]) -> None:
        async with self._db._transaction() as tx:
            rows = await tx.fetch("SELECT data FROM portal_customers WHERE household_id=?", (household_id,))
            if not rows:
                raise LookupError(f"no customer {household_id!r}")
            merged = {**json.loads(rows[0]["data"]), **data}
            await tx.execute(
                "UPDATE portal_customers SET data=? WHERE household_id=?", (json.dumps(merged), household_id)
            )

    async def audit(self, household_id: str | None = None) -> list[AuditEntry]:
        sql = "SELECT * FROM portal_audit"
        params: tuple[Any, ...] = ()
        if household_id is not None:
            sql, params = sql + " WHERE household_id=?", (household_id,)
        rows = await self._db._fetch(sql + " ORDER BY household_id, seq", params)
        return [
            AuditEntry(
                household_id=r["household_id"],
                from_step=Step(r["from_step"]) if r["from_step"] else None,
                to_step=Step(r["to_step"]),
                actor=r["actor"],
                role=Role(r["role"]),
                at=self._rt(r["at"]),
                reason=r["reason"],
            )
            for r in rows
        ]

    async def change_category(self, change: CategoryChange) -> None:
        async with self._db._transaction() as tx:
            await self._category(tx, change)

    async def categories(self, household_id: str | None = None) -> list[CategoryChange]:
        sql = "SELECT * FROM portal_categories"
        params: tuple[Any, ...] = ()
        if household_id is not None:
            sql, params = sql + " WHERE household_id=?", (household_id,)
        rows = await self._db._fetch(sql + " ORDER BY household_id, seq", params)
        return [
            CategoryChange(
                household_id=r["household_id"],
                category=Category(r["category"]),
                vulnerable=bool(r["vulnerable"]),
                since=self._rt(r["since"]),
                reason=r["reason"],
                actor=r["actor"],
            )
            for r in rows
        ]

    # -- information sessions ----------------------------------------------------------------

    async def create_info_session(
        self, starts_at: datetime, mode: str, place: str, capacity: int, at: datetime
    ) -> str:
        if mode not in ("face_to_face", "online"):
            raise ValueError("mode must be face_to_face or online")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        session_id = f"is-{uuid.uuid4().hex[:10]}"
        await self._db._execute(
            "INSERT INTO portal_info_sessions (id, starts_at, mode, place, capacity, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (session_id, self._t(starts_at), mode, place, capacity, self._t(at)),
        )
        return session_id

    async def info_sessions(self) -> list[InfoSession]:
        rows = await self._db._fetch(
            "SELECT s.id, s.starts_at, s.mode, s.place, s.capacity, COUNT(b.household_id) AS booked"
            " FROM portal_info_sessions s LEFT JOIN portal_bookings b ON b.session_id = s.id"
            " GROUP BY s.id, s.starts_at, s.mode, s.place, s.capacity ORDER BY s.starts_at, s.id"
        )
        return [
            InfoSession(
                id=r["id"],
                starts_at=self._rt(r["starts_at"]),
                mode=r["mode"],
                place=r["place"],
                capacity=r["capacity"],
                booked=int(r["booked"]),
            )
            for r in rows
        ]

    async def book(self, session_id: str, household_id: str, at: datetime) -> None:
        """ValueError when the session is unknown, past or full, or the household has a booking."""
        async with self._db._transaction() as tx:
            rows = await tx.fetch(
                "UPDATE portal_info_sessions SET capacity=capacity WHERE id=? RETURNING capacity, starts_at",
                (session_id,),
            )  # locks the session row: bookings for it take turns
            if not rows:
                raise ValueError("no such information session")
            if self._rt(rows[0]["starts_at"]) <= at:
                raise ValueError("that session has already started")
            taken = await tx.fetch("SELECT COUNT(*) FROM portal_bookings WHERE session_id=?", (session_id,))
            if int(taken[0][0]) >= int(rows[0]["capacity"]):
                raise ValueError("that session is full: choose another")
            if await tx.fetch("SELECT 1 FROM portal_bookings WHERE household_id=?", (household_id,)):
                raise ValueError("you have already booked a session")
            await tx.execute(
                "INSERT INTO portal_bookings (session_id, household_id, booked_at) VALUES (?,?,?)",
                (session_id, household_id, self._t(at)),
            )

    async def cancel_booking(self, household_id: str) -> None:
        await self._db._execute("DELETE FROM portal_bookings WHERE household_id=?", (household_id,))

    async def booking(self, household_id: str) -> InfoSession | None:
        rows = await self._db._fetch(
            "SELECT session_id FROM portal_bookings WHERE household_id=?", (household_id,)
        )
        if not rows:
            return None
        return next((s for s in await self.info_sessions() if s.id == rows[0]["session_id"]), None)

    # -- outbox, skips, VEN provisioning -------------------------------------------------------

    async def enqueue_email(
        self, to_email: str, subject: str, body: str, send_after: datetime, at: datetime
    ) -> None:
        await self._db._execute(
            "INSERT INTO portal_outbox (id, to_email, subject, body, send_after, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (uuid.uuid4().hex, to_email, subject, body, self._t(send_after), self._t(at)),
        )

    async def outbox(self, to_email: str | None = None) -> list[Email]:
        sql = "SELECT * FROM portal_outbox"
        params: tuple[Any, ...] = ()
        if to_email is not None:
            sql, params = sql + " WHERE to_email=?", (to_email,)
        rows = await self._db._fetch(sql + " ORDER BY created_at, id", params)
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
        rows = await self._db._fetch(
            "SELECT * FROM portal_outbox WHERE claimed_at IS NULL AND send_after <= ?"
            " ORDER BY send_after, created_at, id",
            (self._t(due_by),),
        )
        return [self._email(r) for r in rows]

    async def claim_email(self, email_id: str, at: datetime) -> bool:
        """Take a message for sending, before it goes to the SMTP server (at most once); False if
        another sender has it or it is no longer queued."""
        changed = await self._db._execute(
            "UPDATE portal_outbox SET claimed_at=?, attempts=attempts + 1"
            " WHERE id=? AND claimed_at IS NULL AND sent_at IS NULL AND failed_at IS NULL",
            (self._t(at), email_id),
        )
        return changed == 1

    async def mark_sent(self, email_id: str, at: datetime) -> None:
        await self._db._execute(
            "UPDATE portal_outbox SET sent_at=?, last_error=NULL WHERE id=?", (self._t(at), email_id)
        )

    async def mark_failed(self, email_id: str, at: datetime, error: str) -> None:
        """The server refused the message for good: it is not tried again."""
        await self._db._execute(
            "UPDATE portal_outbox SET failed_at=?, last_error=? WHERE id=?",
            (self._t(at), error[:500], email_id),
        )

    async def note_email_error(self, email_id: str, error: str) -> None:
        await self._db._execute("UPDATE portal_outbox SET last_error=? WHERE id=?", (error[:500], email_id))

    async def release_email(self, email_id: str, error: str) -> None:
        """Not handed over (the server was unreachable or said "try later"): queued again."""
        await self._db._execute(
            "UPDATE portal_outbox SET claimed_at=NULL, last_error=? WHERE id=? AND sent_at IS NULL",
            (error[:500], email_id),
        )

    async def add_skip(self, event_id: str, household_id: str, at: datetime, reason: str) -> bool:
        """False if the household had already skipped the event."""
        changed = await self._db._execute(
            "INSERT OR IGNORE INTO portal_skips (event_id, household_id, at, reason) VALUES (?,?,?,?)",
            (event_id, household_id, self._t(at), reason),
        )
        return changed == 1

    async def remove_skip(self, event_id: str, household_id: str) -> None:
        """Undo add_skip (the household's VEN could not be told)."""
        await self._db._execute(
            "DELETE FROM portal_skips WHERE event_id=? AND household_id=?", (event_id, household_id)
        )

    async def skips(self, household_id: str) -> list[Skip]:
        rows = await self._db._fetch(
            "SELECT * FROM portal_skips WHERE household_id=? ORDER BY at", (household_id,)
        )
        return [
            Skip(
                event_id=r["event_id"],
                household_id=r["household_id"],
                at=self._rt(r["at"]),
                reason=r["reason"],
            )
            for r in rows
        ]

    async def provision_ven(
        self, household_id: str, ven_id: str, secret_hash: str, at: datetime, actor: str
    ) -> None:
        await self._db._execute(
            "INSERT INTO portal_vens (household_id, ven_id, secret_hash, provisioned_at, actor)"
            " VALUES (?,?,?,?,?)"
            " ON CONFLICT (household_id) DO UPDATE SET ven_id=excluded.ven_id,"
            " secret_hash=excluded.secret_hash, provisioned_at=excluded.provisioned_at, actor=excluded.actor",
            (household_id, ven_id, secret_hash, self._t(at), actor),
        )

    async def ven_of(self, household_id: str) -> str | None:
        rows = await self._db._fetch("SELECT ven_id FROM portal_vens WHERE household_id=?", (household_id,))
        return rows[0]["ven_id"] if rows else None
