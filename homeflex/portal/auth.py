"""Passwords (argon2), opaque tokens (only their SHA-256 is stored) and the login rate limit."""

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
    """At most `attempts` failed logins per key (email, and client address) in `window`."""

    attempts: int = 5
    window: timedelta = timedelta(minutes=15)
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def blocked(self, key: str, now: datetime) -> bool:
        q = self._failures.get(key)
        if not q:
            return False
        while q and now - q[0] > self.window:
            q.popleft()
        return len(q) >= self.attempts

    def failed(self, key: str, now: datetime) -> None:
        self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
