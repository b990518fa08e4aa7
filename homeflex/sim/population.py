"""A seeded population of simulated households: the platform's view (spec) plus the physics behind it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from homeflex.core.domain import Category, DeviceKind, DeviceSpec, HouseholdSpec, Stage
from homeflex.sim.household import SimHousehold
from homeflex.sim.physics.base_load import BaseLoad, BaseLoadParams
from homeflex.sim.physics.battery import Battery, BatteryParams
from homeflex.sim.physics.ev import EvCharger, EvParams
from homeflex.sim.physics.heat_pump import HeatPump, HeatPumpParams
from homeflex.sim.physics.pv import PvInverter, PvParams
from homeflex.sim.physics.settings import DeviceModel
from homeflex.sim.physics.smart_plug import SmartPlug, SmartPlugParams
from homeflex.sim.physics.solar import CloudyClearSky, IrradianceSource, PlaneSite
from homeflex.sim.physics.weather import LondonWeather, TemperatureSource, WeatherParams
from homeflex.sim.realdata.sources import real_sources

CATEGORY_SHARES = {Category.A: 0.1, Category.B: 0.3, Category.C: 0.4, Category.D: 0.2}
DEVICE_SHARES = {"ev": 0.5, "heat_pump": 0.4, "battery": 0.3, "pv": 0.4, "plug": 0.3}
FLEXIBLE = ("ev", "heat_pump", "battery", "plug")
DeviceParams = EvParams | HeatPumpParams | BatteryParams | PvParams | SmartPlugParams


@dataclass(frozen=True, kw_only=True)
class SimHouseholdConfig:
    """One simulated household. `seed` drives its own behaviour; `weather_seed` the sky it shares.

    `realistic`: London 2019 weather and a real UK base-load shape (homeflex.sim.realdata) instead of the
    synthetic sources; `weather` and `weather_seed` then play no part.
    """

    spec: HouseholdSpec
    seed: int
    weather_seed: int = 0
    base_load: BaseLoadParams = field(default_factory=BaseLoadParams)
    weather: WeatherParams = field(default_factory=WeatherParams)
    ev: EvParams | None = None
    heat_pump: HeatPumpParams | None = None
    battery: BatteryParams | None = None
    pv: PvParams | None = None
    plug: SmartPlugParams | None = None
    realistic: bool = False

    def __post_init__(self) -> None:
        have = {key for key in DEVICE_SHARES if getattr(self, key) is not None}
        specs = {d.id for d in self.spec.devices}
        if have != specs:
            raise ValueError(
                f"{self.spec.id}: device specs {sorted(specs)} do not match params {sorted(have)}"
            )


def device_limit_w(params: DeviceParams) -> float:
    """The device's AC limit, as DeviceSpec.max_power_w reports it."""
    match params:
        case EvParams() | PvParams():
            return params.p_ac_max_w
        case HeatPumpParams():
            return params.p_el_max_w
        case BatteryParams():
            return params.p_max_w
        case SmartPlugParams():
            return params.power_w


KINDS = {
    "ev": DeviceKind.EV_CHARGER,
    "heat_pump": DeviceKind.HEAT_PUMP,
    "battery": DeviceKind.BATTERY,
    "pv": DeviceKind.PV,
    "plug": DeviceKind.SMART_PLUG,
}


