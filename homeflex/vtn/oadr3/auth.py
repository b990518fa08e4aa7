"""OAuth2 client credentials for OpenADR 3.1: provisioned clients, signed bearer tokens, scopes per role.

A token is `<base64url JSON claims>.<base64url HMAC-SHA256>` under the VTN's key: checking it needs no
database round trip, and it expires on the injected clock. A VEN client acts for one household's VEN, the
one its id names (`ven-<household>`, as provisioned): it may create, read and change only that VEN and
its resources (homeflex.vtn.oadr3.access). A business-logic (BL) client is the DSO's system and may read
everything and write programs and events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from homeflex.core.clock import Clock
from homeflex.storage.oadr3 import Oadr3Store
from homeflex.storage.records import Oadr3Client
from homeflex.vtn.openadr import VEN_PREFIX, household_of

ROLE_SCOPES = {
    "ven": ("read_targets", "read_ven_objects", "write_reports", "write_subscriptions", "write_vens"),
    "bl": (
        "read_all",
        "read_bl",
        "read_targets",
        "read_ven_objects",
        "write_programs",
        "write_events",
        "write_subscriptions",
        "write_vens",
    ),
}
TOKEN_LIFETIME_S = 3600


class AuthError(Exception):
    """A token request or bearer token is refused; `error` is the RFC 6749 code."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


@dataclass(frozen=True, kw_only=True)
class Principal:
    client_id: str
    role: str  # 'ven' | 'bl'
    scopes: frozenset[str]

    @property
    def is_bl(self) -> bool:
        return self.role == "bl"

    @property
    def ven_name(self) -> str | None:
        """The one VEN a VEN client acts for (its id is `ven-<venName>`); None for business logic."""
        return None if self.is_bl else household_of(self.client_id)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    def __init__(self, key: bytes, clock: Clock, lifetime_s: int = TOKEN_LIFETIME_S) -> None:
        self._key = key
        self._clock = clock
        self._lifetime_s = lifetime_s

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, client: Oadr3Client, secret: str, requested: str | None) -> dict[str, object]:
        """The token response for a client that presented `secret`; AuthError otherwise."""
        if not hmac.compare_digest(hash_secret(secret), client.secret_sha256):
            raise AuthError("invalid_client", "unknown client or wrong secret")
        allowed = ROLE_SCOPES[client.role]
        scopes = tuple(requested.split()) if requested else allowed
        refused = sorted(set(scopes) - set(allowed))
        if refused:
            raise AuthError("invalid_scope", f"a {client.role} client may not have {', '.join(refused)}")
        expires = int(self._clock.now().timestamp()) + self._lifetime_s
        claims = {"sub": client.client_id, "role": client.role, "scope": " ".join(scopes), "exp": expires}
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return {
            "access_token": f"{body}.{self._sign(body)}",
            "token_type": "Bearer",
            "expires_in": self._lifetime_s,
            "scope": " ".join(scopes),
        }

    def verify(self, token: str) -> Principal:
        body, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(self._sign(body), signature):
            raise AuthError("invalid_token", "the bearer token is not one this VTN issued")
        try:
            claims = json.loads(_unb64(body))
        except ValueError as err:
            raise AuthError("invalid_token", "the bearer token cannot be read") from err
        if claims["exp"] <= self._clock.now().timestamp():
            raise AuthError("invalid_token", "the bearer token has expired: fetch a new one")
        return Principal(
            client_id=claims["sub"], role=claims["role"], scopes=frozenset(claims["scope"].split())
        )


async def provision_client(storage: Oadr3Store, clock: Clock, client_id: str, role: str) -> str:
    """Create (or re-key) a client; returns its new secret, which is stored only as a hash."""
    if role not in ROLE_SCOPES:
        raise ValueError(f"role must be one of {', '.join(ROLE_SCOPES)}, got {role!r}")
    if not client_id or len(client_id) > 128:
        raise ValueError("a client id has 1 to 128 characters")
    if role == "ven" and household_of(client_id) is None:
        raise ValueError(f"a VEN client's id is {VEN_PREFIX}<household id>: the VEN it may act for")
    secret = secrets.token_urlsafe(24)
    await storage.save_oadr3_client(
        Oadr3Client(client_id=client_id, secret_sha256=hash_secret(secret), role=role), clock.now()
    )
    return secret
