"""A charge point's charging profiles (OCPP 1.6 §3.13, §7.8-7.13), as a simulated charger keeps them.

- A profile with the same id, or the same connector, purpose and stackLevel, replaces the old one.
- At a time t, a profile is in force when t is in [validFrom, validTo) and within its schedule
  (startSchedule .. + duration); its limit is that of the last period started.
- Within a purpose the highest stackLevel in force wins; a TxProfile overrides the TxDefaultProfile; the
  ChargePointMaxProfile caps the result (the effective limit is the minimum of the two).
- ``A`` limits are per phase: ``numberPhases`` missing means 3 (§7.12).
Profiles drop out on the charger's own clock: nothing needs the central system for an expiry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MAX_STACK_LEVEL = 8  # the charger's ChargeProfileMaxStackLevel
PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True, kw_only=True)
class Period:
    start_s: float
    limit: float
    phases: int


@dataclass(frozen=True, kw_only=True)
class Profile:
    id: int
    connector_id: int
    stack_level: int
    purpose: str
    valid_from: datetime | None
    valid_to: datetime | None
    start: datetime  # the schedule's start
    duration_s: float | None
    unit: str
    periods: tuple[Period, ...]

    @classmethod
    def parse(cls, connector_id: int, raw: Mapping[str, Any], now: datetime) -> Profile:
        """From a SetChargingProfile's csChargingProfiles (snake_case); ValueError when it is not usable.
        A Relative (or Recurring) schedule starts now: the simulated charger's transaction is always on."""
        schedule = raw["charging_schedule"]
        periods = tuple(
            Period(
                start_s=float(p["start_period"]),
                limit=float(p["limit"]),
                phases=int(p.get("number_phases", 3)),
            )
            for p in schedule["charging_schedule_period"]
        )
        if not periods or periods[0].start_s != 0 or any(p.limit < 0 for p in periods):
            raise ValueError("a schedule needs periods starting at 0 with limits of at least 0")
        start = _time(schedule.get("start_schedule")) if raw["charging_profile_kind"] == "Absolute" else None
        return cls(
            id=int(raw["charging_profile_id"]),
            connector_id=connector_id,
            stack_level=int(raw["stack_level"]),
            purpose=str(raw["charging_profile_purpose"]),
            valid_from=_time(raw.get("valid_from")),
            valid_to=_time(raw.get("valid_to")),
            start=start or now,
            duration_s=schedule.get("duration"),
            unit=str(schedule["charging_rate_unit"]),
            periods=periods,
        )

    def period_at(self, t: datetime) -> Period | None:
        if self.valid_from is not None and t < self.valid_from:
            return None
        if self.valid_to is not None and t >= self.valid_to:
            return None
        offset = (t - self.start).total_seconds()
        if offset < 0 or (self.duration_s is not None and offset >= self.duration_s):
            return None
        return [p for p in self.periods if p.start_s <= offset][-1]

    def changes(self) -> list[datetime]:
        """Every moment its limit may change."""
        moments = [self.start + timedelta(seconds=p.start_s) for p in self.periods]
        if self.duration_s is not None:
            moments.append(self.start + timedelta(seconds=self.duration_s))
        return moments + [t for t in (self.valid_from, self.valid_to) if t is not None]


class ProfileStack:
    """The profiles of one connector (and those of connector 0, which apply to every connector)."""

    def __init__(self, connector_id: int, volts: float, max_stack_level: int = MAX_STACK_LEVEL) -> None:
        self.connector_id = connector_id
        self.volts = volts
        self.max_stack_level = max_stack_level  # 0: a charger that takes stack level 0 only (ABB Terra AC)
        self.profiles: list[Profile] = []

    def set(self, profile: Profile) -> str:
        """Accepted or Rejected, as the charger answers a SetChargingProfile."""
        if profile.connector_id not in (0, self.connector_id) or profile.purpose not in PURPOSES:
            return "Rejected"
        if not 0 <= profile.stack_level <= self.max_stack_level or profile.unit not in ("A", "W"):
            return "Rejected"
        if profile.purpose == "ChargePointMaxProfile" and profile.connector_id != 0:
            return "Rejected"
        self.profiles = [
            p
            for p in self.profiles
            if p.id != profile.id
            and (p.connector_id, p.purpose, p.stack_level)
            != (profile.connector_id, profile.purpose, profile.stack_level)
        ]
        self.profiles.append(profile)
        return "Accepted"

    def clear(
        self, *, id: int | None, connector_id: int | None, purpose: str | None, stack_level: int | None
    ) -> str:
        """ClearChargingProfile: the profiles matching every criterion given; Unknown when none did."""

        def matches(p: Profile) -> bool:
            if id is not None:
                return p.id == id
            return (
                (connector_id is None or p.connector_id == connector_id)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        kept = [p for p in self.profiles if not matches(p)]
        cleared = len(kept) < len(self.profiles)
        self.profiles = kept
        return "Accepted" if cleared else "Unknown"

    def limit_w(self, t: datetime) -> float | None:
        """The effective limit at ``t`` in W (None: no profile limits the charger)."""
        by_purpose: dict[str, float] = {}
        for purpose in PURPOSES:
            in_force = [
                (p.stack_level, period, p)
                for p in self.profiles
                if p.purpose == purpose
                if (period := p.period_at(t)) is not None
            ]
            if in_force:
                _, period, profile = max(in_force, key=lambda x: x[0])
                by_purpose[purpose] = self._watts(profile.unit, period)
        tx = by_purpose.get("TxProfile", by_purpose.get("TxDefaultProfile"))
        limits = [v for v in (tx, by_purpose.get("ChargePointMaxProfile")) if v is not None]
        return min(limits) if limits else None

    def next_change(self, t: datetime) -> datetime | None:
        later = [m for p in self.profiles for m in p.changes() if m > t]
        return min(later) if later else None

    def drop_expired(self, t: datetime) -> None:
        self.profiles = [p for p in self.profiles if p.valid_to is None or p.valid_to > t]

    def _watts(self, unit: str, period: Period) -> float:
        return period.limit if unit == "W" else period.limit * self.volts * period.phases
