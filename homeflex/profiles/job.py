"""The stage-1 profile job: learn each household's profile from its stored meter readings, judge its
readiness, and keep it as a new version.

A new version is stored only when what was learned differs from the latest version (its number and
as_of aside) or its readiness does: running the job again over the same data adds nothing, as with
settlement, and `learned_at` stays when that version was first learned. Only the net meter energy is
stored today, so the learned profile has base load and coverage but no per-device parts.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeflex.core import topics
from homeflex.core.timeutil import periods
from homeflex.metering.energy import period_energy_kwh
from homeflex.mqtt import MqttSession
from homeflex.profiles import (
    DayTypeLoad,
    HouseholdProfile,
    ReadinessRule,
    learn_profile,
    profile_from_json,
    profile_to_json,
    readiness,
)
from homeflex.storage import CorruptRecordError, Storage
from homeflex.storage.records import ProfileRecord

log = logging.getLogger(__name__)

WINDOW = timedelta(days=28)  # readings older than this before as_of are not read
UNVERSIONED = ("version", "as_of")  # document keys that change on every run without anything learned


@dataclass(frozen=True, kw_only=True)
class LearnAll:
    records: list[ProfileRecord]  # the latest version per household learned, new or unchanged
    failed: dict[str, str]  # household id -> why it was skipped


async def learn_and_store(
    storage: Storage,
    household_id: str,
    as_of: datetime,
    rule: ReadinessRule | None = None,
    *,
    learned_at: datetime | None = None,
    window: timedelta = WINDOW,
) -> ProfileRecord:
    """Learn from the readings in [as_of - window, as_of]; returns the household's latest version, new
    or (if nothing changed) the one stored before. `learned_at` defaults to `as_of`.

    LookupError for an unknown household; CorruptRecordError if its latest version cannot be read.
    """
    if await storage.get_household(household_id) is None:
        raise LookupError(f"unknown household {household_id!r}")
    energy = await half_hourly_energy(storage, household_id, as_of - window, as_of)
    profile = learn_profile(household_id, energy, as_of=as_of, version=0)  # storage numbers it
    verdict = readiness(profile, rule)
    document = json.loads(json.dumps(profile_to_json(profile)))  # as it will read back
    latest = await storage.latest_profile(household_id)
    if (
        latest is not None
        and latest.ready == verdict.ready
        and list(latest.reasons) == verdict.reasons
        and _learned(latest.profile) == _learned(document)
    ):
        return latest
    return await storage.save_profile(
        household_id,
        as_of=as_of,
        learned_at=as_of if learned_at is None else learned_at,
        ready=verdict.ready,
        reasons=verdict.reasons,
        profile=document,
    )


async def learn_all(
    storage: Storage,
    as_of: datetime,
    rule: ReadinessRule | None = None,
    *,
    learned_at: datetime | None = None,
    window: timedelta = WINDOW,
) -> LearnAll:
    """learn_and_store for every registered household; one whose stored profile is corrupt is logged
    and skipped, so it cannot stop the others."""
    records: list[ProfileRecord] = []
    failed: dict[str, str] = {}
    for household in await storage.list_households():
        try:
            records.append(
                await learn_and_store(
                    storage, household.id, as_of, rule, learned_at=learned_at, window=window
                )
            )
        except CorruptRecordError as err:
            log.error("profile of %s not learned: %s", household.id, err)
            failed[household.id] = str(err)
    return LearnAll(records=records, failed=failed)


async def half_hourly_energy(
    storage: Storage, household_id: str, start: datetime, end: datetime
) -> dict[datetime, float]:
    """Net kWh per UTC half-hour from the first stored reading in [start, end] up to `end`; NaN where
    not measurable (so readings that stop early lower the coverage). Empty when there are none."""
    readings = await storage.readings(household_id, start, end)
    if not readings:
        return {}
    return period_energy_kwh(readings, periods(readings[0].ts, end))


def stored_profile(record: ProfileRecord) -> HouseholdProfile:
    """The profile a stored version holds. CorruptRecordError if its document is not a valid profile."""
    try:
        return profile_from_json(record.profile)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        why = f"missing key {err}" if isinstance(err, KeyError) else str(err)
        raise CorruptRecordError(
            f"stored profile of household {record.household_id!r} version {record.version} is corrupt: {why}"
        ) from err


def profile_document(record: ProfileRecord) -> dict[str, Any]:
    """A stored version's document, checked to be a valid profile and in the current JSON form."""
    return profile_to_json(stored_profile(record))


