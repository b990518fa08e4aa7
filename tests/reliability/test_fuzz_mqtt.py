"""Bad input on MQTT ingestion: random payloads on the reading and history topics. The parser rejects
each with a recorded reason and nothing else escapes (property test); through the real broker, the
ingestor stores every rejection with its reason, keeps running, and stores a good reading afterwards."""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from homeflex.core import topics
from homeflex.core.clock import WallClock
from homeflex.core.timeutil import iso
from homeflex.metering.ingest import Ingestor
from homeflex.metering.validate import ReadingRejected, parse_history, parse_reading
from homeflex.mqtt import MqttSession
from homeflex.storage import SQLiteStorage
from tests.reliability.helpers import enrol, until

EXAMPLES = int(os.environ.get("HOMEFLEX_FUZZ_EXAMPLES", "60"))
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.one_of(st.text(max_size=40), st.datetimes().map(lambda d: d.isoformat()), JSON),
        "import_wh": st.one_of(st.floats(allow_nan=True, allow_infinity=True), JSON),
        "export_wh": st.one_of(st.floats(allow_nan=True, allow_infinity=True), JSON),
        "power_w": st.one_of(st.floats(allow_nan=True, allow_infinity=True), JSON),
    },
)
PAYLOADS = st.one_of(
    st.binary(max_size=512),
    JSON.map(lambda v: json.dumps(v).encode()),
    FIELDS.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.lists(FIELDS, max_size=20).map(lambda v: json.dumps(v, allow_nan=True).encode()),
)


@settings(max_examples=EXAMPLES * 4, deadline=None, database=None)
@given(payload=PAYLOADS)
def test_parsers_reject_bad_payloads_with_a_reason(payload: bytes) -> None:
    errors: list[ReadingRejected] = []
    try:
        parse_reading("hh", payload, NOW)
    except ReadingRejected as err:
        errors.append(err)
    try:
        _, bad = parse_history("hh", payload, NOW)
        errors.extend(r for _, r in bad)
    except ReadingRejected as err:
        errors.append(err)
    assert all(e.reason and str(e) for e in errors)  # anything else raised fails the property


def random_payloads(n: int, seed: int) -> list[bytes]:
    """Random payloads drawn from the same strategy, reproducibly (no hypothesis inside asyncio)."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for _ in range(n):
        kind = rng.randrange(4)
        if kind == 0:
            out.append(rng.randbytes(rng.randrange(0, 300)))
        elif kind == 1:
            out.append(json.dumps(_junk(rng, 3)).encode())
        elif kind == 2:
            out.append(
                json.dumps(
                    {k: _junk(rng, 1) for k in ("ts", "import_wh", "power_w") if rng.random() < 0.7}
                ).encode()
            )
        else:
            out.append(json.dumps([_junk(rng, 2) for _ in range(rng.randrange(5))]).encode())
    return out


def _junk(rng: random.Random, depth: int) -> Any:
    choices: list[Any] = [
        None,
        True,
        rng.random() * 1e9,
        -rng.randrange(10**6),
        "x" * rng.randrange(50),
        "2026-13-45",
    ]
    if depth > 0:
        choices += [[_junk(rng, depth - 1)], {"ts": _junk(rng, depth - 1)}]
    return rng.choice(choices)


async def test_ingestor_survives_random_payloads(mqtt_url: str, storage: SQLiteStorage, uid: str) -> None:
    hh = f"fz{uid}"
    await enrol(storage, hh)
    payloads = random_payloads(EXAMPLES * 3, seed=7)
    async with (
        Ingestor(storage, WallClock(), mqtt_url, identifier=f"ingest-{uid}") as ingestor,
        MqttSession(mqtt_url, f"fuzzer-{uid}") as fuzzer,
    ):
        for i, payload in enumerate(payloads):
            topic = topics.meter_reading(hh) if i % 2 else topics.meter_history(hh)
            await fuzzer.publish(topic, payload)
        good = {
            "ts": iso(WallClock().now() - timedelta(minutes=1)),
            "import_wh": 1.0,
            "export_wh": 0.0,
            "power_w": 5.0,
        }
        await fuzzer.publish(topics.meter_reading(hh), good)

        async def done() -> bool:
            await ingestor.flush()
            return await storage.count_readings(hh) >= 1

        await until(done, 15, "the good reading after the junk")
    rejected = [r for r in await storage.rejected_readings() if r.household_id == hh]
    assert rejected and all(r.reason and r.message for r in rejected)
    assert ingestor.counters.received >= len(payloads) // 2
    print(
        f"mqtt fuzz: {len(payloads)} payloads, {len(rejected)} rejections recorded, "
        f"{ingestor.counters.stored} stored; reasons {sorted({r.reason for r in rejected})}"
    )
