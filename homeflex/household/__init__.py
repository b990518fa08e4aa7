"""A household's configuration: one typed, versioned document (``HouseholdConfig``)."""

from homeflex.household.config import (
    SCHEMA,
    DeviceConfig,
    HouseholdConfig,
    MeterConfig,
    load_config_file,
    parse_config,
)

__all__ = [
    "SCHEMA",
    "DeviceConfig",
    "HouseholdConfig",
    "MeterConfig",
    "load_config_file",
    "parse_config",
]