def _learned(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in UNVERSIONED}


# -- a compact summary for people ------------------------------------------------------------------


def profile_summary(profile: HouseholdProfile) -> list[str]:
    """A few lines: coverage, base load per day type, then each learned device."""
    cov = profile.coverage
    lines = [
        f"coverage: {cov.days_observed} days observed, {cov.measured_periods} of {cov.expected_periods}"
        f" half-hours measured ({math.floor(round(cov.fraction * 100, 6))} %)",
        _load_line("weekday", profile.weekday),
        _load_line("weekend", profile.weekend),
    ]
    if profile.ev is not None:
        ev = profile.ev
        lines.append(
            f"EV: {len(ev.sessions)} sessions, plug-in ~{_clock(ev.typical_plug_in_hour)} local,"
            f" {ev.typical_duration_h:.1f} h, {ev.median_energy_kwh:.1f} kWh (median)"
        )
    if profile.heat_pump is not None:
        hp = profile.heat_pump
        sign = "-" if hp.slope_kw_per_c < 0 else "+"
        lines.append(
            f"heat pump: kW = {hp.intercept_kw:.2f} {sign} {abs(hp.slope_kw_per_c):.3f} x outdoor °C"
            f" (R² {hp.r_squared:.2f}, {hp.samples} half-hours)"
        )
    if profile.pv is not None:
        pv = profile.pv
        lines.append(
            f"PV: {pv.mean_daily_generation_kwh:.1f} kWh/day, peak {pv.peak_generation_kw:.1f} kW"
            f" over {pv.days} days"
        )
    if profile.battery is not None:
        b = profile.battery
        lines.append(
            f"battery: charges {b.mean_daily_charge_kwh:.1f} kWh/day, discharges"
            f" {b.mean_daily_discharge_kwh:.1f} kWh/day over {b.days} days"
        )
    if all(d is None for d in (profile.ev, profile.heat_pump, profile.pv, profile.battery)):
        lines.append("devices: none learned")
    return lines


def _load_line(name: str, load: DayTypeLoad) -> str:
    known = [(kwh, slot) for slot, kwh in enumerate(load.mean_kwh) if math.isfinite(kwh)]
    if not known:
        return f"{name} base load: no data"
    peak_kwh, peak_slot = max(known)
    return (
        f"{name} base load: {load.days} days, {sum(k for k, _ in known):.1f} kWh/day,"
        f" peak {_clock(peak_slot / 2)}-{_clock(peak_slot / 2 + 0.5)} local ({peak_kwh:.2f} kWh)"
    )


def _clock(hour: float) -> str:
    minutes = round(hour * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def profile_message(record: ProfileRecord) -> dict[str, Any]:
    """What the household's control loop gets on ``homeflex/v1/<hh>/profile`` (retained)."""
    return {
        "version": record.version,
        "ready": record.ready,
        "reasons": list(record.reasons),
        "profile": profile_document(record),
    }


async def publish_profiles(mqtt_url: str, records: Sequence[ProfileRecord]) -> None:
    """Send each household its latest profile and readiness, retained, so a control loop that starts
    later still gets it."""
    async with MqttSession(mqtt_url, f"profiles-{uuid.uuid4().hex[:8]}", part="profiles") as session:
        for record in records:
            await session.publish(topics.profile(record.household_id), profile_message(record), retain=True)