def _counts(n: int, shares: dict[Category, float]) -> dict[Category, int]:
    """Largest-remainder apportionment of n over the shares."""
    exact = {k: n * s for k, s in shares.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: counts[k] - exact[k])[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


def make_population(n: int, seed: int, *, realistic: bool = False) -> list[SimHouseholdConfig]:
    """n households hh001..: categories and devices by share, 1 in 10 vulnerable (in C and D by turns).

    `realistic` households run on real weather and base-load data; every draw stays the same.
    """
    if n < 1:
        raise ValueError("a population needs at least one household")
    rng = random.Random(seed)
    categories = [c for c, k in _counts(n, CATEGORY_SHARES).items() for _ in range(k)]
    rng.shuffle(categories)
    vulnerable: set[int] = set()
    for i in range(round(n / 10)):
        pool = [
            j
            for j, c in enumerate(categories)
            if c == (Category.C, Category.D)[i % 2] and j not in vulnerable
        ]
        if pool:
            vulnerable.add(rng.choice(pool))
    owners = {key: set(rng.sample(range(n), round(share * n))) for key, share in DEVICE_SHARES.items()}
    configs = []
    for i, category in enumerate(categories):
        keys = [key for key in DEVICE_SHARES if i in owners[key]]
        if category != Category.D and not any(k in FLEXIBLE for k in keys):
            keys.append("plug")  # categories A-C take part in flex, so each has something to flex
        configs.append(_config(f"hh{i + 1:03d}", category, i in vulnerable, keys, seed, realistic))
    return configs


def _config(
    household_id: str, category: Category, vulnerable: bool, keys: list[str], seed: int, realistic: bool
) -> SimHouseholdConfig:
    # Realistic spread around the devices.md defaults; draws come in a fixed order, so a seed is stable.
    rng = random.Random(f"{seed}:{household_id}")
    own = set(keys)
    ev = heat_pump = battery = pv = plug = None
    if "ev" in own:
        ev = EvParams(
            capacity_wh=rng.choice((40_000.0, 60_000.0, 77_000.0)), target_soc=rng.choice((0.8, 0.9, 1.0))
        )
    if "heat_pump" in own:
        heat_pump = HeatPumpParams(
            htc_w_per_k=round(rng.uniform(150, 300)), q_max_w=rng.choice((5000.0, 6000.0, 8000.0))
        )
    if "battery" in own:
        battery = rng.choice((BatteryParams(), BatteryParams(capacity_wh=9_500.0, p_max_w=3_680.0)))
    if "pv" in own:
        pv = PvParams(p_dc0_w=rng.choice((3000.0, 4000.0, 5000.0)))
    if "plug" in own:
        plug = SmartPlugParams(power_w=float(rng.randrange(1000, 2001, 100)))
    drawn: dict[str, DeviceParams | None] = {
        "ev": ev, "heat_pump": heat_pump, "battery": battery, "pv": pv, "plug": plug
    }  # fmt: skip
    devices = tuple(
        DeviceSpec(id=key, kind=KINDS[key], max_power_w=device_limit_w(p)) for key, p in drawn.items() if p
    )
    spec = HouseholdSpec(
        id=household_id,
        category=category,
        stage=Stage.AUTOMATIC if category == Category.D else Stage.FLEX,
        devices=devices,
        vulnerable=vulnerable,
    )
    return SimHouseholdConfig(
        spec=spec,
        seed=rng.getrandbits(32),
        weather_seed=seed,
        base_load=BaseLoadParams(annual_kwh=round(rng.uniform(2700, 4200))),
        ev=ev,
        heat_pump=heat_pump,
        battery=battery,
        pv=pv,
        plug=plug,
        realistic=realistic,
    )


def build_household(config: SimHouseholdConfig) -> SimHousehold:
    """The physics for a config; devices keyed by their DeviceSpec ids.

    A realistic config needs the data wheels in .cache/: MissingWheelError names the `pip download`.
    """
    seed = config.seed
    base_load: BaseLoad
    weather: TemperatureSource
    sky: IrradianceSource
    if config.realistic:
        real = real_sources(
            seed=seed, annual_kwh=config.base_load.annual_kwh, heat_pump=bool(config.heat_pump)
        )
        base_load, weather, sky = real.base_load, real.temperature, real.irradiance
    else:
        base_load = BaseLoad(config.base_load, seed=seed)
        weather = LondonWeather(config.weather, seed=config.weather_seed)
        sky = CloudyClearSky(PlaneSite(), config.weather_seed)
    models: dict[str, DeviceModel] = {}
    if config.ev is not None:
        models["ev"] = EvCharger(config.ev, seed=seed)
    if config.heat_pump is not None:
        models["heat_pump"] = HeatPump(config.heat_pump)
    if config.battery is not None:
        models["battery"] = Battery(config.battery)
    if config.pv is not None:
        models["pv"] = PvInverter(sky, config.pv)
    if config.plug is not None:
        models["plug"] = SmartPlug(config.plug, seed=seed)
    return SimHousehold(
        config.spec.id,
        base_load=base_load,
        weather=weather,
        devices=models,
    )
