"""One price all day (a standard variable tariff)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from homeflex.tariffs import DEFAULT_EXPORT_GBP_PER_KWH, check_price, register


@register("flat")
@dataclass(frozen=True, kw_only=True)
class Flat:
    import_gbp_per_kwh: float = 0.245  # Ofgem price cap, 2025 unit rate (rounded)
    export_gbp_per_kwh: float = DEFAULT_EXPORT_GBP_PER_KWH
    name: str = "flat"

    def __post_init__(self) -> None:
        check_price("import_gbp_per_kwh", self.import_gbp_per_kwh)
        check_price("export_gbp_per_kwh", self.export_gbp_per_kwh)

    def import_price(self, when: datetime) -> float:
        return self.import_gbp_per_kwh

    def export_price(self, when: datetime) -> float:
        return self.export_gbp_per_kwh
