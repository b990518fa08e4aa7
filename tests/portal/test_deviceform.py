"""The profile's device form is made from the driver registry: a driver registered later (here a test
driver, as the OCPP and Shelly drivers are) is offered for the kinds it drives, with its address fields
read from its own address dataclass, and its own checks shown beside the field they name."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from homeflex.core.domain import Category, DeviceKind, Stage
from homeflex.drivers import DRIVERS, DriverInfo, Expiry
from homeflex.portal.deviceform import address_fields, choices, keep_secrets, wiring_fields
from homeflex.portal.energy import ProfileError, check_compatibility, connectivity, parse_profile
from homeflex.portal.profileconfig import Household, household_config
from tests.portal.helpers import PROFILE_FORM


@dataclass(frozen=True, kw_only=True)
class WallboxAddress:
    charge_point_id: str
    port: int = 9000
    ratio: float | None = None
    tls: bool = False
    password: str | None = None
    phases: tuple[int, ...] = (1,)  # not a form type: typed as text, the driver's parsing decides

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be in 1..65535, got {self.port}")


FAKE = DriverInfo(
    protocol="wallbox",
    title="Wallbox test protocol",
    kinds=frozenset({DeviceKind.EV_CHARGER}),
    products=("Test Charger One", "Test Charger Two"),
    expiry=Expiry.NATIVE,
    fail_safe="its own default",
    config=WallboxAddress,
    build=lambda link, address: None,  # type: ignore[arg-type,return-value]
)
HOME = Household(
    household_id="hh-form", stage=Stage.AUTOMATIC, category=Category.B, vulnerable=False, group="g"
)


@pytest.fixture
def wallbox(monkeypatch: pytest.MonkeyPatch) -> DriverInfo:
    """The test driver in the registry for one test only."""
    DRIVERS.names()  # the built-in drivers first
    monkeypatch.setitem(DRIVERS._entries, FAKE.protocol, FAKE)
    return FAKE


def test_address_fields_come_from_the_drivers_dataclass() -> None:
    fields = {f.key: f for f in address_fields("ev_charger", FAKE)}
    assert list(fields) == ["charge_point_id", "port", "ratio", "tls", "password", "phases"]
    assert fields["charge_point_id"].required and fields["charge_point_id"].kind is str
    assert (fields["port"].kind, fields["port"].default, fields["port"].required) == (int, 9000, False)
    assert fields["ratio"].kind is float and fields["tls"].flag and fields["password"].secret
    assert fields["phases"].kind is str and fields["phases"].default == (1,)
    assert fields["port"].name == "ev_charger_wallbox_port"


def test_a_registered_driver_is_offered_for_its_kinds_only(wallbox: DriverInfo) -> None:
    assert "wallbox" in [c.protocol for c in choices("ev_charger")]
    assert "wallbox" not in [c.protocol for c in choices("heat_pump")]
    assert connectivity()["wallbox"] == "Wallbox test protocol (e.g. Test Charger One, Test Charger Two)"
    [ok] = check_compatibility({"ev_charger": "wallbox"})
    [no] = check_compatibility({"heat_pump": "wallbox"})
    assert ok.compatible and "Test Charger Two" in ok.why
    assert not no.compatible and "Wallbox test protocol drives EV and charger here" in no.why


def _form(**fields: str) -> dict[str, str]:
    return {**PROFILE_FORM, "ev_charger_protocol": "wallbox", **fields}


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({}, "ev_charger_wallbox_charge_point_id", "required for Wallbox test protocol"),
        ({"ev_charger_wallbox_port": "x"}, "ev_charger_wallbox_port", "a whole number"),
        ({"ev_charger_wallbox_ratio": "x"}, "ev_charger_wallbox_ratio", "a number"),
    ],
)
def test_the_forms_own_checks(wallbox: DriverInfo, fields: dict[str, str], field: str, says: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(_form(ev_charger_wallbox_charge_point_id="CP1", **fields) if fields else _form())
    assert field in caught.value.errors and says in caught.value.errors[field]


def test_the_drivers_check_is_shown_beside_the_field_it_names(wallbox: DriverInfo) -> None:
    profile = parse_profile(_form(ev_charger_wallbox_charge_point_id="CP1", ev_charger_wallbox_port="0"))
    with pytest.raises(ProfileError) as caught:
        household_config(profile, HOME)
    assert caught.value.errors == {"ev_charger_wallbox_port": "port must be in 1..65535, got 0"}


def test_a_valid_form_is_the_drivers_address_and_a_password_is_kept(wallbox: DriverInfo) -> None:
    form = _form(
        ev_charger_wallbox_charge_point_id="CP1",
        ev_charger_wallbox_tls="on",
        ev_charger_wallbox_password="s3cret",
        ev_charger_product="Test Charger One",
    )
    profile = parse_profile(form)
    config = household_config(profile, HOME)
    [ev] = config.devices
    assert ev.protocol == "wallbox" and ev.product == "Test Charger One"
    assert ev.address == WallboxAddress(charge_point_id="CP1", tls=True, password="s3cret")
    shown = wiring_fields("ev_charger", profile["wiring"]["ev_charger"])
    assert shown["ev_charger_wallbox_charge_point_id"] == "CP1" and "ev_charger_wallbox_password" not in shown
    again = keep_secrets({**form, "ev_charger_wallbox_password": ""}, profile)
    assert again["ev_charger_wallbox_password"] == "s3cret"
    moved = keep_secrets(
        {**form, "ev_charger_protocol": "homeflex", "ev_charger_wallbox_password": ""}, profile
    )
    assert moved["ev_charger_wallbox_password"] == ""  # another protocol now: nothing carried over


def test_without_a_protocol_the_device_speaks_the_documents_default() -> None:
    config = household_config(parse_profile(PROFILE_FORM), HOME)
    assert [d.protocol for d in config.devices] == ["homeflex"]
