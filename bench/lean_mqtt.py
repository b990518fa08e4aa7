"""The VENs' side of the notification benchmarks, in their own processes: a lean MQTT 3.1.1 subscriber
without a client library's per-message cost, as VENs on their own machines would see the broker."""

from __future__ import annotations

import struct


def take_publishes(packets: list[tuple[int, bytes]]) -> tuple[list[str], bytes]:
    """The topics of the PUBLISH packets among `packets` (from burst.read_packets), and the PUBACKs that
    acknowledge the QoS 1 ones, to write back at once."""
    topics, acks = [], []
    for kind, body in packets:
        if kind & 0xF0 != 0x30:
            continue
        n = struct.unpack("!H", body[:2])[0]
        topics.append(body[2 : 2 + n].decode())
        if kind & 0x06:
            acks.append(b"\x40\x02" + body[2 + n : 4 + n])
    return topics, b"".join(acks)
