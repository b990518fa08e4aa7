"""The fleet is the scalar SimHousehold, vectorised: same households, same commands, same floats.

Thirty realistic households (every device kind, vulnerable or not) run side by side as SimHousehold
(build_household, stepped by closedloop's own loop into a Trace) and as one Fleet, for two January days at
60 s, under the same random stream of valid and invalid commands at the same minutes.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from homeflex.core.timeutil import period_start
from homeflex.scenarios.closedloop import Trace, _physics_until
from homeflex.sim.fleet import Fleet, PhaseRecord
from homeflex.sim.fleet.grid import to_us
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.ev import EvCharger
from homeflex.sim.physics.settings import NumberSetting, SwitchSetting
from homeflex.sim.population import SimHouseholdConfig, build_household, make_population

START = datetime(2026, 1, 12, tzinfo=UTC)  # a Monday; London is on UTC in January
MINUTE = timedelta(minutes=1)
KINDS = ("ev", "heat_pump", "battery", "pv", "plug")  # the order of Fleet.power's device rows
FLOOR_MARGIN_C = 1.0  # a heat-pump home is "cold" this far below its default setpoint


@pytest.fixture(scope="module")
def configs() -> list[SimHouseholdConfig]:
    population = make_population(30, 1, realistic=True)
    kinds = {d.id for c in population for d in c.spec.devices}
    assert kinds == {"ev", "heat_pump", "battery", "pv", "plug"}
    assert {c.spec.vulnerable for c in population} == {True, False}
    return population


@dataclass(frozen=True)
class Command:
    household: int
    device_id: str
    settings: dict[str, object]
    reset: bool = False
    with_time: bool = True  # pass `now` explicitly, else the household's own time


def _valid_value(setting: NumberSetting | SwitchSetting, rng: random.Random) -> object:
    if isinstance(setting, SwitchSetting):
        return rng.choice((True, False, None))
    low, high = setting.low, setting.high
    return rng.choice(
        (
            None,
            rng.uniform(low, high),
            rng.uniform(low, high),
            low,
            high,
            float(round(rng.uniform(low, high))),
        )
    )


def _invalid_settings(setting: NumberSetting | SwitchSetting, rng: random.Random) -> dict[str, object]:
    key = setting.key
    if isinstance(setting, SwitchSetting):
        switch_choices: list[dict[str, object]] = [{key: 1}, {key: "on"}, {"bogus": True}]
        return rng.choice(switch_choices)
    number_choices: list[dict[str, object]] = [
        {key: setting.high + 1},
        {key: setting.low - 1},
        {key: "100"},
        {key: True},
        {key: float("nan")},
        {"bogus": 1.0},
        {key: setting.high, "bogus": 1.0},  # one bad key spoils the whole command
    ]
    return rng.choice(number_choices)


def commands(households: list[SimHousehold], minutes: int, seed: int) -> Iterator[list[Command]]:
    """Per minute, the commands sent just before it is stepped: mostly valid, every kind of setting."""
    rng = random.Random(seed)
    for _ in range(minutes):
        sent = []
        while rng.random() < 0.3:
            i = rng.randrange(len(households))
            devices = list(households[i].devices)
            if not devices or rng.random() < 0.02:  # "(devices: none)" for a household without any
                sent.append(Command(i, "no_such_device", {}))
                continue
            device_id = rng.choice(devices)
            table = list(households[i].devices[device_id].settings.table.values())
            if rng.random() < 0.08:
                sent.append(Command(i, device_id, _invalid_settings(rng.choice(table), rng)))
            elif rng.random() < 0.05:
                sent.append(Command(i, device_id, {}, reset=True))
            else:
                chosen = [s for s in table if rng.random() < 0.7] or table[:1]
                values = {s.key: _valid_value(s, rng) for s in chosen}
                sent.append(Command(i, device_id, values, with_time=rng.random() < 0.8))
        yield sent


def send_scalar(household: SimHousehold, command: Command) -> str | None:
    """Apply to the scalar household; the error text if it refused."""
    now = household.time if command.with_time else None
    try:
        if command.reset:
            household.reset(command.device_id, now)
        else:
            household.apply(command.device_id, command.settings, now)
    except ValueError as err:
        return str(err)
    return None


def send_fleet(fleet: Fleet, command: Command) -> str | None:
    now = fleet.time if command.with_time else None
    try:
        if command.reset:
            fleet.reset(command.household, command.device_id, now)
        else:
            fleet.apply(command.household, command.device_id, command.settings, now)
    except ValueError as err:
        return str(err)
    return None


def send_both(households: list[SimHousehold], fleet: Fleet, sent: list[Command], offset: int = 0) -> int:
    """Send to both; a refused command must be refused with the same words and leave the fleet as it was."""
    refused = 0
    for command in sent:
        i = command.household
        before = fleet.states(i + offset)
        shifted = Command(i + offset, command.device_id, command.settings, command.reset, command.with_time)
        scalar_error, fleet_error = send_scalar(households[i], command), send_fleet(fleet, shifted)
        assert scalar_error == fleet_error
        if fleet_error is not None:
            refused += 1
            assert fleet.states(i + offset) == before
    return refused


def physics(hh: SimHousehold) -> list[float]:
    """Every number the fleet must reproduce, in a fixed order (NaN where the device is missing)."""
    d = hh.devices
    ev, hp, battery = d.get("ev"), d.get("heat_pump"), d.get("battery")
    return [
        hh.power_w,
        hh.import_wh,
        hh.export_wh,
        *(d[k].power_w if k in d else np.nan for k in KINDS),
        getattr(hp, "indoor_c", np.nan),
        getattr(ev, "soc", np.nan),
        float(getattr(ev, "plugged", np.nan)),
        getattr(battery, "soc", np.nan),
    ]


def fleet_physics(fleet: Fleet, offset: int, n: int) -> np.ndarray:
    """The same numbers from the fleet's arrays (rows offset..offset + n)."""
    rows = slice(offset, offset + n)
    owned = np.array([[k in devices for k in KINDS] for devices in fleet.devices[rows]])

    def only(kind: str, values: np.ndarray) -> np.ndarray:
        return np.where(owned[:, KINDS.index(kind)], values, np.nan)

    return np.column_stack(
        [
            fleet.power_w[rows],
            fleet.meter.import_wh[rows],
            fleet.meter.export_wh[rows],
            np.where(owned, fleet.power[1:, rows].T, np.nan),
            only("heat_pump", fleet.heat_pump.indoor_c[rows]),
            only("ev", fleet.ev.soc[rows]),
            only("ev", fleet.ev.plugged[rows].astype(float)),
            only("battery", fleet.battery.soc[rows]),
        ]
    )


