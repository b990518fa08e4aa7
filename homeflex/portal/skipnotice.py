"""Telling the household's VEN which events it sits out: one retained MQTT message on the household's
own subtree (topics.skips) listing its skips of events not yet ended.

Why MQTT and not the VTN: the VEN meets the VTN only over OpenADR 2.0b, which has no VTN-to-VEN
"the customer overrode this" (the VTN has no EiOpt either), and the operator API is the operator's,
not the VEN's. The household's control loop already holds an MQTT session on its subtree; a retained
message reaches a VEN that is offline now when it comes back, and a broker reconnect re-delivers it.
The whole list is sent each time, so the latest message is the household's full answer."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from homeflex.core.timeutil import iso
from homeflex.mqtt import MqttSession


class SkipRecord(Protocol):
    @property
    def event_id(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def at(self) -> datetime: ...


def skips_message(skips: Iterable[SkipRecord], ends: Mapping[str, datetime], now: datetime) -> bytes:
    """The retained payload (pure): skips whose event is known and has not ended, oldest first."""
    live = [s for s in skips if s.event_id in ends and ends[s.event_id] > now]
    body = {
        "skips": [
            {"event_id": s.event_id, "reason": s.reason, "at": iso(s.at)}
            for s in sorted(live, key=lambda s: (s.at, s.event_id))
        ]
    }
    return json.dumps(body, separators=(",", ":")).encode()


class RetainedPublisher(Protocol):
    """Sends a retained message on a household's own subtree (its skips, its configuration)."""

    async def publish(self, topic: str, payload: bytes) -> None:
        """Raise homeflex.mqtt.MqttUnavailable when the broker does not take it."""


class MqttRetainedPublisher:
    """A short-lived session per message (skips and profile changes are rare): connect, publish
    retained at QoS 1, leave. The URL's user needs write access to `homeflex/v1/+/skips` and
    `homeflex/v1/+/config` on the broker."""

    def __init__(self, mqtt_url: str, timeout_s: float = 10.0) -> None:
        self.mqtt_url = mqtt_url
        self.timeout_s = timeout_s
        # One session at a time: on the platform's broker they all log in as svc-portal.skips, whose
        # username is the client id (mqtt/access.py), so two at once would disconnect each other.
        self._one_at_a_time = asyncio.Lock()

    async def publish(self, topic: str, payload: bytes) -> None:
        session = MqttSession(self.mqtt_url, f"portal-{uuid.uuid4().hex[:12]}", part="skips")
        async with self._one_at_a_time, session:
            await session.publish(topic, payload, qos=1, retain=True, timeout=self.timeout_s)
