"""A smart plug feeding one appliance that runs on a seeded daily schedule."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from homeflex.core.domain import DeviceKind
from homeflex.core.timeutil import local_date
from homeflex.sim.physics.calendar import DailyDraw, local_at
from homeflex.sim.physics.settings import DeviceModel, SwitchSetting


@dataclass(frozen=True, kw_only=True)
class SmartPlugParams:
    power_w: float = 1500.0  # appliance draw while running, e.g. a dishwasher or dehumidifier
    runs_per_day: tuple[int, int] = (1, 2)
    run_h: tuple[float, float] = (1.0, 2.0)
    evening_start_h: tuple[float, float] = (17.0, 21.0)  # the first run is in the evening peak
    day_start_h: tuple[float, float] = (8.0, 15.0)  # any further run starts in the day

    def __post_init__(self) -> None:
        if self.power_w <= 0 or not 1 <= self.runs_per_day[0] <= self.runs_per_day[1]:
            raise ValueError("smart plug: power must be positive and runs_per_day at least 1")


def draw_runs(p: SmartPlugParams, rng: random.Random, day: date) -> list[tuple[datetime, datetime]]:
    """The appliance's runs (UTC start, end) that start on local `day`."""
    runs = []
    for i in range(rng.randint(*p.runs_per_day)):
        start = local_at(day, rng.uniform(*(p.evening_start_h if i == 0 else p.day_start_h)))
        runs.append((start, start + timedelta(hours=rng.uniform(*p.run_h))))
    return runs


class SmartPlug(DeviceModel):
    """Setting `on`: False cuts the appliance off (None or True: it runs on its schedule)."""

    kind = DeviceKind.SMART_PLUG

    def __init__(self, params: SmartPlugParams | None = None, *, seed: int = 0) -> None:
        self.params = params or SmartPlugParams()
        super().__init__([SwitchSetting("on")])
        self.runs_on: DailyDraw[list[tuple[datetime, datetime]]] = DailyDraw(
            seed, "plug", lambda rng, day: draw_runs(self.params, rng, day)
        )

    @property
    def on(self) -> bool:
        return self.settings.switch("on") is not False

    def scheduled(self, now: datetime) -> bool:
        """Whether the appliance wants to run at `now` (a late run may carry over midnight)."""
        today = local_date(now)
        days = (today - timedelta(days=1), today)
        return any(start <= now < end for day in days for start, end in self.runs_on(day))

    def step(self, now: datetime, dt_s: float) -> float:
        self.power_w = self.params.power_w if self.on and self.scheduled(now) else 0.0
        return self.power_w

    def state(self) -> dict[str, object]:
        return {"on": self.on}
