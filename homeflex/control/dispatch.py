"""From a schedule to device settings for the current step (pure): at most one command per device.

Each device's adapter decides its own settings; then the household's import limit is enforced over
all of them together: battery charging is cut first, then the EV.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import cast

from homeflex.control.devices import DutyCycled, Settings, States, Step, adapter_for
from homeflex.control.devices.ev_charger import EV_MIN_W
from homeflex.control.schedule import STEP_H, Schedule, max_import_kw, step_index
from homeflex.control.setup import HouseholdSetup
from homeflex.core.domain import DeviceKind, HouseholdSpec


def setpoints(
    spec: HouseholdSpec,
    setup: HouseholdSetup,
    schedule: Schedule,
    states: States,
    now: datetime,
    *,
    capped: bool = False,
    shed_plugs: bool = False,
) -> dict[str, Settings]:
    """Settings per device id for the step containing ``now``; every device back to its default
    behaviour when the schedule has no plan."""
    step = _step(spec, schedule, states, now, capped=capped, shed_plugs=shed_plugs)
    out: dict[str, Settings] = {}
    for device in spec.devices:
        adapter = adapter_for(device)
        out[device.id] = adapter.setpoint(step) if schedule.ok else adapter.default()
    return within_import_limit(spec, setup, out)


def next_change(spec: HouseholdSpec, schedule: Schedule, states: States, now: datetime) -> datetime | None:
    """When a device's settings next change within the step containing ``now`` (a part-step run
    ending), or None: the loop wakes then rather than at its next refresh."""
    cycled = [a for d in spec.devices if _duty_cycled(type(a := adapter_for(d)))]
    if not cycled or not schedule.ok:
        return None
    step = _step(spec, schedule, states, now)
    fractions = [f for a in cycled if (f := cast(DutyCycled, a).changes_at(step)) is not None]
    if not fractions:
        return None
    return schedule.problem.start + timedelta(hours=STEP_H * (step.t + min(fractions)))


@functools.cache
def _duty_cycled(adapter: type) -> bool:
    return issubclass(adapter, DutyCycled)


def _step(
    spec: HouseholdSpec,
    schedule: Schedule,
    states: States,
    now: datetime,
    *,
    capped: bool = False,
    shed_plugs: bool = False,
) -> Step:
    p = schedule.problem
    t = min(step_index(p.start, now, STEP_H), p.n_steps - 1)
    elapsed = (now - p.start).total_seconds() / 3600 / STEP_H - t
    return Step(
        household=spec,
        schedule=schedule,
        t=t,
        states=states,
        capped=capped,
        shed_plugs=shed_plugs,
        elapsed=min(max(elapsed, 0.0), 1.0),
    )


def defaults(spec: HouseholdSpec) -> dict[str, Settings]:
    return {d.id: adapter_for(d).default() for d in spec.devices}


def max_draw_w(spec: HouseholdSpec, settings: Mapping[str, Settings]) -> float:
    """The most the household's devices may draw together under ``settings`` (W)."""
    return sum(adapter_for(d).max_draw_w(settings.get(d.id, {})) for d in spec.devices)


def within_import_limit(
    spec: HouseholdSpec, setup: HouseholdSetup, settings: dict[str, Settings]
) -> dict[str, Settings]:
    """Cut battery charging, then the EV, until the devices together fit the import limit."""
    excess = max_draw_w(spec, settings) - 1000 * max_import_kw(spec, setup)
    for kind, key in ((DeviceKind.BATTERY, "power_w"), (DeviceKind.EV_CHARGER, "max_power_w")):
        device = spec.device(kind)
        if excess <= 0 or device is None:
            continue
        value = adapter_for(device).max_draw_w(settings[device.id])
        current = settings[device.id].get(key)
        cut = min(excess, value)
        new = value - cut
        if kind is DeviceKind.EV_CHARGER and 0 < new < EV_MIN_W:
            cut, new = value, 0.0
        if kind is DeviceKind.BATTERY and current is None:
            cut, new = value, 0.0  # a setpoint would force charging: hold the battery idle instead
        if kind is DeviceKind.BATTERY and current is not None and float(current) < 0:
            continue  # discharging draws nothing
        settings[device.id] = {**settings[device.id], key: round(new)}
        excess -= cut
    return settings
