"""The baseline method contract, its registry, and the event window every method may receive.

    method(period, history, /, *, excluded_days=frozenset(), event=None, **params) -> kWh, NaN if unknown

`period` is an aware UTC half-hour start; `history` maps UTC period starts to measured kWh (NaN or absent =
no data). `event` is the event being settled: day-based methods ignore it, same-day methods need it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from homeflex.core import registry
from homeflex.core.timeutil import periods


@dataclass(frozen=True, kw_only=True)
class EventWindow:
    """[start, end) of a flex event, aware datetimes; it covers the half-hours it overlaps."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("event start and end must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("event end must be after its start")

    def periods(self) -> list[datetime]:
        """UTC starts of the half-hours the event overlaps."""
        return periods(self.start, self.end)


class BaselineMethod(Protocol):
    # Methods add their own keyword-only parameters, each with a default; compute_baseline checks
    # the names, so a typo is an error rather than silently the default.
    def __call__(
        self,
        period: datetime,
        history: Mapping[datetime, float],
        /,
        *,
        excluded_days: frozenset[date] = ...,
        event: EventWindow | None = ...,
    ) -> float: ...


class Registry(registry.Registry[BaselineMethod]):
    """Name -> baseline method (core.registry: duplicate and unknown names are errors that list the
    valid choices), and what each method takes, read from its signature."""

    def __init__(self) -> None:
        super().__init__("baseline method")

    def params(self, name: str) -> tuple[str, ...]:
        """The method's own keyword parameters (beyond excluded_days and event)."""
        sig = inspect.signature(self.get(name))
        own = (p for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY)
        return tuple(p.name for p in own if p.name not in ("excluded_days", "event"))

    def defaults(self, name: str) -> dict[str, object]:
        """The method's own keyword parameters with their defaults."""
        sig = inspect.signature(self.get(name))
        return {n: sig.parameters[n].default for n in self.params(name)}

    def history_days(self, name: str, params: Mapping[str, object]) -> int:
        """How many days before the event day the method may read, under `params` (the rest default):
        its `lookback_days`, or `weeks` of 7 days; 0 for a method that reads only the event day."""
        merged = {**self.defaults(name), **params}
        days = [merged.get("lookback_days"), 7 * w if isinstance(w := merged.get("weeks"), int) else None]
        return max((d for d in days if isinstance(d, int)), default=0)


# Filled once at import by the method modules' decorators; read-only afterwards.
METHODS = Registry()
register = METHODS.register


def compute_baseline(
    method: str,
    period: datetime,
    history: Mapping[datetime, float],
    *,
    excluded_days: frozenset[date] = frozenset(),
    event: EventWindow | None = None,
    **params: object,
) -> float:
    """Run the named method; unknown parameter names raise ValueError listing the accepted ones."""
    fn = METHODS.get(method)
    accepted = list(METHODS.params(method))
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"{method}: unknown parameters {unknown}; accepted: {accepted}")
    return fn(period, history, excluded_days=excluded_days, event=event, **params)
