"""Read an openleadr event dict into the household side's FlexEvent (pure)."""

from __future__ import annotations

from typing import Any

from homeflex.core.domain import FlexEvent

SCALE = {"none": 1.0, "k": 1e3, "M": 1e6}
TRIAL_MARKET_CONTEXT = "oadr://homeflex/trial"  # as the VTN sends it (vtn/events.py)


def _first_payload(signal: dict[str, Any]) -> float:
    intervals = signal.get("intervals") or []
    if not intervals:
        raise ValueError(f"signal {signal.get('signal_name')} has no intervals")
    return float(intervals[0]["signal_payload"])


def parse_event(event: dict[str, Any]) -> FlexEvent:
    """A LOAD_DISPATCH delta (kW unless the signal's measurement says otherwise) is the reduction
    asked of this household; ELECTRICITY_PRICE carries the utilisation price in £/MWh."""
    descriptor = event["event_descriptor"]
    period = event["active_period"]
    signals = {s["signal_name"]: s for s in event.get("event_signals") or []}
    dispatch = signals.get("LOAD_DISPATCH")
    if dispatch is None:
        raise ValueError("event has no LOAD_DISPATCH signal")
    measurement = dispatch.get("measurement") or {}
    watts_per_unit = SCALE.get(measurement.get("scale") or "k", 1e3)
    price = signals.get("ELECTRICITY_PRICE")
    return FlexEvent(
        event_id=descriptor["event_id"],
        modification_number=int(descriptor["modification_number"]),
        start=period["dtstart"],
        duration=period["duration"],
        reduction_w=_first_payload(dispatch) * watts_per_unit,
        price_gbp_per_mwh=_first_payload(price) if price else 0.0,
        cancelled=descriptor.get("event_status") == "cancelled",
        trial=descriptor.get("market_context") == TRIAL_MARKET_CONTEXT,
    )
