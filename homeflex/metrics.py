"""Prometheus metrics for the VTN, meter ingestion (metering.ingest), settlement; the /metrics handler."""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

READINGS_STORED = Counter("homeflex_readings_stored", "Meter readings stored")
READINGS_DUPLICATE = Counter("homeflex_readings_duplicate", "Meter readings already stored (ignored)")
READINGS_REJECTED = Counter("homeflex_readings_rejected", "Meter readings rejected, by reason", ["reason"])
INGESTION_LAG = Histogram(
    "homeflex_ingestion_lag_seconds",
    "Time from a reading being measured to being received",
    buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600, 86400),
)
EVENTS = Counter("homeflex_events", "DSO events, by action", ["action"])
OPT_RESPONSES = Counter("homeflex_opt_responses", "VEN opt responses, by opt type", ["opt_type"])
VEN_REGISTRATIONS = Counter("homeflex_ven_registrations", "VEN registrations accepted")
POLLS = Counter("homeflex_openadr_polls", "OpenADR oadrPoll requests answered")
DELIVERED_KWH = Counter("homeflex_delivered_kwh", "Delivered energy settled (first versions)")
PAYMENTS_GBP = Counter("homeflex_payments_gbp", "Payments settled, GBP, by kind", ["kind"])


def record_payment(amount: Decimal, *, first_version: bool) -> None:
    """Settlement amounts; later versions are adjustments, counted by direction."""
    if first_version:
        PAYMENTS_GBP.labels("payment").inc(float(amount))
    elif amount > 0:
        PAYMENTS_GBP.labels("adjustment_up").inc(float(amount))
    elif amount < 0:
        PAYMENTS_GBP.labels("adjustment_down").inc(float(-amount))


async def metrics_handler(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})