def assert_same_physics(households: list[SimHousehold], fleet: Fleet, minute: int, offset: int = 0) -> None:
    expected = np.array([physics(h) for h in households])
    got = fleet_physics(fleet, offset, len(households))
    same = (expected == got) | (np.isnan(expected) & np.isnan(got))
    if not same.all():
        i, column = np.argwhere(~same)[0]
        pytest.fail(
            f"minute {minute}, {households[i].id}, value {column}: scalar {expected[i, column]!r}, "
            f"fleet {got[i, column]!r}"
        )


def scalar_states(hh: SimHousehold) -> dict[str, dict[str, object]]:
    states = {d: hh.device_state(d) for d in hh.devices}
    states["meter"] = {"power_w": round(hh.power_w, 1)}
    return states


def floors(configs: list[SimHouseholdConfig]) -> list[float]:
    return [c.heat_pump.setpoint_c - FLOOR_MARGIN_C if c.heat_pump else np.nan for c in configs]


def run_both(
    households: list[SimHousehold],
    traces: list[Trace],
    fleet: Fleet,
    minutes: int,
    seed: int,
) -> int:
    """`minutes` of commands and steps on both, checking every minute; the number of refused commands."""
    refused = 0
    for minute, sent in enumerate(commands(households, minutes, seed), 1):
        refused += send_both(households, fleet, sent)
        for hh, trace in zip(households, traces, strict=True):
            assert hh.time is not None
            _physics_until(hh, trace, hh.time + MINUTE)
        fleet.step()
        assert fleet.time == households[0].time
        assert_same_physics(households, fleet, minute)
        if minute % 15 == 0 or sent:
            for i, hh in enumerate(households):
                assert fleet.states(i) == scalar_states(hh), f"minute {minute}, {hh.id}"
    return refused


