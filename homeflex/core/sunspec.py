"""SunSpec over Modbus, the parts both sides share (the driver and the simulated device): where a
device's map starts, how its models are laid out, and how points are coded in registers.

A SunSpec map (SunSpec Modbus specification; /work/shared/domain/protocols.md §6) is ``SunS`` at the base
address (40000, else 0, else 50000), then models one after the other, each ``ID, L`` and ``L`` registers
of points, and ``0xFFFF, 0`` at the end. A point the device does not implement holds its type's
"not implemented" value; a value is ``raw x 10^sf`` with ``sf`` read from the model's scale-factor point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from homeflex.core.sunspec_models import MODELS

MARKER = (0x5375, 0x6E53)  # "SunS"
END = 0xFFFF  # the ID after the last model
BASES = (40000, 0, 50000)  # where to look for the marker, in this order
MAX_MODELS = 64  # bounds the walk of a map that never ends
SF_RANGE = range(-10, 11)  # a scale factor outside it is junk

# Per type: the value of a point the device does not implement (SunSpec Modbus specification, table 6).
NOT_IMPLEMENTED = {
    "int16": 0x8000,
    "sunssf": 0x8000,
    "uint16": 0xFFFF,
    "enum16": 0xFFFF,
    "bitfield16": 0xFFFF,
    "acc16": 0,
    "count": 0,
    "pad": 0x8000,
    "int32": 0x80000000,
    "uint32": 0xFFFFFFFF,
    "enum32": 0xFFFFFFFF,
    "bitfield32": 0xFFFFFFFF,
    "acc32": 0,
}
SIGNED = {"int16", "sunssf", "int32"}


@dataclass(frozen=True, kw_only=True)
class Point:
    name: str
    type: str
    offset: int  # registers from the model's ID
    size: int
    sf: str | None
    writable: bool


@dataclass(frozen=True, kw_only=True)
class Model:
    id: int
    name: str
    points: dict[str, Point]

    @property
    def length(self) -> int:
        """``L``: the registers after ``ID`` and ``L``."""
        return sum(p.size for p in self.points.values()) - 2


@cache
def model(model_id: int) -> Model:
    name, table = MODELS[model_id]
    points, offset = {}, 0
    for point, kind, size, sf, access in table:
        points[point] = Point(name=point, type=kind, offset=offset, size=size, sf=sf, writable="W" in access)
        offset += size
    return Model(id=model_id, name=name, points=points)


def decode(point: Point, regs: Sequence[int]) -> int | str | None:
    """The raw value of ``point`` from its registers; None when the device does not implement it."""
    if point.type == "string":
        text = b"".join(r.to_bytes(2, "big") for r in regs).split(b"\0", 1)[0]
        return text.decode("utf-8", errors="replace") or None
    raw = 0
    for r in regs:
        raw = raw << 16 | r
    if raw == NOT_IMPLEMENTED.get(point.type):
        return None
    if point.type in SIGNED and raw >= 1 << (16 * point.size - 1):
        raw -= 1 << (16 * point.size)
    return raw


def encode(point: Point, value: int | str | None) -> list[int]:
    """The registers holding ``value`` (None: not implemented). ValueError when it does not fit."""
    if point.type == "string":
        data = str(value or "").encode()[: 2 * point.size].ljust(2 * point.size, b"\0")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    bits = 16 * point.size
    if value is None:
        return _registers(NOT_IMPLEMENTED.get(point.type, 0), point.size)
    raw = int(value)
    low = -(1 << (bits - 1)) if point.type in SIGNED else 0
    high = (1 << (bits - 1)) - 1 if point.type in SIGNED else (1 << bits) - 1
    if not low <= raw <= high:
        raise ValueError(f"{point.name} ({point.type}) cannot hold {raw}")
    return _registers(raw & ((1 << bits) - 1), point.size)


def _registers(raw: int, size: int) -> list[int]:
    return [(raw >> (16 * (size - 1 - i))) & 0xFFFF for i in range(size)]


def scaled(raw: int, sf: int) -> float:
    """``raw x 10^sf`` without binary noise for negative ``sf`` (4000 x 10^-2 is exactly 40.0)."""
    return float(raw * 10**sf) if sf >= 0 else raw / 10**-sf


def unscaled(value: float, sf: int) -> int:
    """The raw register value that means ``value`` at scale factor ``sf``."""
    return round(value * 10**-sf) if sf <= 0 else round(value / 10**sf)
