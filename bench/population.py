"""The benchmark's households: make_population, topped up so every household has something to curtail.

A household with nothing but an EV charger (or nothing at all) gets a smart plug whose appliance runs
across the benchmark window, so that every household takes part in every event. An EV alone is not
enough: a charger applies a new limit after a random delay of up to 10 min (SI 2021/1467), so a pause
that took effect during one event can outlast the restore and leave the car with nothing to shed at the
next.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from homeflex.core.domain import DeviceKind, DeviceSpec
from homeflex.core.timeutil import LONDON
from homeflex.sim.physics.smart_plug import SmartPlugParams
from homeflex.sim.population import SimHouseholdConfig, make_population

PLUG_W = 1500.0
STEP_S = 10.0


def steadily_curtailable(config: SimHouseholdConfig, at: datetime, reduction_w: float) -> bool:
    """Whether a device other than an EV charger is there to command: an event's start re-confirms
    every device of a household, so any such device takes part at once."""
    return any(d.kind != DeviceKind.EV_CHARGER for d in config.spec.devices)


def with_running_plug(config: SimHouseholdConfig, at: datetime) -> SimHouseholdConfig:
    """`config` with a smart plug whose one run a day starts 15-30 min before `at` and lasts 2-3 h."""
    local = at.astimezone(LONDON)
    hour = local.hour + local.minute / 60
    if not 0.5 <= hour <= 21.0:
        raise ValueError("the benchmark's start must be between 00:30 and 21:00 local time")
    power_w = config.plug.power_w if config.plug is not None else PLUG_W
    params = SmartPlugParams(
        power_w=power_w, runs_per_day=(1, 1), evening_start_h=(hour - 0.5, hour - 0.25), run_h=(2.0, 3.0)
    )
    others = tuple(d for d in config.spec.devices if d.id != "plug")
    plug = DeviceSpec(id="plug", kind=DeviceKind.SMART_PLUG, max_power_w=power_w)
    return replace(config, spec=replace(config.spec, devices=(*others, plug)), plug=params)


def bench_population(
    n: int, seed: int, at: datetime, reduction_w: float
) -> tuple[list[SimHouseholdConfig], list[str]]:
    """n households (make_population) and the ids of those that were given a running plug."""
    configs: list[SimHouseholdConfig] = []
    topped_up: list[str] = []
    for drawn in make_population(n, seed):
        config = drawn
        if not steadily_curtailable(drawn, at, reduction_w):
            config = with_running_plug(drawn, at)
            topped_up.append(config.spec.id)
            if not steadily_curtailable(config, at, reduction_w):
                raise RuntimeError(f"{config.spec.id}: still nothing to curtail at {at}")
        configs.append(config)
    return configs, topped_up
