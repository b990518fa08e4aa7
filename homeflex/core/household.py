"""What a household is beyond its devices (core.domain): its equipment (the building's heat loss and
thermal mass, the heat pump's flow curve, the car's and the battery's sizes) and its preferences (what it
wants). Plain values: the household's configuration document carries them, the portal fills them in from
the smart energy profile, and the control loop plans with them. Defaults match a typical UK home."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Building:
    """1R1C building: heat-transfer coefficient H (W/K), capacity C (kWh/K), internal gains (kW)."""

    htc_w_per_k: float = 200.0
    capacity_kwh_per_k: float = 8.0
    initial_indoor_c: float = 20.0
    internal_gains_kw: float = 0.3

    def __post_init__(self) -> None:
        if self.htc_w_per_k <= 0 or self.capacity_kwh_per_k <= 0 or self.internal_gains_kw < 0:
            raise ValueError("building: H > 0, C > 0 and gains >= 0 required")


@dataclass(frozen=True, kw_only=True)
class HeatPump:
    """Air-source heat pump with a linear weather-compensation flow curve (Staffell COP)."""

    max_electric_kw: float = 2.5
    max_thermal_kw: float = float("inf")  # heat output limit: at a good COP it binds before the electrical
    min_thermal_kw: float = 0.0  # below this output the pump cannot modulate (dispatch runs it on/off)
    ground_source: bool = False
    flow_c_at_cold: float = 45.0  # flow temperature at outdoor ``cold_outdoor_c``
    cold_outdoor_c: float = -2.0
    flow_c_at_mild: float = 25.0  # flow temperature at outdoor ``mild_outdoor_c``
    mild_outdoor_c: float = 20.0

    def __post_init__(self) -> None:
        if min(self.max_electric_kw, self.max_thermal_kw) <= 0 or self.mild_outdoor_c <= self.cold_outdoor_c:
            raise ValueError("heat pump: max_electric_kw > 0 and mild_outdoor_c > cold_outdoor_c required")


@dataclass(frozen=True, kw_only=True)
class Preferences:
    ev_ready_by_h: float = 7.5  # local hour the car must be charged by
    ev_target_soc: float = 0.8
    comfort_min_c: float = 19.0
    comfort_max_c: float = 22.0
    battery_reserve_soc: float = 0.1
    max_import_kw: float | None = None  # the household's own import limit; None: the supply's
    min_event_share: float = 0.25  # opt in only when at least this share of a request can be delivered
    vulnerable_margin_c: float = 0.5  # planned above the lower comfort bound in a vulnerable home

    def __post_init__(self) -> None:
        if not 0 <= self.ev_ready_by_h < 24:
            raise ValueError("ev_ready_by_h must be a local hour in [0, 24)")
        if not 0 < self.ev_target_soc <= 1 or not 0 <= self.battery_reserve_soc < 1:
            raise ValueError("ev_target_soc must be in (0, 1] and battery_reserve_soc in [0, 1)")
        if self.comfort_max_c - self.comfort_min_c < 1.0:
            raise ValueError("the comfort band must be at least 1 °C wide")
        if self.max_import_kw is not None and self.max_import_kw <= 0:
            raise ValueError("max_import_kw must be positive")
        if not 0 < self.min_event_share <= 1 or self.vulnerable_margin_c < 0:
            raise ValueError("min_event_share must be in (0, 1] and vulnerable_margin_c >= 0")


@dataclass(frozen=True, kw_only=True)
class Equipment:
    ev_capacity_kwh: float = 60.0
    ev_efficiency: float = 0.9
    ev_taper_soc: float = 0.8  # above this the car takes less than the charger's maximum (CC-CV)
    battery_capacity_kwh: float = 13.5
    battery_round_trip: float = 0.9
    building: Building = field(default_factory=Building)
    heat_pump: HeatPump = field(default_factory=HeatPump)

    def __post_init__(self) -> None:
        if self.ev_capacity_kwh <= 0 or self.battery_capacity_kwh <= 0:
            raise ValueError("capacities must be positive")
        if not 0 < self.ev_efficiency <= 1 or not 0 < self.battery_round_trip <= 1:
            raise ValueError("efficiencies must be in (0, 1]")
