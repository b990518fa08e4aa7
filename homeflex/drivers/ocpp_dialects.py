"""The OCPP driver's requests in each version it speaks: the same intent (set up meter values, set or
clear the command's charging profile, read the composite schedule back), the version's own messages.

OCPP 2.0.1 (protocols.md §1 [O4]): SetChargingProfile{evseId, chargingProfile} whose chargingSchedule is
a list; ClearChargingProfile by chargingProfileCriteria; GetCompositeSchedule answers a ``schedule``;
meter values are configured with SetVariables on the AlignedDataCtrlr (MeterValues, always) and the
SampledDataCtrlr (TransactionEvent, while charging) instead of ChangeConfiguration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from homeflex.drivers.ocpp_messages import PURPOSE

ACCEPTED = frozenset({"Accepted", "RebootRequired"})


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One configuration request; ``accepted(result)`` says whether the charger took it."""

    request: Any
    name: str

    def accepted(self, result: Any) -> bool:
        status = getattr(result, "status", None)
        if status is None:  # 2.0.1 SetVariables: one result per variable
            status = (getattr(result, "set_variable_result", None) or [{}])[0].get("attribute_status")
        return status in ACCEPTED


class Dialect(Protocol):
    def meter_setup(self, interval_s: int, measurands: Sequence[str]) -> list[Setting]: ...

    def set_profile(self, connector_id: int, profile: dict[str, Any]) -> Any:
        """``profile``: a 1.6 csChargingProfiles (homeflex.drivers.ocpp_messages.charging_profile)."""
        ...

    def clear_profile(self, connector_id: int, stack_level: int) -> Any: ...

    def composite(self, connector_id: int, duration_s: int, unit: str) -> Any: ...

    def composite_schedule(self, result: Any) -> dict[str, Any] | None:
        """The answer's schedule as {charging_rate_unit, charging_schedule_period}."""
        ...


class V16:
    def meter_setup(self, interval_s: int, measurands: Sequence[str]) -> list[Setting]:
        return [
            Setting(request=call16.ChangeConfiguration(key=key, value=value), name=f"{key}={value}")
            for key, value in (
                ("MeterValueSampleInterval", str(interval_s)),
                ("MeterValuesSampledData", ",".join(measurands)),
            )
        ]

    def set_profile(self, connector_id: int, profile: dict[str, Any]) -> Any:
        return call16.SetChargingProfile(connector_id=connector_id, cs_charging_profiles=profile)

    def clear_profile(self, connector_id: int, stack_level: int) -> Any:
        return call16.ClearChargingProfile(
            connector_id=connector_id, charging_profile_purpose=PURPOSE, stack_level=stack_level
        )

    def composite(self, connector_id: int, duration_s: int, unit: str) -> Any:
        return call16.GetCompositeSchedule(
            connector_id=connector_id, duration=duration_s, charging_rate_unit=unit
        )

    def composite_schedule(self, result: Any) -> dict[str, Any] | None:
        return getattr(result, "charging_schedule", None)


def _variable(component: str, variable: str, value: str) -> dict[str, Any]:
    return {"attribute_value": value, "component": {"name": component}, "variable": {"name": variable}}


class V201:
    def meter_setup(self, interval_s: int, measurands: Sequence[str]) -> list[Setting]:
        settings = []
        for component, interval, which in (
            ("AlignedDataCtrlr", "Interval", "Measurands"),
            ("SampledDataCtrlr", "TxUpdatedInterval", "TxUpdatedMeasurands"),
        ):
            for variable, value in ((interval, str(interval_s)), (which, ",".join(measurands))):
                settings.append(
                    Setting(
                        request=call201.SetVariables(
                            set_variable_data=[_variable(component, variable, value)]
                        ),
                        name=f"{component}.{variable}={value}",
                    )
                )
        return settings

    def set_profile(self, connector_id: int, profile: dict[str, Any]) -> Any:
        charging_profile = {
            "id": profile["charging_profile_id"],
            "stack_level": profile["stack_level"],
            "charging_profile_purpose": profile["charging_profile_purpose"],
            "charging_profile_kind": profile["charging_profile_kind"],
            "charging_schedule": [{"id": profile["charging_profile_id"], **profile["charging_schedule"]}],
        }
        if "valid_to" in profile:
            charging_profile["valid_to"] = profile["valid_to"]
        return call201.SetChargingProfile(evse_id=connector_id, charging_profile=charging_profile)

    def clear_profile(self, connector_id: int, stack_level: int) -> Any:
        criteria = {"evse_id": connector_id, "charging_profile_purpose": PURPOSE, "stack_level": stack_level}
        return call201.ClearChargingProfile(charging_profile_criteria=criteria)

    def composite(self, connector_id: int, duration_s: int, unit: str) -> Any:
        return call201.GetCompositeSchedule(
            duration=duration_s, evse_id=connector_id, charging_rate_unit=unit
        )

    def composite_schedule(self, result: Any) -> dict[str, Any] | None:
        return getattr(result, "schedule", None)


DIALECTS: dict[str, Dialect] = {"1.6": V16(), "2.0.1": V201()}
