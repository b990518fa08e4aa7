"""MQTT meter readings -> storage, in batches; bad readings are recorded with their reason."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from homeflex import metrics
from homeflex.core import topics
from homeflex.core.clock import Clock
from homeflex.core.domain import MeterReading
from homeflex.metering.validate import ReadingRejected, parse_history, parse_reading
from homeflex.mqtt import MqttSession
from homeflex.storage.households import HouseholdStore
from homeflex.storage.readings import ReadingStore
from homeflex.storage.records import RejectedReading

log = logging.getLogger(__name__)


@dataclass
class IngestCounters:
    received: int = 0  # readings seen (a history message counts each item)
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


class IngestStore(ReadingStore, HouseholdStore, Protocol):
    """Where readings go, and which households are enrolled (a stranger's reading is rejected)."""


class Ingestor:
    """Subscribes to every household's meter topics; flushes when a batch fills or every `flush_s`.

    `persistent=True` makes ingestion lossless across a crash of this process: the broker keeps the
    session and queues readings while it is down, and a reading is acknowledged (QoS 1 PUBACK) only
    after the batch holding it is committed. Unacknowledged readings come again after a restart; storing
    one twice is a no-op. The broker sends at most `max_inflight_messages` (mosquitto: 20) unacknowledged
    messages at a time, so a flush is also due when `ack_window` readings wait for their ack.
    """

    def __init__(
        self,
        storage: IngestStore,
        clock: Clock,
        mqtt_url: str,
        *,
        batch_size: int = 1000,
        flush_s: float = 0.2,
        persistent: bool = False,
        identifier: str | None = None,
        ack_window: int = 20,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.counters = IngestCounters()
        # A persistent session is found again by its client id, so it must be stable; otherwise a unique
        # id keeps two ingestors on one broker from taking each other's connection (and readings).
        if identifier is None:
            identifier = "telemetry-ingest" if persistent else f"telemetry-ingest-{secrets.token_hex(4)}"
        self._session = MqttSession(mqtt_url, identifier, persistent=persistent, part="ingest")
        self._persistent = persistent
        self._ack_window = ack_window
        self._batch_size = batch_size
        self._flush_s = flush_s
        self._pending: list[MeterReading] = []
        self._rejected: list[RejectedReading] = []
        self._known: set[str] = set()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Ingestor:
        self._session.subscribe(topics.READINGS_FILTER, self._on_reading)
        self._session.subscribe(topics.HISTORY_FILTER, self._on_history)
        await self._session.__aenter__()
        self._task = asyncio.get_running_loop().create_task(self._flush_loop())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task:
            self._task.cancel()
        # Store and acknowledge what is in hand while still connected, so the broker forgets it; what
        # arrives while disconnecting is stored after, or (persistent) comes again to the next run.
        await self.flush()
        await self._session.__aexit__(exc_type, exc, tb)
        await self.flush()

    async def _known_household(self, household_id: str) -> bool:
        if household_id not in self._known and await self.storage.get_household(household_id):
            self._known.add(household_id)
        return household_id in self._known

    def _reject(self, household_id: str | None, topic: str, payload: bytes, err: ReadingRejected) -> None:
        self.counters.rejected += 1
        metrics.READINGS_REJECTED.labels(err.reason).inc()
        self._rejected.append(
            RejectedReading(
                household_id=household_id,
                topic=topic,
                payload=payload[:4096],
                reason=err.reason,
                message=str(err),
                received_at=self.clock.now(),
            )
        )

    async def _on_reading(self, topic: str, payload: bytes) -> None:
        self.counters.received += 1
        household_id = topics.household_of(topic)
        try:
            if not await self._known_household(household_id):
                raise ReadingRejected("unknown_meter", f"no enrolled household {household_id!r}")
            reading = parse_reading(household_id, payload, self.clock.now())
            self._pending.append(reading)
            metrics.INGESTION_LAG.observe(max(0.0, (self.clock.now() - reading.ts).total_seconds()))
        except ReadingRejected as err:
            self._reject(household_id, topic, payload, err)
        await self._maybe_flush()

    async def _on_history(self, topic: str, payload: bytes) -> None:
        household_id = topics.household_of(topic)
        try:
            if not await self._known_household(household_id):
                raise ReadingRejected("unknown_meter", f"no enrolled household {household_id!r}")
            good, bad = parse_history(household_id, payload, self.clock.now())
        except ReadingRejected as err:
            self.counters.received += 1
            self._reject(household_id, topic, payload, err)
            return
        self.counters.received += len(good) + len(bad)
        self._pending.extend(good)
        for index, rejection in bad:
            self._reject(household_id, f"{topic}#{index}", payload, rejection)
        await self._maybe_flush()

    async def _maybe_flush(self) -> None:
        # +1 for the message being handled: its reading is in this batch, its ack goes with the next.
        window_full = self._persistent and self._session.unacked + 1 >= self._ack_window
        if len(self._pending) >= self._batch_size or window_full:
            await self.flush()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_s)
            try:
                await self.flush()
            except Exception:  # keep ingesting; the batch stays pending and is retried
                log.exception("flushing readings failed")

    async def flush(self) -> None:
        async with self._lock:
            batch, self._pending = self._pending, []
            rejected, self._rejected = self._rejected, []
            tokens = self._session.take_unacked()
            try:
                if batch:
                    new = await self.storage.insert_readings(batch, self.clock.now())
                    self.counters.stored += new
                    self.counters.duplicates += len(batch) - new
                    metrics.READINGS_STORED.inc(new)
                    metrics.READINGS_DUPLICATE.inc(len(batch) - new)
                if rejected:
                    await self.storage.insert_rejected(rejected)
            except BaseException:
                self._pending[:0] = batch
                self._rejected[:0] = rejected
                self._session.restore_unacked(tokens)
                raise
            self._session.ack(tokens)  # only now: what the broker forgets is in the store
