"""A household with several smart plugs and a metering product, filled in the way a householder does:
the profile form posted over HTTP with the session's CSRF token. A bad field comes back beside that
field with nothing stored; a good form is one new stored version, sent retained to the household's
agent, whose plugs are the device ids the platform's broker lets a household log in as; another
household's login cannot change it."""

from __future__ import annotations

from homeflex.household.follow import retained_config
from homeflex.mqtt.access import HOUSEHOLD_PARTS
from homeflex.portal.journey import Step
from homeflex.portal.skipnotice import MqttRetainedPublisher
from tests.portal.conftest import Stack
from tests.portal.helpers import PASSWORD, PROFILE_FORM, Client, customer_at

PLUGS = {  # three plugs, each a Shelly behind its own topic prefix
    "has_smart_plug": "on",
    "smart_appliances": "2",
    "smart_plug_kw": "2.0",
    "smart_plug_protocol": "shelly",
    "smart_plug_shelly_topic_prefix": "homeflex/v1/{hh}/shellyplusplugs-washer",
    "has_smart_plug1": "on",
    "smart_plug1_kw": "1.5",
    "smart_plug1_protocol": "shelly",
    "smart_plug1_shelly_topic_prefix": "homeflex/v1/{hh}/shellyplusplugs-dryer",
    "smart_plug1_product": "Shelly Plus Plug S",
    "has_smart_plug3": "on",
    "smart_plug3_kw": "0.8",
    "smart_plug3_protocol": "shelly",
    "smart_plug3_shelly_topic_prefix": "homeflex/v1/{hh}/shellyplusplugs-dishwasher",
}
METER = {
    "meter_protocol": "shelly_pro3em",
    "meter_product": "Shelly Pro 3EM",
    "meter_shelly_pro3em_topic_prefix": "homeflex/v1/{hh}/shellypro3em-supply",
}


def _form(hh: str, **changes: str) -> dict[str, str]:
    return {k: v.format(hh=hh) for k, v in {**PROFILE_FORM, **PLUGS, **METER, **changes}.items()}


async def _refused_beside_the_fields(web: Client, url: str, hh: str) -> None:
    """A plug without its address, and a meter prefix with a wildcard: each said beside its field."""
    status, text = await web.post(
        url,
        _form(hh, smart_plug3_shelly_topic_prefix="", meter_shelly_pro3em_topic_prefix="homeflex/v1/{hh}/#"),
    )
    assert status == 400
    assert 'id="smart_plug3_shelly_topic_prefix-error"' in text
    assert 'id="smart_plug3_shelly_topic_prefix" name="smart_plug3_shelly_topic_prefix" value=""' in text
    assert 'id="smart_plug1_shelly_topic_prefix-error"' not in text
    # The driver's own check (the meter's topic), beside the meter's field, the form kept as typed.
    status, text = await web.post(url, _form(hh, meter_shelly_pro3em_topic_prefix="homeflex/v1/{hh}/#"))
    assert status == 400
    assert 'id="meter_shelly_pro3em_topic_prefix-error"' in text and "without wildcards" in text
    assert f'value="homeflex/v1/{hh}/shellyplusplugs-dryer"' in text
    assert 'id="has_smart_plug3" name="has_smart_plug3" checked' in text  # the ticks kept too
    assert 'id="smart_plug3_kw" name="smart_plug3_kw" inputmode="decimal" value="0.8"' in text


async def test_several_plugs_and_a_meter_product_from_the_profile_form(
    stack: Stack, mqtt_url: str, cleared: list[str]
) -> None:
    p = stack.portal
    p.publisher = MqttRetainedPublisher(mqtt_url)
    c = await customer_at(p, Step.ACCOUNT, "plugs@example.org")
    hh = c.household_id
    cleared.append(hh)
    web = Client(stack.portal_url)
    try:
        await web.login("plugs@example.org", PASSWORD)
        url = f"/households/{hh}/profile"
        await _refused_beside_the_fields(web, url, hh)
        assert await p.storage.household_config_versions(hh) == []

        status, text = await web.post(url, _form(hh))
        assert status == 200 and "Your profile is saved." in text
        [version] = await p.storage.household_config_versions(hh)
        assert version.version == 1
        stored = await p.storage.latest_household_config(hh)
        sent = await retained_config(mqtt_url, hh)
        assert stored is not None and sent is not None and sent.to_document() == stored.document
        plugs = [d for d in sent.devices if d.kind.value == "smart_plug"]
        assert [(d.id, d.max_power_w, d.protocol) for d in plugs] == [
            ("plug", 2000.0, "shelly"),
            ("plug1", 1500.0, "shelly"),
            ("plug3", 800.0, "shelly"),
        ]
        assert {d.id for d in sent.devices} <= set(HOUSEHOLD_PARTS)
        assert plugs[1].product == "Shelly Plus Plug S"
        assert plugs[2].address.topic_prefix == f"homeflex/v1/{hh}/shellyplusplugs-dishwasher"
        assert sent.meter.protocol == "shelly_pro3em" and sent.meter.product == "Shelly Pro 3EM"
        assert sent.meter.address.topic_prefix == f"homeflex/v1/{hh}/shellypro3em-supply"

        # The page shows it back: the third plug ticked, the meter's address filled in.
        status, text = await web.get(f"/households/{hh}")
        assert status == 200
        assert 'id="has_smart_plug3" name="has_smart_plug3" checked' in text
        assert 'id="has_smart_plug2" name="has_smart_plug2" >' in text
        assert f'value="homeflex/v1/{hh}/shellypro3em-supply"' in text

        # Removing a plug and going back to the simulated meter is the next version.
        less = {k: v for k, v in _form(hh, meter_protocol="homeflex").items() if "smart_plug3" not in k}
        status, _ = await web.post(url, {k: v for k, v in less.items() if k != "meter_product"})
        assert status == 200
        again = await retained_config(mqtt_url, hh)
        assert again is not None and again.version == 2
        assert [d.id for d in again.devices if d.kind.value == "smart_plug"] == ["plug", "plug1"]
        assert again.meter.protocol == "homeflex"
    finally:
        await web.close()


async def test_another_households_login_cannot_change_the_plugs(
    stack: Stack, mqtt_url: str, cleared: list[str]
) -> None:
    p = stack.portal
    p.publisher = MqttRetainedPublisher(mqtt_url)
    mine = await customer_at(p, Step.PROFILE, "plugs-mine@example.org")
    await customer_at(p, Step.PROFILE, "plugs-theirs@example.org")
    cleared.append(mine.household_id)
    before = await p.storage.household_config_versions(mine.household_id)
    attacker = Client(stack.portal_url)
    try:
        await attacker.login("plugs-theirs@example.org", PASSWORD)
        status, text = await attacker.post(
            f"/households/{mine.household_id}/profile", _form(mine.household_id)
        )
        assert status in (403, 404) and "shellyplusplugs" not in text
    finally:
        await attacker.close()
    assert await p.storage.household_config_versions(mine.household_id) == before
    c = await p.customer(mine.household_id)
    assert "smart_plug1" not in c.data["profile"]["devices"]
