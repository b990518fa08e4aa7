"""Value objects of a learned household profile (stage 1, manual mode).

Energy is kWh per UTC half-hour, power is kW. Consumption is positive (homeflex sign convention);
PV generation and battery figures below are stated as positive magnitudes, as their names say.
Local slots are Europe/London wall-clock half-hours of the day: slot 0 is 00:00-00:30 local.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SLOTS_PER_DAY = 48


@dataclass(frozen=True, kw_only=True)
class DayTypeLoad:
    """Base load (household net less known devices) per local half-hour slot for one day type."""

    days: int  # local days of this type with at least one reading
    mean_kwh: tuple[float, ...]  # per slot; NaN where no sample
    p10_kwh: tuple[float, ...]
    p90_kwh: tuple[float, ...]
    samples: tuple[int, ...]  # readings behind each slot

    def __post_init__(self) -> None:
        for name in ("mean_kwh", "p10_kwh", "p90_kwh", "samples"):
            if len(getattr(self, name)) != SLOTS_PER_DAY:
                raise ValueError(f"{name} must have {SLOTS_PER_DAY} slots")
        if self.days < 0:
            raise ValueError("days must not be negative")


@dataclass(frozen=True, kw_only=True)
class Coverage:
    """How much metered data the profile rests on."""

    days_observed: int  # local dates with at least one reading
    expected_periods: int  # UTC half-hours in the observed local days (DST days have 46 or 50)
    measured_periods: int  # of those, half-hours with a finite reading

    @property
    def fraction(self) -> float:
        return self.measured_periods / self.expected_periods if self.expected_periods else 0.0


@dataclass(frozen=True, kw_only=True)
class EvSession:
    """Contiguous non-zero charging. Plug-in/out are seen as charge start/end (UTC)."""

    plug_in: datetime
    plug_out: datetime
    energy_kwh: float

    def __post_init__(self) -> None:
        if self.plug_in.tzinfo is None or self.plug_out.tzinfo is None:
            raise ValueError("session times must be timezone-aware")
        if self.plug_out <= self.plug_in:
            raise ValueError("plug_out must be after plug_in")


@dataclass(frozen=True, kw_only=True)
class EvProfile:
    sessions: tuple[EvSession, ...]
    typical_plug_in_hour: float  # local hour of day (circular mean), e.g. 18.0
    typical_duration_h: float  # median
    mean_energy_kwh: float  # per session
    median_energy_kwh: float


@dataclass(frozen=True, kw_only=True)
class HeatPumpFit:
    """Least-squares kW = intercept_kw + slope_kw_per_c * outdoor °C over half-hours with heating."""

    intercept_kw: float
    slope_kw_per_c: float
    r_squared: float
    samples: int

    def predict_kw(self, outdoor_c: float) -> float:
        return self.intercept_kw + self.slope_kw_per_c * outdoor_c


@dataclass(frozen=True, kw_only=True)
class PvProfile:
    days: int
    mean_daily_generation_kwh: float  # magnitude
    peak_generation_kw: float  # magnitude


@dataclass(frozen=True, kw_only=True)
class BatteryProfile:
    days: int
    mean_daily_charge_kwh: float
    mean_daily_discharge_kwh: float  # magnitude

    @property
    def mean_daily_throughput_kwh(self) -> float:
        return self.mean_daily_charge_kwh + self.mean_daily_discharge_kwh


@dataclass(frozen=True, kw_only=True)
class HouseholdProfile:
    household_id: str
    version: int
    as_of: datetime
    coverage: Coverage
    weekday: DayTypeLoad
    weekend: DayTypeLoad  # Saturdays, Sundays and England & Wales bank holidays
    ev: EvProfile | None = None
    heat_pump: HeatPumpFit | None = None
    pv: PvProfile | None = None
    battery: BatteryProfile | None = None

    def __post_init__(self) -> None:
        if not self.household_id:
            raise ValueError("household_id must not be empty")
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        if self.version < 0:
            raise ValueError("version must not be negative")
