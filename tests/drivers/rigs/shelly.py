"""The Shelly Gen2+ driver against a simulated Shelly Plus Plug S (MQTT RPC)."""

from __future__ import annotations

from tests.drivers.rigs.plugs import plug_rig

RIG = plug_rig(
    "shelly",
    lambda uid: {"topic_prefix": f"shellyplusplugs-{uid}", "src": f"homeflex-drv{uid}"},
    lambda a: {
        f"{a['topic_prefix']}/events/rpc": b"\xff{not json",
        f"{a['src']}/rpc": b'{"id": ',
        f"{a['topic_prefix']}/online": b"maybe",
    },
    refused={"on": "maybe"},
)
