"""Where OpenADR 3.1 webhooks may go, and how their receiver knows a notification is the VTN's.

A callbackUrl is http or https, and every address it reaches is public: loopback, private, link-local,
shared (CGNAT), multicast and reserved addresses are refused unless they fall in a network the
operator allows (`oadr3_webhook_allow`, e.g. "10.20.0.0/16"). This is checked when a subscription is
created or changed (400 with the reason), and again on every connection: the webhook client resolves
names through `PolicyResolver`, which drops the addresses not allowed, so a name that later resolves
to a loopback address (DNS rebinding) reaches nothing; redirects are not followed.

Every notification is signed (`SIGNATURE_HEADER`):

    X-Homeflex-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>." + body)>

`key` is the SHA-256 digest (32 bytes) of the subscribing client's secret, the secret `homeflex
oadr3-client` printed; `body` is the request's bytes as received. A receiver recomputes it, compares in
constant time and refuses a `t` too far from its clock (`verify`, `REPLAY_TOLERANCE_S`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Homeflex-Signature"
REPLAY_TOLERANCE_S = 300
RESOLVE_TIMEOUT_S = 5.0
SCHEMES = ("http", "https")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebhookRefused(ValueError):
    """A callbackUrl the VTN will not call; the message says why."""


def _embedded(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped or 6to4 IPv6 address (Python 3.11 does not look)."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


@dataclass(frozen=True, kw_only=True)
class WebhookPolicy:
    allowed: tuple[Network, ...] = ()

    @classmethod
    def from_setting(cls, text: str | None) -> WebhookPolicy:
        """`oadr3_webhook_allow`: comma-separated networks (CIDR) or addresses; none: public only."""
        networks, bad = [], []
        for item in (text or "").split(","):
            if item.strip():
                try:
                    networks.append(ipaddress.ip_network(item.strip(), strict=False))
                except ValueError:
                    bad.append(item.strip())
        if bad:
            raise ValueError(f"oadr3_webhook_allow: {', '.join(bad)} not networks (e.g. 10.20.0.0/16)")
        return cls(allowed=tuple(networks))

    def address_refusal(self, address: Address) -> str | None:
        inner = _embedded(address)
        if any(inner in n or address in n for n in self.allowed):
            return None
        if inner.is_global and not inner.is_multicast:
            return None
        return f"{address} is not a public address (loopback, private, link-local or reserved)"

    def url_refusal(self, url: str) -> str | None:
        """Why `url` is refused by its form alone (scheme, host, an address literal), or None."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a port that is no number
        except ValueError as err:
            return f"callbackUrl {url!r} cannot be read: {err}"
        if parts.scheme.lower() not in SCHEMES:
            return f"callbackUrl {url!r}: only http and https are called"
        if not parts.hostname:
            return f"callbackUrl {url!r} names no host"
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            return None  # a name: its addresses are checked when it is resolved
        refusal = self.address_refusal(address)
        return f"callbackUrl {url!r}: {refusal}" if refusal else None

    async def check(self, url: str) -> None:
        """WebhookRefused unless `url` is well formed and every address it resolves to now is allowed."""
        refusal = self.url_refusal(url)
        if refusal:
            raise WebhookRefused(refusal)
        host = urlsplit(url).hostname or ""
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                found = await asyncio.get_running_loop().getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, TimeoutError) as err:
            reason = str(err) or "timed out"
            raise WebhookRefused(f"callbackUrl {url!r}: {host} does not resolve ({reason})") from err
        for *_, sockaddr in found:
            refusal = self.address_refusal(ipaddress.ip_address(sockaddr[0]))
            if refusal:
                raise WebhookRefused(f"callbackUrl {url!r}: {host} resolves to {refusal}")


class PolicyResolver(AbstractResolver):
    """The webhook client's resolver: only the addresses the policy allows are ever connected to."""

    def __init__(self, policy: WebhookPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        refusals = {r["host"]: self.policy.address_refusal(ipaddress.ip_address(r["host"])) for r in found}
        dropped = [why for why in refusals.values() if why]
        if dropped:  # aiohttp's connection error would not say why
            log.warning("webhook host %s: not connecting to %s", host, "; ".join(dropped))
        kept = [r for r in found if not refusals[r["host"]]]
        if not kept:
            raise OSError(f"webhook host {host} resolves only to addresses that are not allowed")
        return kept

    async def close(self) -> None:
        await self.inner.close()


def signing_key(secret_sha256: str) -> bytes:
    """The HMAC key from a client's stored secret hash: SHA-256 of the secret, as the client computes it."""
    return bytes.fromhex(secret_sha256)


def sign(key: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: float) -> bool:
    """A receiver's check of `SIGNATURE_HEADER` with its client secret."""
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > REPLAY_TOLERANCE_S:
        return False
    expected = sign(hashlib.sha256(secret.encode()).digest(), body, timestamp)
    return hmac.compare_digest(expected.rpartition("v1=")[2], fields.get("v1", ""))
