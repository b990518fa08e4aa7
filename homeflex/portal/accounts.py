"""Portal actions for access: the invite, accounts, log in and out, password reset."""

from __future__ import annotations

from datetime import datetime

from homeflex.portal import auth
from homeflex.portal.base import EMAIL, ActionError, LoginError, PortalBase, Session
from homeflex.portal.journey import Role, Step, transition
from homeflex.storage.portal import Account, Customer


class AccountActions(PortalBase):
    async def invite(self, c: Customer, actor: str) -> str:
        c = await self._move(c, Step.INVITED, actor, Role.OPERATOR, reason="invited to the portal")
        token = auth.new_token()
        now = self.clock.now()
        await self.store.create_token(
            "invite", auth.token_hash(token), c.email, c.household_id, now, now + self.config.invite_ttl
        )
        await self._mail(
            c.email,
            "Your invitation to the homeflex portal",
            f"Create your account (this link works once, for 7 days): {self.config.base_url}/invite/{token}",
        )
        return token

    async def _new_password_link(
        self, kind: str, token: str, password: str, now: datetime
    ) -> tuple[str, str | None]:
        """The (email, household id) of a link that sets a password, if the link and the password are
        both good; the link is not used up here, so a refused password leaves it working."""
        email, household_id = await self.store.peek_token(kind, auth.token_hash(token), now)
        problem = auth.password_problem(password, email)
        if problem:
            raise ActionError(problem)
        return email, household_id

    async def accept_invite(self, token: str, password: str) -> Session:
        now = self.clock.now()
        email, household_id = await self._new_password_link("invite", token, password, now)
        assert household_id is not None
        c = await self.customer(household_id)
        transition(c.state, Step.ACCOUNT, actor=email, role=Role.PUBLIC, at=now)  # refuse before using
        await self.store.use_token("invite", auth.token_hash(token), now)
        await self.store.create_account(
            email, Role.HOUSEHOLDER, household_id, auth.hash_password(password), now
        )
        await self._move(c, Step.ACCOUNT, email, Role.PUBLIC, reason="account created")
        account = await self.store.account(email)
        assert account is not None
        return await self._session(account)

    async def _session(self, account: Account) -> Session:
        token, csrf, now = auth.new_token(), auth.new_token(), self.clock.now()
        await self.store.create_session(
            auth.token_hash(token), account.email, csrf, now, now + self.config.session_ttl
        )
        return Session(token=token, csrf=csrf, account=account)

    async def login(self, email: str, password: str, client: str) -> Session:
        email, now = email.strip().lower(), self.clock.now()
        if self.limits.blocked(email, client, now):
            raise LoginError("too many failed attempts: wait 15 minutes and try again")
        account = await self.store.account(email)
        if not auth.verify_login(account.password_hash if account else None, password):
            self.limits.failed(email, client, now)
            raise LoginError("wrong email or password")
        assert account is not None
        self.limits.succeeded(email, client)
        return await self._session(account)

    async def logout(self, token: str) -> None:
        await self.store.end_session(auth.token_hash(token))

    async def request_reset(self, email: str) -> None:
        """Sends a reset link if the account exists; says nothing either way (no account probing)."""
        account = await self.store.account(email.strip().lower())
        if account is None:
            return
        token, now = auth.new_token(), self.clock.now()
        await self.store.create_token(
            "reset",
            auth.token_hash(token),
            account.email,
            account.household_id,
            now,
            now + self.config.reset_ttl,
        )
        await self._mail(
            account.email,
            "Reset your homeflex password",
            f"Choose a new password (this link works once, for an hour): "
            f"{self.config.base_url}/reset/{token}",
            at=now,
        )

    async def reset_password(self, token: str, password: str) -> None:
        now = self.clock.now()
        email, _ = await self._new_password_link("reset", token, password, now)
        await self.store.use_token("reset", auth.token_hash(token), now)
        await self.store.set_password(email, auth.hash_password(password))

    async def create_account(self, email: str, role: Role, password: str) -> None:
        """Operator and installer accounts (the CLI and the console create them)."""
        email = email.strip().lower()
        if not EMAIL.fullmatch(email):
            raise ActionError("enter a valid email address")
        problem = auth.password_problem(password, email)
        if problem:
            raise ActionError(problem)
        try:
            await self.store.create_account(email, role, None, auth.hash_password(password), self.clock.now())
        except ValueError as err:
            raise ActionError(str(err)) from err
