"""What the VTN trusts, decided from the settings before it serves.

OpenADR 2.0b without TLS believes any venID it is sent: whoever reaches the VTN can poll as another
household, register it again and change its opt answer. The operator API without `api_token` lets
whoever reaches it enrol households and create events (over TLS, any VEN certificate from the CA
would do). Either is allowed only as an explicit choice (`allow_insecure_openadr`, `allow_open_api`:
the demo, the tests, a network the operator trusts) and announced with a warning at start, as are
the networks OpenADR 3.1 webhooks may reach although not public (`oadr3_webhook_allow`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from homeflex.settings import Settings
from homeflex.vtn.oadr3.webhooks import WebhookPolicy
from homeflex.vtn.tls import VtnTls, tls_from_settings

log = logging.getLogger(__name__)

INSECURE_OPENADR = (
    "OpenADR 2.0b without TLS: any client that reaches the VTN can act as any household "
    "(poll, register, answer events)"
)
TLS_REMEDY = (
    "Set vtn_tls_cert, vtn_tls_key and vtn_tls_ca (files from `homeflex provision-vens`), "
    "or allow_insecure_openadr = true (HOMEFLEX_ALLOW_INSECURE_OPENADR=1) to run without TLS"
)
OPEN_API = (
    "the operator API without api_token: any client that reaches it can enrol households and create events"
)
API_REMEDY = "Set api_token (HOMEFLEX_API_TOKEN), or allow_open_api = true (HOMEFLEX_ALLOW_OPEN_API=1)"


class InsecureSettings(ValueError):
    """The settings would serve without TLS or without an API token, and do not say that is wanted."""


@dataclass(frozen=True, kw_only=True)
class Posture:
    tls: VtnTls | None
    api_token: str | None
    webhooks: WebhookPolicy = field(default_factory=WebhookPolicy)
    warnings: tuple[str, ...]

    def announce(self) -> None:
        for warning in self.warnings:
            log.warning("explicitly allowed: %s", warning)


def posture(settings: Settings) -> Posture:
    """The VTN's TLS and API token from `settings`; InsecureSettings when one is missing without the
    setting that allows it, naming both ways out."""
    tls = tls_from_settings(settings.vtn_tls_cert, settings.vtn_tls_key, settings.vtn_tls_ca)
    checks = (  # (what is missing, whether that is allowed, the risk, the ways out)
        (tls is None, settings.allow_insecure_openadr, INSECURE_OPENADR, TLS_REMEDY),
        (not settings.api_token, settings.allow_open_api, OPEN_API, API_REMEDY),
    )
    missing = [(allowed, risk, remedy) for lacking, allowed, risk, remedy in checks if lacking]
    refused = [f"{risk}. {remedy}" for allowed, risk, remedy in missing if not allowed]
    if refused:
        raise InsecureSettings("refusing to start: " + "; ".join(refused))
    webhooks = WebhookPolicy.from_setting(settings.oadr3_webhook_allow)
    warnings = tuple(risk for _, risk, _ in missing)
    if webhooks.allowed:
        networks = ", ".join(str(n) for n in webhooks.allowed)
        warnings += (f"OpenADR 3.1 webhooks to addresses that are not public, in {networks}",)
    return Posture(tls=tls, api_token=settings.api_token or None, webhooks=webhooks, warnings=warnings)


def loopback_only() -> Posture:
    """The choice of a VTN that only its own machine reaches (the demo): neither TLS nor an API token."""
    return Posture(tls=None, api_token=None, warnings=(INSECURE_OPENADR, OPEN_API))
