"""The burst publisher: MQTT 3.1.1 packets, and bursts delivered through a real mosquitto."""

from __future__ import annotations

import asyncio
import socket

import pytest

from homeflex.mqtt.burst import _varint, publish_burst, publish_packet, split_packets
from homeflex.mqtt.session import MqttEndpoint, MqttSession, MqttUnavailable, parse_mqtt_url


@pytest.mark.parametrize(
    ("n", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16_383, b"\xff\x7f"),
        (2_097_152, b"\x80\x80\x80\x01"),
    ],
)
def test_remaining_length_encoding(n: int, encoded: bytes) -> None:
    assert _varint(n) == encoded


def test_split_packets_keeps_a_partial_packet_for_later() -> None:
    big = publish_packet("t/1", b"x" * 300, 1, 7)  # a two-byte remaining length
    buffer = bytearray(b"\x40\x02\x00\x01" + big + big[:5])
    packets = split_packets(buffer)
    assert [(k & 0xF0, len(b)) for k, b in packets] == [(0x40, 2), (0x30, len(big) - 3)]
    assert packets[1][0] & 0x06 == 0x02  # QoS 1 flag kept
    assert bytes(buffer) == big[:5]
    buffer += big[5:]
    assert len(split_packets(buffer)) == 1 and buffer == bytearray()


@pytest.mark.parametrize("qos", [0, 1])
async def test_a_burst_arrives_whole_and_in_order(mqtt_url: str, uid: str, qos: int) -> None:
    got: list[tuple[str, bytes]] = []
    done = asyncio.Event()
    count = 500

    def collect(topic: str, payload: bytes) -> None:
        got.append((topic, payload))
        if len(got) == count:
            done.set()

    session = MqttSession(mqtt_url, f"test-burst-{uid}")
    session.subscribe(f"test-{uid}/burst/+", collect)
    messages = [(f"test-{uid}/burst/{i}", f'{{"n":{i}}}'.encode()) for i in range(count)]
    async with session:
        sent = await publish_burst(
            parse_mqtt_url(mqtt_url), messages, client_id=f"test-burst-pub-{uid}", qos=qos
        )
        assert sent == count
        await asyncio.wait_for(done.wait(), 20)
    assert got == messages


async def test_an_unreachable_broker_is_mqtt_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(MqttUnavailable):
            await publish_burst(
                MqttEndpoint(host="127.0.0.1", port=port), [("t", b"x")], client_id="c", timeout=5
            )


async def test_qos_2_is_refused() -> None:
    with pytest.raises(ValueError, match="qos"):
        await publish_burst(MqttEndpoint(host="127.0.0.1", port=1), [], client_id="c", qos=2)
