"""One household's control loop against its physics, in process and in simulated time (a week in
seconds): the same ``ControlCore`` the MQTT controller drives, without the broker in between.

Stage 1 is ``observe``: the household runs on its own while the platform records what it sees and
learns its profile. ``run`` then drives stage 2 or 3 (or nothing, for the unmanaged reference) and
traces what the meter and devices did. Used by the benchmarks and by the realism tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from homeflex.control.core import ControlCore
from homeflex.control.devices import Settings
from homeflex.control.profile import DeviceSeries, HouseholdProfile, learn_profile
from homeflex.control.setup import HouseholdSetup
from homeflex.core.domain import FlexEvent, HouseholdSpec
from homeflex.core.timeutil import PERIOD
from homeflex.sim.household import SimHousehold
from homeflex.sim.setup import forecast_for
from homeflex.ven.decision import OptDecision, decide_opt

PHYSICS_S = 60.0
PERIOD_S = 1800  # a UTC settlement half-hour


@dataclass
class Trace:
    """Per physics step (a minute): time, net power (kW, + import) and device readings."""

    times: list[datetime] = field(default_factory=list)
    net_kw: list[float] = field(default_factory=list)
    indoor_c: list[float] = field(default_factory=list)
    device_kw: dict[str, list[float]] = field(default_factory=dict)
    outdoor_c: list[float] = field(default_factory=list)
    ev_departures: list[tuple[datetime, float, float]] = field(default_factory=list)  # when, soc, target
    decisions: dict[str, OptDecision] = field(default_factory=dict)

    def record(self, household: SimHousehold) -> None:
        assert household.time is not None
        self.times.append(household.time)
        self.net_kw.append(household.power_w / 1000)
        self.outdoor_c.append(household.weather(household.time))
        hp = household.devices.get("heat_pump")
        self.indoor_c.append(float(getattr(hp, "indoor_c", np.nan)))
        for device_id, device in household.devices.items():
            self.device_kw.setdefault(device_id, []).append(device.power_w / 1000)

    def bill_gbp(self, setup: HouseholdSetup) -> float:
        """The household's bill on its tariff; each sample holds over the step that ends at it (steps
        are a minute, shorter after a wake-up between minutes)."""
        tariff, total = setup.tariff, 0.0
        previous: datetime | None = None
        for t, kw in zip(self.times, self.net_kw, strict=True):
            hours = (t - previous).total_seconds() / 3600 if previous else PHYSICS_S / 3600
            previous = t
            total += (max(kw, 0.0) * tariff.import_price(t) - max(-kw, 0.0) * tariff.export_price(t)) * hours
        return total

    def half_hourly(self, values: Sequence[float]) -> dict[datetime, float]:
        """Mean of ``values`` per UTC half-hour (kW for powers), keyed by period start; a sample counts
        in the half-hour its step's midpoint falls in."""
        if len(values) != len(self.times):
            raise ValueError(f"{len(values)} values for {len(self.times)} times")
        if not self.times:
            return {}
        stamps = np.fromiter((t.timestamp() for t in self.times), np.float64, len(self.times))
        slots = np.floor((stamps - PHYSICS_S / 2) / PERIOD_S).astype(np.int64)  # UTC half-hours
        keys, index = np.unique(slots, return_inverse=True)
        sums = np.bincount(index, weights=np.asarray(values, dtype=np.float64))
        means = sums / np.bincount(index)
        return {
            datetime.fromtimestamp(int(k) * PERIOD_S, UTC): float(m) for k, m in zip(keys, means, strict=True)
        }


def _states(household: SimHousehold) -> dict[str, dict[str, object]]:
    states = {d: household.device_state(d) for d in household.devices}
    states["meter"] = {"power_w": round(household.power_w, 1)}
    return states


def _physics_until(household: SimHousehold, trace: Trace, end: datetime) -> None:
    assert household.time is not None
    ev = household.devices.get("ev")
    while household.time < end:
        was_plugged = bool(getattr(ev, "plugged", False))
        household.advance_to(min(household.time + timedelta(seconds=PHYSICS_S), end), PHYSICS_S)
        trace.record(household)
        if ev is not None and was_plugged and not getattr(ev, "plugged", False):
            soc, target = float(ev.state()["soc"]), float(ev.state()["target_soc"])  # type: ignore[arg-type]
            trace.ev_departures.append((household.time, soc, target))


def observe(household: SimHousehold, start: datetime, days: int, *, version: int = 1) -> HouseholdProfile:
    """Stage 1: run ``days`` unmanaged from ``start`` and learn the profile from what was metered."""
    return observe_with_trace(household, start, days, version=version)[0]


def observe_with_trace(
    household: SimHousehold, start: datetime, days: int, *, version: int = 1
) -> tuple[HouseholdProfile, Trace]:
    """``observe``, also giving back what was metered (e.g. as the baseline history for settlement)."""
    trace = Trace()
    household.advance_to(start, PHYSICS_S)
    _physics_until(household, trace, start + timedelta(days=days))
    net = {t: kw * 0.5 for t, kw in trace.half_hourly(trace.net_kw).items()}  # kWh per half-hour
    series = {d: trace.half_hourly(v) for d, v in trace.device_kw.items()}
    devices = DeviceSeries(
        ev_kw=series.get("ev"),
        heat_pump_kw=series.get("heat_pump"),
        pv_kw=series.get("pv"),
        battery_kw=series.get("battery"),
    )
    outdoor = trace.half_hourly(trace.outdoor_c)
    assert household.time is not None
    profile = learn_profile(
        household.id, net, device_series=devices, outdoor_c=outdoor, as_of=household.time, version=version
    )
    return profile, trace


def run(
    spec: HouseholdSpec,
    household: SimHousehold,
    setup: HouseholdSetup,
    end: datetime,
    *,
    profile: HouseholdProfile | None,
    managed: bool = True,
    events: Sequence[tuple[datetime, FlexEvent]] = (),
    tick_s: float = 300.0,
    seed: int | str | None = None,
    core: ControlCore | None = None,
    replan_every: timedelta = PERIOD,
) -> Trace:
    """Drive the household to ``end``: ticks every ``tick_s``; ``events`` arrive at their notice time
    and are decided by the VEN's rule. Unmanaged: devices keep their own behaviour throughout.

    ``core``: the control core to drive, e.g. with another recovery stagger or to look at its plans
    afterwards; by default a fresh one for ``spec`` and ``setup`` with ``seed`` and ``replan_every``."""
    assert household.time is not None, "start the household (observe or advance_to) first"
    trace = Trace()
    if core is None:
        forecast = forecast_for(household, profile)
        core = ControlCore(
            household=spec, setup=setup, forecast=forecast, seed=seed, replan_every=replan_every
        )
    sent: dict[str, Settings] = {}
    pending = sorted(events, key=lambda pair: pair[0])
    while household.time < end:
        now = household.time
        if managed:
            states = _states(household)
            while pending and pending[0][0] <= now:
                _, event = pending.pop(0)
                assessment = core.assess(event, now, states)
                min_share = setup.preferences.min_event_share
                decision = decide_opt(core.household, event, now, assessment, min_share=min_share)
                trace.decisions[event.event_id] = decision
                if decision.opt_in:
                    core.accept(event)
            for device_id, settings in core.decide(now, states, sent).settings.items():
                if sent.get(device_id) != settings:
                    household.apply(device_id, settings, now)
                    sent[device_id] = settings
        wake = core.next_wake(now, tick_s) if managed else now + timedelta(seconds=tick_s)
        _physics_until(household, trace, min(wake, end))
    return trace