def assert_record_matches(
    record: PhaseRecord, traces: list[Trace], configs: list[SimHouseholdConfig]
) -> None:
    """Half-hourly means as Trace.half_hourly, energy per half-hour, cold minutes and EV departures."""
    for i, (trace, config) in enumerate(zip(traces, configs, strict=True)):
        assert record.half_hourly(record.net_kw, i) == trace.half_hourly(trace.net_kw)
        for device_id, kw in trace.device_kw.items():
            assert record.half_hourly(record.device_kw[device_id], i) == trace.half_hourly(kw)
        for device_id, series in record.device_kw.items():
            if device_id not in trace.device_kw:
                assert np.isnan(series[:, i]).all()
        for register, sign in ((record.import_kwh, 1.0), (record.export_kwh, -1.0)):
            kwh: dict[datetime, float] = {}
            for t, net in zip(trace.times, trace.net_kw, strict=True):
                period = period_start(t - timedelta(seconds=30))
                kwh[period] = kwh.get(period, 0.0) + max(sign * net, 0.0) / 60
            assert record.periods == list(kwh)
            assert register[:, i] == pytest.approx(list(kwh.values()), rel=1e-9, abs=1e-12)
        floor = config.heat_pump.setpoint_c - FLOOR_MARGIN_C if config.heat_pump else np.nan
        assert record.indoor_below_minutes[i] == int(np.sum(np.asarray(trace.indoor_c) < floor))
        assert record.ev_departures[i] == trace.ev_departures
    assert record.half_hourly(record.outdoor_c[:, None], 0) == traces[0].half_hourly(traces[0].outdoor_c)
    assert list(record.samples) == [30] * len(record.periods)


def started(configs: list[SimHouseholdConfig]) -> tuple[list[SimHousehold], Fleet]:
    households = [build_household(c) for c in configs]
    for hh in households:
        hh.advance_to(START)
    fleet = Fleet(configs, START)
    assert fleet.time == START
    return households, fleet


def test_fleet_steps_exactly_as_the_scalar_households(configs: list[SimHouseholdConfig]) -> None:
    households, fleet = started(configs)
    for i, hh in enumerate(households):  # the 0 s first step: powers set, no energy
        assert fleet.states(i) == scalar_states(hh)
    assert_same_physics(households, fleet, 0)
    traces = [Trace() for _ in households]
    fleet.record(floors(configs))
    refused = run_both(households, traces, fleet, 2 * 24 * 60, seed=7)
    record = fleet.stop_recording()
    assert refused > 20  # the stream did try bad values
    assert_record_matches(record, traces, configs)
    assert sum(len(d) for d in record.ev_departures) >= 15  # each car left at least once
    assert record.indoor_below_minutes.sum() > 0  # low setpoints and caps made some homes cold


