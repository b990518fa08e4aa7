"""Passwords (argon2), opaque tokens (only their SHA-256 is stored) and the login throttle."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Modest cost: the portal shares two cores with the whole platform; still memory-hard.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, email: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return f"use at least {MIN_PASSWORD} characters"
    if password.lower() == email.lower():
        return "the password must not be your email address"
    return None


def new_token() -> str:
    """An unguessable token for a link or cookie; store only token_hash(token)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass
class RateLimit:
    """At most `attempts` failed logins per key in `window`; at most `max_keys` keys are remembered
    (the oldest are forgotten first), so a flood of made-up keys cannot fill memory."""

    attempts: int = 5
    window: timedelta = timedelta(minutes=15)
    max_keys: int = 100_000
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def blocked(self, key: str, now: datetime) -> bool:
        q = self._failures.get(key)
        if not q:
            return False
        while q and now - q[0] > self.window:
            q.popleft()
        return len(q) >= self.attempts

    def failed(self, key: str, now: datetime) -> None:
        q = self._failures.pop(key, None) or deque(maxlen=self.attempts)
        q.append(now)
        self._failures[key] = q  # re-inserted: dicts keep order, so the first key is the stalest
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


@dataclass
class LoginThrottle:
    """Failed logins are counted per (account, client address), and per client address over all
    accounts (password spraying), never per account alone: wrong passwords sent from elsewhere cannot
    lock the operator out of their own desk."""

    per_account_client: RateLimit = field(default_factory=RateLimit)
    per_client: RateLimit = field(default_factory=lambda: RateLimit(attempts=30))

    def blocked(self, email: str, client: str, now: datetime) -> bool:
        return self.per_account_client.blocked(f"{email}\n{client}", now) or self.per_client.blocked(
            client, now
        )

    def failed(self, email: str, client: str, now: datetime) -> None:
        self.per_account_client.failed(f"{email}\n{client}", now)
        self.per_client.failed(client, now)

    def succeeded(self, email: str, client: str) -> None:
        self.per_account_client.succeeded(f"{email}\n{client}")


_DUMMY_HASH: list[str] = []  # made on first use: importing the portal should not cost a hash


def verify_login(stored_hash: str | None, password: str) -> bool:
    """The password check for a login; an unknown account (None) costs the same argon2 verification
    against a dummy hash, so the time to answer does not tell whether the email has an account."""
    if stored_hash is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
        verify_password(_DUMMY_HASH[0], password)
        return False
    return verify_password(stored_hash, password)
