"""Metering: meter readings in (MQTT ingestion, interval CSV import), validated at the boundary, and the
energy per half-hour they imply. The `homeflex telemetry` service runs the ingestion."""
