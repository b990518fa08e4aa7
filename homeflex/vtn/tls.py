"""OpenADR over mutual TLS with signed messages, on the VTN side.

openleadr checks, per message: the client certificate's fingerprint against `ven_lookup`, the XML
signer's certificate against the same fingerprint, the XMLDSig signature and the ReplayProtect
timestamp. Two gaps are closed here:
- a registration is accepted only from the certificate provisioned for that household
  (`registration_refusal`); openleadr leaves that check to the handler;
- a VEN whose clock is off by more than openleadr's 5 s gets a clear "clock skew" error: openleadr
  reports a timestamp too old as a signature mismatch, and one in the future passes unchecked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openleadr import errors, utils
from openleadr import messaging as oadr_messaging
from openleadr.service import vtn_service

from homeflex.core.clock import Clock

log = logging.getLogger(__name__)

REPLAY_TOLERANCE = oadr_messaging.REPLAY_PROTECT_MAX_TIME_DELTA  # 5 s in openleadr 0.5.36
_NS = "{http://openadr.org/oadr-2.0b/2012/07/xmldsig-properties}"


@dataclass(frozen=True, kw_only=True)
class VtnTls:
    """The VTN's certificate and key (TLS and message signing) and the CA its VENs' certificates come from."""

    cert: Path
    key: Path
    ca: Path

    def server_options(self) -> dict[str, Any]:
        """Keyword arguments for openleadr's OpenADRServer. All three HTTP files are needed: without
        any of them openleadr silently serves plain HTTP."""
        for path in (self.cert, self.key, self.ca):
            if not path.is_file():
                raise FileNotFoundError(f"TLS file {path} not found")
        return {
            "cert": str(self.cert),
            "key": str(self.key),
            "http_cert": str(self.cert),
            "http_key": str(self.key),
            "http_ca_file": str(self.ca),
        }


def registration_refusal(payload: dict[str, Any], provisioned: str | None) -> str | None:
    """Why a registration must be refused, or None. Over TLS, openleadr adds the client certificate's
    fingerprint to the payload; it must be the one provisioned for the household."""
    if "fingerprint" not in payload:
        return None  # plain HTTP (tests, demo): nothing to check
    if provisioned is None:
        return "no VEN certificate was provisioned for this household"
    if payload["fingerprint"] != provisioned:
        return f"certificate {payload['fingerprint']} is not the one provisioned ({provisioned})"
    return None


def clock_skew(tree: Any, now: datetime) -> timedelta | None:
    """How far the message's ReplayProtect timestamp is from `now`, if beyond the tolerance."""
    raw = tree.findtext(f".//{_NS}timestamp")
    if raw is None:
        return None  # unsigned or malformed: openleadr's own checks answer that
    try:
        signed_at = utils.parse_datetime(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(signed_at, datetime) or signed_at.tzinfo is None:
        return None
    skew = signed_at - now
    return skew if abs(skew) > REPLAY_TOLERANCE else None


Authenticate = Callable[..., Awaitable[None]]


def check_clocks(clock: Clock) -> None:
    """Put the clock-skew check in front of openleadr's message authentication (this process's VTN;
    openleadr allows one VTN per process, shared/domain/openadr.md §6)."""
    inner: Authenticate = getattr(vtn_service.authenticate_message, "__wrapped__", None) or (
        vtn_service.authenticate_message
    )

    async def authenticate(request: Any, tree: Any, payload: dict[str, Any], **kwargs: Any) -> None:
        if request.secure:
            skew = clock_skew(tree, clock.now())
            if skew is not None:
                seconds = skew.total_seconds()
                message = (
                    f"clock skew: the message was signed {abs(seconds):.0f} s "
                    f"{'ahead of' if seconds > 0 else 'behind'} the VTN's clock; at most "
                    f"{REPLAY_TOLERANCE.total_seconds():.0f} s is allowed. Synchronise the VEN's clock (NTP)."
                )
                log.warning("%s refused: %s", payload.get("ven_id"), message)
                raise errors.NotRegisteredOrAuthorizedError(message)
        await inner(request, tree, payload, **kwargs)

    authenticate.__wrapped__ = inner  # type: ignore[attr-defined]
    vtn_service.authenticate_message = authenticate


def tls_from_settings(cert: str | None, key: str | None, ca: str | None) -> VtnTls | None:
    """`vtn_tls_cert`, `vtn_tls_key`, `vtn_tls_ca`: all three (TLS on) or none (plain HTTP)."""
    if not (cert or key or ca):
        return None
    if not (cert and key and ca):
        raise ValueError("OpenADR over TLS needs vtn_tls_cert, vtn_tls_key and vtn_tls_ca together")
    return VtnTls(cert=Path(cert), key=Path(key), ca=Path(ca))
