"""Parse and validate meter payloads at the MQTT boundary.

A meter publishes `{"ts": "2026-11-24T17:30:00Z", "import_wh": 1234.5, "export_wh": 10.0, "power_w": 850.0}`
(registers cumulative in Wh, power in W, + import). Everything past this module may trust a MeterReading:
aware UTC time, finite non-negative registers, a physically possible power. Extra keys are ignored so a
meter can add fields without being cut off.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from homeflex.core.domain import MeterReading

# Reason codes raised here (callers may add their own, e.g. an ingest layer's "unknown_meter"):
REASONS = (
    "malformed",  # not UTF-8 JSON, or not the expected JSON shape (object / list)
    "too_large",  # payload bytes or list length over the cap
    "missing_field",
    "wrong_type",  # e.g. a string or boolean where a number belongs
    "bad_timestamp",  # not ISO 8601, or out of range
    "naive_timestamp",  # ISO 8601 without an offset: the instant is unknown
    "impossible_value",  # non-finite, negative register, |power| above the cap
    "future_timestamp",  # measured after it was received (beyond clock skew)
)

MAX_POWER_W = 100_000.0  # far above any domestic supply (100 A single phase is 23 kW)
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_HISTORY_ITEMS = 10_000
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024  # checked before json.loads, so a huge payload costs nothing

_REGISTERS = ("import_wh", "export_wh")
_FIELDS = ("ts", *_REGISTERS, "power_w")


class ReadingRejected(ValueError):
    """A payload (or one item of a history) that cannot become a MeterReading."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def parse_reading(household_id: str, payload: bytes, received_at: datetime) -> MeterReading:
    """One reading from one MQTT payload; raises ReadingRejected with a reason code."""
    return _reading(household_id, _load_json(payload), _aware(received_at))


def parse_history(
    household_id: str, payload: bytes, received_at: datetime
) -> tuple[list[MeterReading], list[tuple[int, ReadingRejected]]]:
    """A JSON list of readings (backfill): good items kept in payload order, bad ones reported by index.

    The whole payload is rejected only if it is not a JSON list or is over the caps. Sorting and
    de-duplicating by ts is left to the consumer (energy.period_energy_kwh does both).
    """
    received_at = _aware(received_at)
    items = _load_json(payload)
    if not isinstance(items, list):
        raise ReadingRejected("malformed", f"expected a JSON list, got {_json_kind(items)}")
    if len(items) > MAX_HISTORY_ITEMS:
        raise ReadingRejected("too_large", f"{len(items)} items, at most {MAX_HISTORY_ITEMS} per payload")
    readings: list[MeterReading] = []
    rejected: list[tuple[int, ReadingRejected]] = []
    for index, item in enumerate(items):
        try:
            readings.append(_reading(household_id, item, received_at))
        except ReadingRejected as exc:
            rejected.append((index, exc))
    return readings, rejected


def _aware(received_at: datetime) -> datetime:
    # A naive received_at is a bug in the caller, not a bad payload: plain ValueError.
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at.astimezone(UTC)


def _load_json(payload: bytes) -> Any:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ReadingRejected("too_large", f"{len(payload)} bytes, at most {MAX_PAYLOAD_BYTES}")
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ReadingRejected("malformed", f"not valid UTF-8 JSON ({type(exc).__name__})") from None


def _reading(household_id: str, obj: Any, received_at: datetime) -> MeterReading:
    if not isinstance(obj, dict):
        raise ReadingRejected("malformed", f"expected a JSON object, got {_json_kind(obj)}")
    missing = [name for name in _FIELDS if name not in obj]
    if missing:
        raise ReadingRejected("missing_field", f"missing {', '.join(missing)}")
    ts = _timestamp(obj["ts"])
    if ts - received_at > MAX_CLOCK_SKEW:
        raise ReadingRejected("future_timestamp", f"ts {ts.isoformat()} is after received_at {received_at}")
    registers = {name: _number(obj, name) for name in _REGISTERS}
    for name, value in registers.items():
        if value < 0:
            raise ReadingRejected("impossible_value", f"{name} {value} is negative")
    power_w = _number(obj, "power_w")
    if abs(power_w) > MAX_POWER_W:
        raise ReadingRejected("impossible_value", f"|power_w| {power_w} exceeds {MAX_POWER_W}")
    return MeterReading(
        household_id=household_id,
        ts=ts,
        import_wh=registers["import_wh"],
        export_wh=registers["export_wh"],
        power_w=power_w,
        received_at=received_at,
    )


def _timestamp(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise ReadingRejected("wrong_type", f"ts must be a string, got {_json_kind(raw)}")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ReadingRejected("bad_timestamp", f"ts {raw[:40]!r} is not ISO 8601") from None
    if value.tzinfo is None:
        raise ReadingRejected("naive_timestamp", f"ts {raw!r} has no UTC offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00
        raise ReadingRejected("bad_timestamp", f"ts {raw!r} is out of range") from None


def _number(obj: dict[str, Any], name: str) -> float:
    raw = obj[name]
    # bool is an int subclass in Python: `true` must not read as 1 Wh.
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ReadingRejected("wrong_type", f"{name} must be a number, got {_json_kind(raw)}")
    try:
        value = float(raw)
    except OverflowError:  # an integer literal too large for a float
        raise ReadingRejected("impossible_value", f"{name} is too large") from None
    if not math.isfinite(value):  # json accepts NaN / Infinity literals, and 1e999 parses as inf
        raise ReadingRejected("impossible_value", f"{name} {value} is not finite")
    return value


def _json_kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
