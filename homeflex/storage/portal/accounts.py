"""Accounts, sessions and single-use links (only hashes of tokens are stored)."""

from __future__ import annotations

from datetime import datetime

from homeflex.core.customer import Role
from homeflex.storage.errors import DuplicateKey
from homeflex.storage.portal.base import StoreBase
from homeflex.storage.portal.records import Account, TokenError


class AccountStore(StoreBase):
    async def create_account(
        self, email: str, role: Role, household_id: str | None, password_hash: str, at: datetime
    ) -> None:
        if await self.account(email) is not None:
            raise ValueError(f"an account for {email} exists already")
        try:
            await self._db.execute(
                "INSERT INTO portal_accounts (email, role, household_id, password_hash, created_at)"
                " VALUES (?,?,?,?,?)",
                (email, role.value, household_id, password_hash, self._t(at)),
            )
        except DuplicateKey as err:
            raise ValueError(f"an account for {email} exists already") from err

    async def account(self, email: str) -> Account | None:
        rows = await self._db.fetch("SELECT * FROM portal_accounts WHERE email=?", (email,))
        if not rows:
            return None
        r = rows[0]
        return Account(
            email=r["email"],
            role=Role(r["role"]),
            household_id=r["household_id"],
            password_hash=r["password_hash"],
        )

    async def accounts(self, role: Role) -> list[Account]:
        rows = await self._db.fetch(
            "SELECT * FROM portal_accounts WHERE role=? ORDER BY email", (role.value,)
        )
        return [
            Account(
                email=r["email"],
                role=Role(r["role"]),
                household_id=r["household_id"],
                password_hash=r["password_hash"],
            )
            for r in rows
        ]

    async def set_password(self, email: str, password_hash: str) -> None:
        """A new password also ends every session of the account."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE portal_accounts SET password_hash=? WHERE email=?", (password_hash, email)
            )
            await tx.execute("DELETE FROM portal_sessions WHERE email=?", (email,))

    async def create_session(
        self, token_hash: str, email: str, csrf: str, at: datetime, expires_at: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO portal_sessions (token_hash, email, csrf, created_at, expires_at)"
            " VALUES (?,?,?,?,?)",
            (token_hash, email, csrf, self._t(at), self._t(expires_at)),
        )

    async def session(self, token_hash: str, now: datetime) -> tuple[Account, str] | None:
        """The session's account and CSRF token, if it has not expired."""
        rows = await self._db.fetch(
            "SELECT email, csrf, expires_at FROM portal_sessions WHERE token_hash=?", (token_hash,)
        )
        if not rows or self._rt(rows[0]["expires_at"]) <= now:
            return None
        account = await self.account(rows[0]["email"])
        return (account, rows[0]["csrf"]) if account else None

    async def end_session(self, token_hash: str) -> None:
        await self._db.execute("DELETE FROM portal_sessions WHERE token_hash=?", (token_hash,))

    async def create_token(
        self,
        kind: str,
        token_hash: str,
        email: str,
        household_id: str | None,
        at: datetime,
        expires_at: datetime,
    ) -> None:
        await self._db.execute(
            "INSERT INTO portal_tokens (token_hash, kind, email, household_id, created_at, expires_at)"
            " VALUES (?,?,?,?,?,?)",
            (token_hash, kind, email, household_id, self._t(at), self._t(expires_at)),
        )

    async def peek_token(self, kind: str, token_hash: str, now: datetime) -> tuple[str, str | None]:
        """(email, household) of a usable link; TokenError says why it is not usable."""
        rows = await self._db.fetch(
            "SELECT email, household_id, expires_at, used_at FROM portal_tokens"
            " WHERE token_hash=? AND kind=?",
            (token_hash, kind),
        )
        if not rows:
            raise TokenError("this link is not valid")
        r = rows[0]
        if r["used_at"]:
            raise TokenError("this link has already been used")
        if self._rt(r["expires_at"]) <= now:
            raise TokenError("this link has expired: ask for a new one")
        return r["email"], r["household_id"]

    async def use_token(self, kind: str, token_hash: str, now: datetime) -> tuple[str, str | None]:
        """Mark a single-use link used (exactly once, even with concurrent requests)."""
        found = await self.peek_token(kind, token_hash, now)
        if kind == "applicant":
            return found  # the applicant's link stays valid until it expires
        changed = await self._db.execute(
            "UPDATE portal_tokens SET used_at=? WHERE token_hash=? AND used_at IS NULL",
            (self._t(now), token_hash),
        )
        if changed != 1:
            raise TokenError("this link has already been used")
        return found
