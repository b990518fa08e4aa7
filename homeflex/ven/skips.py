"""The household's own overrides: events it sits out, as the portal publishes them (retained) on the
household's `skips` topic (homeflex.core.topics). Pure parsing; the VEN acts on the result."""

from __future__ import annotations

import json
from typing import Any

CUSTOMER_OVERRIDE = "customer override"


def parse_skips(payload: bytes) -> dict[str, str]:
    """{event_id: reason} from `{"skips": [{"event_id", "reason"?, ...}, ...]}`; an empty payload (the
    retained message cleared) is no skips. ValueError for anything else, so a bad message changes
    nothing."""
    if not payload:
        return {}
    try:
        body: Any = json.loads(payload)
    except (ValueError, RecursionError) as err:  # RecursionError: nested past Python's limit
        raise ValueError(f"skips are not JSON: {err}") from err
    items = body.get("skips") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ValueError('skips must be {"skips": [...]}')
    out: dict[str, str] = {}
    for item in items:
        event_id = item.get("event_id") if isinstance(item, dict) else None
        if not isinstance(event_id, str) or not event_id:
            raise ValueError(f"a skip without an event_id: {item!r}")
        reason = item.get("reason") or CUSTOMER_OVERRIDE
        out[event_id] = str(reason)
    return out


def with_skips(payload: bytes, wanted: list[dict[str, str]]) -> bytes | None:
    """The retained skips message with every skip in `wanted` (`{"event_id", "reason", "at"}`) that it
    lacks added after the ones it has, kept as they are; None when it has them all (nothing to send).
    The household's other way to skip (its Home Assistant) sends this on the same topic, so the VEN
    takes both alike; an unreadable message counts as no skips, as the VEN reads it."""
    try:
        body: Any = json.loads(payload) if payload else {"skips": []}
    except (ValueError, RecursionError):
        body = {"skips": []}
    items = body.get("skips") if isinstance(body, dict) else None
    # as parse_skips reads them: a skip whose event id is not a string is none
    kept = (
        [i for i in items if isinstance(i, dict) and isinstance(i.get("event_id"), str)]
        if isinstance(items, list)
        else []
    )
    have = {i.get("event_id") for i in kept}
    added = [w for w in wanted if w["event_id"] not in have]
    if not added:
        return None
    return json.dumps({"skips": [*kept, *added]}, separators=(",", ":")).encode()
