"""The physical household: device models and base load on one meter (the "wires")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from homeflex.core.timeutil import iso
from homeflex.sim.physics.base_load import BaseLoad
from homeflex.sim.physics.battery import Battery
from homeflex.sim.physics.ev import EvCharger
from homeflex.sim.physics.heat_pump import HeatPump
from homeflex.sim.physics.pv import PvInverter
from homeflex.sim.physics.settings import DeviceModel
from homeflex.sim.physics.smart_plug import SmartPlug
from homeflex.sim.physics.weather import TemperatureSource


class SimHousehold:
    """Steps every model and keeps the meter registers (Wh, cumulative) and net power (W, + import)."""

    def __init__(
        self,
        household_id: str,
        *,
        base_load: BaseLoad,
        weather: TemperatureSource,
        devices: Mapping[str, DeviceModel] | None = None,
        import_wh: float = 0.0,
        export_wh: float = 0.0,
    ) -> None:
        self.id = household_id
        self.base_load = base_load
        self.weather = weather
        self.devices = dict(devices or {})
        self.import_wh = import_wh
        self.export_wh = export_wh
        self.power_w = 0.0
        self.time: datetime | None = None  # end of the last step

    def step(self, now: datetime, dt_s: float) -> None:
        """Advance over the `dt_s` seconds ending at `now`; dt_s = 0 only refreshes the powers."""
        outdoor_c = self.weather(now)
        net = self.base_load.step(now, dt_s)
        batteries = []
        for device in self.devices.values():
            match device:
                case HeatPump() | PvInverter():
                    net += device.step(now, dt_s, outdoor_c)
                case EvCharger() | SmartPlug():
                    net += device.step(now, dt_s)
                case Battery():
                    batteries.append(device)
                case _:
                    raise TypeError(f"{self.id}: no stepping rule for {type(device).__name__}")
        for battery in batteries:  # last: in self-consumption mode it answers the rest of the house
            net += battery.step(now, dt_s, net)
        hours = dt_s / 3600
        self.import_wh += max(net, 0.0) * hours
        self.export_wh += max(-net, 0.0) * hours
        self.power_w = net
        self.time = now

    def advance_to(self, now: datetime, max_step_s: float = 60.0) -> None:
        """Step in pieces of at most `max_step_s` from the last step to `now`; a first call sets the time."""
        if self.time is None:
            self.step(now, 0.0)
            return
        while self.time < now:
            dt = min(max_step_s, (now - self.time).total_seconds())
            self.step(self.time + timedelta(seconds=dt), dt)

    def refresh(self) -> None:
        """Recompute the powers at the current time, e.g. right after new settings; energy does not move."""
        if self.time is not None:
            self.step(self.time, 0.0)

    def device(self, device_id: str) -> DeviceModel:
        try:
            return self.devices[device_id]
        except KeyError:
            valid = ", ".join(self.devices) or "none"
            raise ValueError(f"{self.id} has no device {device_id!r} (devices: {valid})") from None

    def apply(self, device_id: str, settings: Mapping[str, object], now: datetime | None = None) -> None:
        """Validate all of `settings` (ValueError names the problem), then apply them together."""
        device = self.device(device_id)
        try:
            values = device.settings.validate(settings)
        except ValueError as err:
            raise ValueError(f"{self.id}/{device_id}: {err}") from None
        device.apply(values, now or self.time)

    def reset(self, device_id: str, now: datetime | None = None) -> None:
        """Back to default behaviour: every setting to None."""
        device = self.device(device_id)
        device.apply(dict.fromkeys(device.settings.values), now or self.time)

    def device_state(self, device_id: str) -> dict[str, object]:
        device = self.device(device_id)
        return {
            "kind": device.kind.value,
            "power_w": round(device.power_w, 1),
            "settings": dict(device.settings.values),
            **device.state(),
        }

    def meter_reading(self, now: datetime) -> dict[str, object]:
        return {
            "ts": iso(now),
            "import_wh": round(self.import_wh, 3),
            "export_wh": round(self.export_wh, 3),
            "power_w": round(self.power_w, 1),
        }
