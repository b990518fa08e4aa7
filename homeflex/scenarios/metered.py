"""What one phase of one household's simulation metered: the summary settlement and the report need.

Both engines give it: the scalar closed loop (``from_trace``, one household stepped alone) and the
community engine (homeflex/sim/fleet, every household stepped at once). Energy is per UTC half-hour,
keyed by period start; the bill prices each half-hour's energy at that half-hour's tariff price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from homeflex.scenarios.closedloop import Trace
from homeflex.tariffs import TariffSource

COLD_SLACK_C = 0.3  # minutes this far below the comfort floor count as violations

Departure = tuple[datetime, float, float]  # when the car left, its state of charge, its target


@dataclass(frozen=True, kw_only=True)
class Metered:
    net_kw: Mapping[datetime, float]  # mean per half-hour (+ import)
    import_kwh: Mapping[datetime, float]
    export_kwh: Mapping[datetime, float]
    cold_minutes: int = 0  # below the comfort floor - COLD_SLACK_C (0 without a heat pump)
    ev_departures: tuple[Departure, ...] = ()
    device_kw: Mapping[str, Mapping[datetime, float]] = field(default_factory=dict)  # mean per device
    outdoor_c: Mapping[datetime, float] = field(default_factory=dict)


def bill_gbp(tariff: TariffSource, metered: Metered) -> float:
    """Import at the import price less export at the export price, each half-hour at its own prices."""
    return sum(kwh * tariff.import_price(p) for p, kwh in metered.import_kwh.items()) - sum(
        kwh * tariff.export_price(p) for p, kwh in metered.export_kwh.items()
    )


def from_trace(trace: Trace, floor_c: float | None = None, *, devices: bool = False) -> Metered:
    """The scalar closed loop's trace, summarised; ``floor_c``: the comfort floor to count cold minutes
    against (None: no heat pump); ``devices``: keep per-device and outdoor means (for learning)."""
    hours = np.diff([t.timestamp() for t in trace.times], prepend=np.nan) / 3600
    if hours.size:
        hours[0] = 60 / 3600  # the first sample holds over a whole step
    net = np.asarray(trace.net_kw, dtype=np.float64)
    cold = 0
    if floor_c is not None:
        cold = int(np.sum(np.asarray(trace.indoor_c) < floor_c - COLD_SLACK_C))  # NaN is False
    return Metered(
        net_kw=trace.half_hourly(trace.net_kw),
        import_kwh=trace.half_hourly_sum(np.maximum(net, 0.0) * hours),
        export_kwh=trace.half_hourly_sum(np.maximum(-net, 0.0) * hours),
        cold_minutes=cold,
        ev_departures=tuple(trace.ev_departures),
        device_kw={d: trace.half_hourly(v) for d, v in trace.device_kw.items()} if devices else {},
        outdoor_c=trace.half_hourly(trace.outdoor_c) if devices else {},
    )
