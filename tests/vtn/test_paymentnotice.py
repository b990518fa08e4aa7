"""After a settlement, each settled household's agent hears its month-to-date payments: a retained
message on its subtree, read here by an independent MQTT client on the real mosquitto and by the agent's
own parser (homeflex.ven.ha_discovery.payments_of), as its Home Assistant entity shows it."""

from __future__ import annotations

import json
from decimal import Decimal

import aiomqtt

from homeflex.core import topics
from homeflex.mqtt import MqttSession, MqttUnavailable
from homeflex.mqtt.session import parse_mqtt_url
from homeflex.settlement.settler import settle_event
from homeflex.storage import SQLiteStorage
from homeflex.ven.ha_discovery import payments_of
from homeflex.vtn.paymentnotice import notify_payments
from tests.settlement.test_settler import AFTER, add_event_readings, setup


async def test_a_settlement_tells_the_household_its_months_payments(
    storage: SQLiteStorage, mqtt_url: str
) -> None:
    await setup(storage)
    await add_event_readings(storage, kw=0.5)
    [record] = await settle_event(storage, "e1", AFTER)
    assert Decimal(record.household_gbp) > 0
    async with MqttSession(mqtt_url, "payments-test") as session:

        async def publish(topic: str, payload: bytes) -> None:
            await session.publish(topic, payload, retain=True)

        assert await notify_payments(storage, publish, [record.household_id, record.household_id], AFTER) == 1
    e = parse_mqtt_url(mqtt_url)
    try:
        async with aiomqtt.Client(e.host, e.port, identifier="payments-reader") as reader:
            await reader.subscribe(topics.payments("hh1"), qos=1)
            message = await anext(aiter(reader.messages))
            assert message.retain
            payload = message.payload if isinstance(message.payload, bytes) else b""
    finally:
        async with MqttSession(mqtt_url, "payments-clear") as session:
            await session.publish(topics.payments("hh1"), b"", retain=True)
    body = json.loads(payload)
    assert body == {"month": "2026-12", "total_gbp": record.household_gbp, "events": 1}
    assert payments_of(payload) == ("2026-12", float(record.household_gbp))


async def test_a_broker_that_does_not_take_them_leaves_the_settlement_standing(
    storage: SQLiteStorage,
) -> None:
    await setup(storage)
    await add_event_readings(storage, kw=0.5)
    [record] = await settle_event(storage, "e1", AFTER)

    async def refused(topic: str, payload: bytes) -> None:
        raise MqttUnavailable("no broker")

    assert await notify_payments(storage, refused, [record.household_id], AFTER) == 0
    assert len(await storage.ledger("e1")) > 0
