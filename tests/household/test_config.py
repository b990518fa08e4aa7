"""The household configuration document: one type, read strictly, written and read back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homeflex.control.setup import HouseholdSetup
from homeflex.core.strict import ConfigError
from homeflex.household import HouseholdConfig, load_config_file, parse_config
from homeflex.scenarios.setup import household_config_for, setup_for
from homeflex.sim.population import make_population

EXAMPLE_TOML = """
household_id = "hh042"
version = 3
category = "B"
stage = 3
vulnerable = true

[[devices]]
id = "ev"
kind = "ev_charger"
max_power_w = 7400
protocol = "homeflex"

[[devices]]
id = "washer"
kind = "smart_plug"
max_power_w = 2000
address = { device = "plug-kitchen" }
product = "homeflex simulated plug"

[equipment]
ev_capacity_kwh = 77

[equipment.building]
htc_w_per_k = 180

[preferences]
ev_ready_by_h = 7.0
comfort_min_c = 19.5

[tariff]
type = "two_rate"
"""


def test_every_simulated_household_round_trips_through_json() -> None:
    for sim in make_population(20, seed=7):
        config = household_config_for(sim)
        again = parse_config(json.loads(config.to_json()))
        assert again.to_document() == config.to_document()
        assert again.spec == sim.spec
        assert again.preferences == setup_for(sim).preferences
        assert again.equipment == setup_for(sim).equipment


def test_a_self_installers_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "home.toml"
    path.write_text(EXAMPLE_TOML)
    config = load_config_file(path)
    assert config.household_id == "hh042" and config.version == 3 and config.vulnerable
    assert [d.id for d in config.devices] == ["ev", "washer"]
    assert config.device("washer").address.device == "plug-kitchen"
    assert config.equipment.ev_capacity_kwh == 77 and config.equipment.building.htc_w_per_k == 180
    assert config.preferences.comfort_min_c == 19.5
    assert config.spec.stage == 3
    assert parse_config(json.loads(config.to_json())) == config


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"colour": "red"}, "", "unknown keys ['colour']"),
        ({"category": "Z"}, "category", "one of"),
        ({"stage": 4}, "stage", "1 (manual)"),
        ({"household_id": "hh/1"}, "household_id", "one MQTT topic level"),
        ({"version": "2"}, "version", "wrong type"),
        ({"schema": 99}, "schema", "reads schema 1"),
        ({"devices": [{"id": "ev", "kind": "ev_charger"}]}, "devices[0].max_power_w", "missing"),
        ({"devices": [{"id": "ev", "kind": "toaster", "max_power_w": 1}]}, "devices[0].kind", "one of"),
        (
            {
                "devices": [
                    {"id": "ev", "kind": "ev_charger", "max_power_w": 7400, "protocol": "carrier-pigeon"}
                ]
            },
            "devices[0].protocol",
            "unknown device protocol 'carrier-pigeon'; known: ",
        ),
        (
            {"devices": [{"id": "ev", "kind": "ev_charger", "max_power_w": 7400, "address": {"ip": "1"}}]},
            "devices[0].address",
            "unknown keys ['ip']; valid: ['ack_timeout_s', 'attempts', 'device']",
        ),
        (
            {"devices": [{"id": "ev", "kind": "ev_charger", "max_power_w": -1}]},
            "devices[0].max_power_w",
            "watts",
        ),
        ({"preferences": {"comfort_min_c": 21, "comfort_max_c": 21.5}}, "preferences", "at least 1 °C"),
        ({"preferences": {"ev_ready_at": 7}}, "preferences", "unknown keys ['ev_ready_at']"),
        ({"equipment": {"building": {"walls": 4}}}, "equipment.building", "unknown keys ['walls']"),
        ({"tariff": {"type": "free"}}, "tariff", "unknown tariff type 'free'"),
    ],
)
def test_a_bad_field_is_named_with_what_is_wrong(change: dict[str, object], field: str, says: str) -> None:
    raw = {"household_id": "hh001", **change}
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert err.value.field == field
    assert says in err.value.message


def test_duplicate_devices_are_refused() -> None:
    device = {"id": "ev", "kind": "ev_charger", "max_power_w": 7400}
    with pytest.raises(ConfigError, match="duplicate device ids"):
        parse_config({"household_id": "hh001", "devices": [device, device]})


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("household_id = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config_file(bad)


def test_defaults_make_a_household() -> None:
    config = HouseholdConfig(household_id="hh001")
    assert config.spec.devices == () and HouseholdSetup.of(config).tariff.import_price is not None
