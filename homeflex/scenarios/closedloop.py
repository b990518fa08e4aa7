"""One household's control loop against its physics, in process and in simulated time (a week in
seconds): the same ``ControlCore`` the MQTT controller drives, without the broker in between.

Stage 1 is ``observe``: the household runs on its own while the platform records what it sees and
learns its profile. ``run`` then drives stage 2 or 3 (or nothing, for the unmanaged reference) and
traces what the meter and devices did. Used by the benchmarks and by the realism tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from homeflex.control.core import ControlCore
from homeflex.control.devices import Settings, States
from homeflex.control.flexplan import Assessment
from homeflex.control.setup import HouseholdSetup, Preferences
from homeflex.core.domain import FlexEvent, HouseholdSpec
from homeflex.core.timeutil import PERIOD
from homeflex.profiles import DeviceSeries, HouseholdProfile, learn_profile
from homeflex.scenarios.setup import forecast_for
from homeflex.sim.household import SimHousehold
from homeflex.ven.decision import OptDecision, decide_event

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

    def half_hourly(self, values: Sequence[float]) -> dict[datetime, float]:
        """Mean of ``values`` per UTC half-hour (kW for powers), keyed by period start; a sample counts
        in the half-hour its step's midpoint falls in."""
        keys, sums, counts = self._buckets(values)
        return {_period(k): float(s / c) for k, s, c in zip(keys, sums, counts, strict=True)}

    def half_hourly_sum(self, values: Sequence[float] | np.ndarray) -> dict[datetime, float]:
        """``half_hourly``, summed instead of averaged (e.g. kWh per step -> kWh per half-hour)."""
        keys, sums, _ = self._buckets(values)
        return {_period(k): float(s) for k, s in zip(keys, sums, strict=True)}

    def _buckets(self, values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(values) != len(self.times):
            raise ValueError(f"{len(values)} values for {len(self.times)} times")
        if not self.times:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        stamps = np.fromiter((t.timestamp() for t in self.times), np.float64, len(self.times))
        slots = np.floor((stamps - PHYSICS_S / 2) / PERIOD_S).astype(np.int64)  # UTC half-hours
        keys, index = np.unique(slots, return_inverse=True)
        sums = np.bincount(index, weights=np.asarray(values, dtype=np.float64))
        return keys, sums, np.bincount(index)


def _period(slot: int) -> datetime:
    return datetime.fromtimestamp(int(slot) * PERIOD_S, UTC)


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
    assert household.time is not None
    series = {d: trace.half_hourly(v) for d, v in trace.device_kw.items()}
    net = trace.half_hourly(trace.net_kw)
    outdoor = trace.half_hourly(trace.outdoor_c)
    profile = profile_from(household.id, net, series, outdoor, as_of=household.time, version=version)
    return profile, trace


def profile_from(
    household_id: str,
    net_kw: Mapping[datetime, float],
    device_kw: Mapping[str, Mapping[datetime, float]],
    outdoor_c: Mapping[datetime, float],
    *,
    as_of: datetime,
    version: int = 1,
) -> HouseholdProfile:
    """The stage-1 profile from what was metered: half-hourly means of the net power, each device's
    power (keyed by the simulator's device ids) and the outdoor temperature."""
    devices = DeviceSeries(
        ev_kw=device_kw.get("ev"),
        heat_pump_kw=device_kw.get("heat_pump"),
        pv_kw=device_kw.get("pv"),
        battery_kw=device_kw.get("battery"),
    )
    net = {t: kw * 0.5 for t, kw in net_kw.items()}  # kWh per half-hour
    return learn_profile(
        household_id, net, device_series=devices, outdoor_c=dict(outdoor_c), as_of=as_of, version=version
    )


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
    control = Controlled(core, events)
    while household.time < end:
        now = household.time
        if managed:
            control.tick(now, _states(household), household.apply)
            wake = control.next_wake(now, tick_s)
        else:
            wake = now + timedelta(seconds=tick_s)
        _physics_until(household, trace, min(wake, end))
    trace.decisions = control.decisions
    return trace


Apply = Callable[[str, Settings, datetime], None]  # device id, settings, when


class Controlled:
    """One household's control side in a simulation, whatever steps its physics: the control core, the
    DSO's events still to arrive (each decided by the VEN's rule when its notice comes), and what was
    last sent to each device (a device is commanded only when its settings change)."""

    def __init__(self, core: ControlCore, events: Sequence[tuple[datetime, FlexEvent]] = ()) -> None:
        self.core = core
        self.pending = sorted(events, key=lambda pair: pair[0])
        self.sent: dict[str, Settings] = {}
        self.decisions: dict[str, OptDecision] = {}

    def tick(self, now: datetime, states: States, apply: Apply) -> None:
        core = self.core
        while self.pending and self.pending[0][0] <= now:
            _, event = self.pending.pop(0)
            self.decisions[event.event_id] = decide_event(CoreAtTick(core, now, states), event, now)
        for device_id, settings in core.decide(now, states, self.sent).settings.items():
            if self.sent.get(device_id) != settings:
                apply(device_id, settings, now)
                self.sent[device_id] = settings

    def next_wake(self, now: datetime, tick_s: float) -> datetime:
        """The core's next wake-up, or an event's notice if sooner (the VEN hands it over at once)."""
        wake = self.core.next_wake(now, tick_s)
        return min(wake, self.pending[0][0]) if self.pending and self.pending[0][0] > now else wake


@dataclass(frozen=True)
class CoreAtTick:
    """The control core at one tick of a simulation, as the VEN's decision sees a household's control
    loop (ven.decision.FlexTarget): events are assessed from the states of that tick."""

    core: ControlCore
    now: datetime
    states: States

    @property
    def household(self) -> HouseholdSpec:
        return self.core.household

    @property
    def preferences(self) -> Preferences:
        return self.core.setup.preferences

    def assess(self, event: FlexEvent) -> Assessment | None:
        return self.core.assess(event, self.now, self.states)

    def schedule_event(self, event: FlexEvent) -> None:
        self.core.accept(event)

    def cancel(self, event_id: str) -> None:
        self.core.cancel(event_id)
