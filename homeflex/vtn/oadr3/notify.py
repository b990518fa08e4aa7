"""Notifications of object operations: MQTT (VEN-scoped topics) and webhooks (subscription callbacks).

An event notified to N VENs is N publishes, one on each VEN's own topic, each carrying only that VEN in
the event's targets; the JSON is built once and the VEN id spliced in, and all of them go out as one burst
on one connection (burst.py), so the cost per VEN is a string join and a packet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

import aiohttp

from homeflex.core.clock import Clock
from homeflex.mqtt.burst import publish_burst
from homeflex.mqtt.session import MqttEndpoint, MqttUnavailable
from homeflex.storage.oadr3 import Oadr3Store
from homeflex.storage.records import Oadr3Client
from homeflex.vtn.oadr3.access import may_see, own_vens
from homeflex.vtn.oadr3.model import Topics, notification
from homeflex.vtn.oadr3.webhooks import SIGNATURE_HEADER, WebhookPolicy, sign, signing_key
from homeflex.vtn.openadr import household_of

log = logging.getLogger(__name__)
PLURAL = {
    "PROGRAM": "programs",
    "EVENT": "events",
    "REPORT": "reports",
    "SUBSCRIPTION": "subscriptions",
    "VEN": "vens",
    "RESOURCE": "resources",
}
_MARK = "\x00ven\x00"
WEBHOOK_TIMEOUT = aiohttp.ClientTimeout(total=5)
BUILD_SLICE = 1_000  # VENs' messages built between two turns of the event loop


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def per_ven_messages(
    object_type: str, operation: str, obj: dict[str, Any], ven_ids: Sequence[str]
) -> list[str]:
    """One message per VEN, the object's targets narrowed to that VEN (built once, spliced per VEN)."""
    parts = _dumps(notification(object_type, operation, {**obj, "targets": [_MARK]})).split(_dumps(_MARK))
    return [_dumps(v).join(parts) for v in ven_ids]


class Notifier:
    def __init__(
        self,
        storage: Oadr3Store,
        topics: Topics,
        mqtt: MqttEndpoint | None,
        http: aiohttp.ClientSession | None,
        *,
        clock: Clock,
        webhooks: WebhookPolicy,
        qos: int = 1,
    ) -> None:
        self.storage = storage
        self.clock = clock  # the signature's timestamp
        self.webhooks = webhooks
        self.topics = topics
        self.mqtt = mqtt
        self.http = http
        self.qos = qos
        self._in_order = asyncio.Lock()  # FIFO: a cancellation never overtakes the creation it follows

    async def _publish_all(self, burst: Sequence[tuple[str, bytes]]) -> int:
        assert self.mqtt is not None
        try:
            return await publish_burst(
                self.mqtt, burst, client_id=f"homeflex-vtn-oadr3-{secrets.token_hex(4)}", qos=self.qos
            )
        except MqttUnavailable as err:
            log.warning("MQTT notification of %d messages not sent: %s", len(burst), err)
            return 0

    async def _messages(
        self, object_type: str, operation: str, obj: dict[str, Any], ven_ids: Sequence[str]
    ) -> list[tuple[str, bytes]]:
        """The all-objects topic (BL), the program's topic for events, and each VEN's own topic."""
        plural, op = PLURAL[object_type], operation.lower()
        full = _dumps(notification(object_type, operation, obj)).encode()
        messages = [(f"{self.topics.base(plural)}/{op}", full)]
        if object_type == "EVENT":
            messages.append((f"{self.topics.for_program(plural, obj['programID'])}/{op}", full))
        if object_type not in ("EVENT", "RESOURCE", "VEN"):
            return messages
        # A slice at a time, letting the event loop run between: 10,000 VENs' messages built at once
        # would hold up the VTN's other requests for tens of ms.
        for first in range(0, len(ven_ids), BUILD_SLICE):
            part = ven_ids[first : first + BUILD_SLICE]
            bodies = (
                [b.encode() for b in per_ven_messages(object_type, operation, obj, part)]
                if object_type == "EVENT"
                else [full] * len(part)
            )
            topics = [f"{self.topics.for_ven(plural, ven_id)}/{op}" for ven_id in part]
            messages += zip(topics, bodies, strict=True)
            await asyncio.sleep(0)
        return messages

    async def notify(
        self,
        object_type: str,
        operation: str,
        obj: dict[str, Any],
        *,
        ven_ids: Sequence[str] = (),
        owner: str | None = None,
    ) -> int:
        """Publish on the all-objects topic (BL), the program's topic for events, and each VEN's own
        topic; then call the matching webhooks. Returns the MQTT messages sent."""
        sent = 0
        if self.mqtt is not None:
            async with self._in_order:  # building and sending both: a later, smaller one waits its turn
                sent = await self._publish_all(await self._messages(object_type, operation, obj, ven_ids))
        await self._webhooks(object_type, operation, obj, set(ven_ids), owner)
        return sent

    async def _webhooks(
        self, object_type: str, operation: str, obj: dict[str, Any], ven_ids: set[str], owner: str | None
    ) -> None:
        if self.http is None:
            return
        calls = []
        for sub in await self.storage.list_oadr3_objects("SUBSCRIPTION"):
            doc = sub.document
            if doc.get("programID") and obj.get("programID", obj.get("id")) != doc["programID"]:
                continue
            client = await self.storage.get_oadr3_client(sub.client_id)
            if client is None:
                continue
            visible = await self._visible_targets(client, object_type, obj, ven_ids, owner)
            if visible is None:
                continue
            if doc.get("targets") and not set(doc["targets"]) & set(visible or obj.get("targets") or []):
                continue
            body = notification(object_type, operation, {**obj, "targets": visible} if visible else obj)
            key = signing_key(client.secret_sha256)
            for entry in doc["objectOperations"]:
                if object_type in entry["objects"] and operation in entry["operations"]:
                    calls.append(self._post(entry["callbackUrl"], entry.get("bearerToken"), body, key))
        await asyncio.gather(*calls)

    async def _visible_targets(
        self, client: Oadr3Client, object_type: str, obj: dict[str, Any], ven_ids: set[str], owner: str | None
    ) -> list[str] | None:
        """None: the subscriber may not see this object; else the targets it may see ([] = untargeted)."""
        if client.role == "bl" or object_type == "PROGRAM":
            return list(obj.get("targets") or [])
        if object_type == "EVENT":
            own = await own_vens(self.storage, client.client_id, client.role) or set()
            return sorted(own & ven_ids) or None
        # VENs and resources by the VEN the client is bound to, whether it still exists or not: a VEN's
        # deletion is notified after the VEN is gone.
        name = household_of(client.client_id)
        bound = {name} if name else set()
        return [] if may_see(bound, client.client_id, object_type, {**obj, "clientID": owner}) else None

    async def _post(self, url: str, token: str | None, note: dict[str, Any], key: bytes) -> None:
        """POST the notification, signed (webhooks.py); an address the policy refuses is not called."""
        assert self.http is not None
        refusal = self.webhooks.url_refusal(url)
        if refusal is not None:
            log.warning("webhook not called: %s", refusal)
            return
        body = _dumps(note).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(key, body, int(self.clock.now().timestamp())),
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self.http.post(
                url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT, allow_redirects=False
            ) as r:
                if r.status >= 300:
                    log.warning("webhook %s answered %s", url, r.status)
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            log.warning("webhook %s failed: %s", url, err)
