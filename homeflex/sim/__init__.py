"""Simulated households: device physics, a population, history backfill and devices speaking MQTT.

The physics (`homeflex.sim.physics`, `household`, `population`, `history`) is pure; the MQTT side lives in
`devices` and `endpoint`. Nothing outside sim/ should read a simulator's internals: it talks MQTT like a
real device.
"""
