"""The Tasmota driver against a simulated Tasmota plug (a Sonoff POW R2)."""

from __future__ import annotations

from tests.drivers.rigs.plugs import plug_rig

RIG = plug_rig(
    "tasmota",
    lambda uid: {"topic": f"pow-{uid}"},
    lambda a: {f"tele/{a['topic']}/SENSOR": b"\xff{not json", f"stat/{a['topic']}/RESULT": b'{"POWER": '},
    refused={"on": "maybe"},
)