@pytest.mark.parametrize("twins", ["copy", "doubled"])
def test_twins_continue_from_the_same_state(configs: list[SimHouseholdConfig], twins: str) -> None:
    """A copy (or the second half of a doubled fleet) carries settings, pending EV delays and their
    generators: each twin then follows its own commands as a deep copy of the scalar households does."""
    configs = configs[:12]
    households, fleet = started(configs)
    run_both(households, [Trace() for _ in households], fleet, 20 * 60, seed=11)  # to 20:00: cars plugged
    other = [copy.deepcopy(hh) for hh in households]
    if twins == "copy":
        second, offset = fleet.copy(), 0
    else:
        fleet = fleet.doubled()
        second, offset = fleet, len(configs)
        assert fleet.n == 2 * len(configs)
    for minute, (mine, theirs) in enumerate(
        zip(commands(households, 180, seed=12), commands(households, 180, seed=13), strict=True), 1
    ):
        send_both(households, fleet, mine)
        send_both(other, second, theirs, offset)
        for hh in (*households, *other):
            assert hh.time is not None
            hh.advance_to(hh.time + MINUTE)
        fleet.step()
        if second is not fleet:
            second.step()
        assert_same_physics(households, fleet, minute)
        assert_same_physics(other, second, minute, offset)


def test_a_refused_command_reads_as_the_scalar_one_and_changes_nothing(
    configs: list[SimHouseholdConfig],
) -> None:
    households, fleet = started(configs[:12])
    i = next(j for j, c in enumerate(configs[:12]) if c.ev and c.heat_pump)
    bad: list[tuple[str, dict[str, object]]] = [
        ("ev", {"max_power_w": 9000.0}),
        ("ev", {"max_power_w": "fast"}),
        ("ev", {"max_power_w": 3000.0, "mode": "eco"}),
        ("heat_pump", {"setpoint_c": 40}),
        ("heat_pump", {"max_power_w": True}),
        ("garage_door", {"open": True}),
    ]
    before = fleet.states(i)
    for device_id, settings in bad:
        with pytest.raises(ValueError, match=r".+") as scalar:
            households[i].apply(device_id, settings)
        with pytest.raises(ValueError, match=r".+") as vectorised:
            fleet.apply(i, device_id, settings)
        assert str(vectorised.value) == str(scalar.value)
    assert fleet.states(i) == before
    # No delay was drawn for the refused EV commands: the next valid one waits as long in both.
    households[i].apply("ev", {"max_power_w": 2000.0})
    fleet.apply(i, "ev", {"max_power_w": 2000.0})
    ev = households[i].devices["ev"]
    assert isinstance(ev, EvCharger)
    assert ev._pending is not None
    _, asked_at, delay = ev._pending
    assert asked_at is not None
    assert fleet.ev.pending_due[i] == to_us(asked_at + timedelta(seconds=delay))


def test_the_fleet_refuses_what_it_cannot_run_exactly(configs: list[SimHouseholdConfig]) -> None:
    synthetic = make_population(3, 1)
    with pytest.raises(ValueError, match="realistic"):
        Fleet(synthetic, START)
    with pytest.raises(ValueError, match="whole minute"):
        Fleet(configs[:2], START + timedelta(seconds=30))
    fleet = Fleet(configs[:2], START)
    with pytest.raises(ValueError, match="whole minutes"):
        fleet.advance_to(START + timedelta(minutes=5, seconds=1))
    fleet.advance_to(START + timedelta(minutes=5))
    assert fleet.time == START + timedelta(minutes=5)


@pytest.mark.parametrize(
    "start",
    [datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 10, 24, 5, tzinfo=UTC)],
    ids=["spring-forward", "fall-back"],
)
def test_default_behaviour_is_exact_across_a_clock_change(
    configs: list[SimHouseholdConfig], start: datetime
) -> None:
    """Local days of 23 and 25 hours: plug runs, EV sessions and off-peak windows stay the scalar ones."""
    households = [build_household(c) for c in configs[:15]]
    for hh in households:
        hh.advance_to(start)
    fleet = Fleet(configs[:15], start)
    for minute in range(1, 2 * 24 * 60 + 1):
        for hh in households:
            hh.advance_to(start + minute * MINUTE)
        fleet.step()
        assert_same_physics(households, fleet, minute)
