"""Telling each household's agent what it has been paid this month: after a settlement, one retained
message per settled household on its own subtree (topics.payments), `{"month", "total_gbp", "events"}`,
the month-to-date total of its statement (UK month, the household's share). The agent shows it in the
household's Home Assistant (homeflex.ven.ha_discovery); the statement in the portal stays the record.

The VTN process settles, so it sends these as `svc-vtn-oadr3.payments` (homeflex.mqtt.access)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from homeflex.core import topics
from homeflex.core.timeutil import LONDON
from homeflex.ledger.books import household_statement
from homeflex.ledger.statements import Statement
from homeflex.mqtt import MqttUnavailable
from homeflex.storage import Storage

log = logging.getLogger(__name__)
PAYMENTS_PART = "payments"
Publish = Callable[[str, bytes], Awaitable[None]]  # (topic, payload): retained, raises MqttUnavailable


def payments_message(statement: Statement) -> bytes:
    body = {
        "month": statement.month,
        "total_gbp": str(statement.total_gbp),
        "events": len({line.event_id for line in statement.lines}),
    }
    return json.dumps(body, separators=(",", ":")).encode()


async def notify_payments(
    storage: Storage, publish: Publish, household_ids: Iterable[str], now: datetime
) -> int:
    """Each household's month-to-date payments, sent; how many were sent. A broker that does not take
    them is logged, not raised: the settlement stands, and the next one sends the total again."""
    month = now.astimezone(LONDON).strftime("%Y-%m")
    sent = 0
    for household_id in sorted(set(household_ids)):
        statement = await household_statement(storage, household_id, month)
        try:
            await publish(topics.payments(household_id), payments_message(statement))
        except MqttUnavailable as err:
            log.warning("payments of %s not sent to its agent: %s", household_id, err)
            continue
        sent += 1
    return sent
