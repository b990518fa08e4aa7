"""The portal in a real browser: Debian's Chromium, headless, driven by Playwright.

Skipped with the reason where chromium or playwright is missing, unless HOMEFLEX_REQUIRE_SERVICES=1
(then they fail, as on CI). Screenshots go to the test's folder, or to HOMEFLEX_SCREENSHOTS (the
README's docs/screenshots/ were taken with HOMEFLEX_SCREENSHOTS=docs/screenshots).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from homeflex.core.domain import DeviceKind
from homeflex.drivers import DRIVERS
from homeflex.metering.ingest import Ingestor
from homeflex.portal.journey import Role, Step
from tests.portal.conftest import (
    INSTALLER,
    NOW,
    OPERATOR,
    Stack,
    event_day,
    history_csv,
    history_kwh,
    kwh_at,
)
from tests.portal.helpers import PASSWORD, customer_at
from tests.portal.home import meter_readings, publish_meter, running_home, until

CHROMIUM = "/usr/bin/chromium"
EVENT_START = NOW.replace(hour=17, minute=0)
HISTORY_DAYS = timedelta(days=28)


def _unavailable() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"no {CHROMIUM}: apt-get install chromium"
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    why = _unavailable()
    if why and os.environ.get("HOMEFLEX_REQUIRE_SERVICES") == "1":
        pytest.fail(f"HOMEFLEX_REQUIRE_SERVICES=1 but {why}")
    if why:
        pytest.skip(why)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("HOMEFLEX_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _page(browser: Any, stack: Stack, *, phone: bool = False) -> Any:
    size = {"width": 390, "height": 844} if phone else {"width": 1100, "height": 900}
    context = await browser.new_context(base_url=stack.portal_url, viewport=size)
    return await context.new_page()


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.innerText.trim())
  .map(el => el.outerHTML)
  .concat([...document.querySelectorAll('svg')].filter(s => !s.getAttribute('aria-label')).map(s => 'svg'))"""


async def _check_accessible(page: Any) -> None:
    """Every control has a label (or its own text), every chart a name, the page a language."""
    assert await page.evaluate(UNLABELLED) == []
    assert await page.get_attribute("html", "lang") == "en-GB"


async def _login(page: Any, email: str, password: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state()


async def _move(op: Any, household_id: str, step_title: str) -> None:
    await op.goto("/console")
    await op.get_by_role("button", name=f"{household_id}: {step_title}").click()
    await op.wait_for_load_state()


async def _join(stack: Stack, hh: Any, op: Any, shots: Path) -> str:
    """Steps 1-4: interest on a phone, compatibility, a session, the invite and the account."""
    session_at = stack.clock.now() + timedelta(days=2)
    await op.get_by_label("Starts (UTC)").fill(session_at.strftime("%Y-%m-%dT18:30"))
    await op.get_by_label("Place or link").fill("Community hall")
    await op.get_by_role("button", name="Schedule").click()
    await op.wait_for_load_state()
    await hh.goto("/")
    await hh.keyboard.press("Tab")  # keyboard users reach "Skip to content" first
    assert await hh.evaluate("document.activeElement.textContent") == "Skip to content"
    await _check_accessible(hh)
    await hh.screenshot(path=shots / "01-interest.png", full_page=True)
    await hh.get_by_label("Your name").fill("Grace Hopper")
    await hh.get_by_label("Email").fill("grace@example.org")
    await hh.get_by_label("Postcode").fill("M1 1AA")
    await hh.get_by_label("be paid for reducing my use in DSO events").check()
    await hh.get_by_label("EV and charger").select_option("homeflex")
    await hh.get_by_label("Storage heaters").select_option("cloud")
    await hh.get_by_role("button", name="Send").click()
    await hh.wait_for_url(re.compile(r"/apply/"))
    body = await hh.inner_text("main")
    assert "EV and charger: compatible" in body
    assert "Storage heaters: not compatible yet" in body
    await hh.get_by_label(re.compile("Community hall")).check()
    await hh.get_by_role("button", name="Book this session").click()
    await hh.wait_for_load_state()
    assert "You are booked on" in await hh.inner_text("main")
    await hh.screenshot(path=shots / "02-information-session.png", full_page=True)
    household_id = (await stack.portal.store.customers())[0].household_id
    await _move(op, household_id, "Invited to the portal")
    mail = [m for m in await stack.portal.store.outbox("grace@example.org") if "invitation" in m.subject]
    link = re.search(r"(/invite/\S+)", mail[0].body)
    assert link
    await hh.goto(link[1])
    await hh.get_by_label(re.compile("Choose a password")).fill(PASSWORD)
    await hh.get_by_role("button", name="Create account").click()
    await hh.wait_for_url(re.compile(f"/households/{household_id}$"))
    return household_id


async def _set_up(hh: Any, shots: Path, tmp_path: Path, day: datetime) -> None:
    """Steps 5-7: the profile with 28 days of meter data up to `day` (bad rows reported by line), the
    plan, the assessment."""
    csv_file = tmp_path / "meter.csv"
    history = history_csv(day - HISTORY_DAYS, day)
    last = day - timedelta(minutes=30)
    csv_file.write_text(history + f"{last:%Y-%m-%d %H:%M:%S},-1\nnot a time,0.2\n")
    await hh.get_by_label("Type of home").select_option("semi-detached")
    await hh.locator("#has_ev_charger").check()
    await hh.get_by_label(re.compile("Half-hourly meter data")).set_input_files(str(csv_file))
    await hh.get_by_role("button", name="Save my profile").click()
    await hh.wait_for_load_state()
    text = await hh.inner_text("main")
    rows = history.count("\n") - 1  # after the header; the two bad rows follow on lines rows+2, +3
    assert f"{rows} half-hours read" in text
    assert f"line {rows + 2}: impossible_value" in text and f"line {rows + 3}: bad_timestamp" in text
    await _check_accessible(hh)
    await hh.screenshot(path=shots / "03-profile.png", full_page=True)
    assert await hh.get_by_label(re.compile("Solar \\+ battery")).is_disabled()
    await hh.get_by_label(re.compile("EV smart charging")).check()
    await hh.get_by_role("button", name="Choose this plan").click()
    await hh.wait_for_load_state()
    await hh.get_by_label(re.compile(INSTALLER[0])).check()
    await hh.get_by_label("Assessment visit date").fill((day + timedelta(days=3)).date().isoformat())
    await hh.screenshot(path=shots / "04-plan-and-quotes.png", full_page=True)
    await hh.get_by_role("button", name="Book the assessment").click()
    await hh.wait_for_load_state()
    assert "Your assessment with installer@example.org" in await hh.inner_text("main")


async def _install_and_stage(household_id: str, hh: Any, op: Any, inst: Any, shots: Path) -> None:
    """Steps 8-9: the installer records the installation (VEN provisioned); stages 2 and 3."""
    await _login(inst, *INSTALLER)
    await inst.get_by_role("button", name="Record installation").click()
    await inst.wait_for_load_state()
    assert f"ven-{household_id}" in await inst.inner_text("main")
    await _move(op, household_id, "Stage 2: automatic")
    await _move(op, household_id, "Stage 3: flexibility")
    await _check_accessible(op)
    await op.screenshot(path=shots / "05-console.png", full_page=True)
    await hh.goto(f"/households/{household_id}")
    text = await hh.inner_text("main")
    assert "Stage 3" in text and "Readiness for automatic control: ready" in text
    await hh.screenshot(path=shots / "06-stage-3.png", full_page=True)


async def test_householder_goes_from_interest_to_stage_3_and_sees_a_payment(
    stack: Stack, browser: Any, shots: Path, tmp_path: Path, mqtt_url: str, uid: str
) -> None:
    """The whole way to a payment, on the real path after the journey: the household's openleadr VEN
    answers the event from its control loop's plan, and the event day's readings come from its meter
    over MQTT through telemetry's ingestor. The event is on a coming weekday (openleadr's VEN judges
    by the wall clock whether an event is over), so the stack's clock starts that morning."""
    day = event_day()
    event_start = day + timedelta(hours=17)
    await stack.clock.advance((day + timedelta(hours=9) - stack.clock.now()).total_seconds())
    op, hh, inst = (
        await _page(browser, stack),
        await _page(browser, stack, phone=True),
        await _page(browser, stack),
    )
    await _login(op, *OPERATOR)
    household_id = await _join(stack, hh, op, shots)
    await _set_up(hh, shots, tmp_path, day)
    await _install_and_stage(household_id, hh, op, inst, shots)

    # 10. An event through the console; the household sees it; its VEN opts in; settlement pays.
    async with (
        running_home(stack, mqtt_url, household_id) as home,
        Ingestor(stack.storage, stack.clock, mqtt_url, identifier=f"ingest-{uid}") as ingestor,
    ):
        await op.goto("/console")
        await op.get_by_label("Start (UTC)").fill(event_start.strftime("%Y-%m-%dT%H:%M"))
        await op.get_by_role("button", name="Create event").click()
        await op.wait_for_url(re.compile("/console/events/ev-"))
        event_id = op.url.rsplit("/", 1)[-1]
        await hh.goto(f"/households/{household_id}/events")
        assert "Skip this one" in await hh.inner_text("main")
        await hh.screenshot(path=shots / "07-events.png", full_page=True)

        async def opted_in() -> bool:
            targets = await stack.storage.event_targets(event_id)
            return [t.opt_type for t in targets] == ["optIn"]

        await until(opted_in, "the VEN's optIn at the VTN")
        assert event_id in home.controller.core.events  # its loop carries the event out
        assert home.ven.decisions[event_id].reason.startswith("plan delivers")

        # After the event the meter sends the day's readings: 0.3 kWh in the event's half-hour.
        await stack.clock.advance(
            (event_start + timedelta(hours=1, minutes=30) - stack.clock.now()).total_seconds()
        )
        readings = meter_readings(
            day,
            stack.clock.now(),
            history_kwh(day - HISTORY_DAYS, day) * 1000,
            lambda t: 0.3 if t == event_start else kwh_at(t),
        )
        stored_before = await stack.storage.count_readings(household_id)
        await publish_meter(mqtt_url, household_id, readings)

        async def stored() -> bool:
            await ingestor.flush()
            return await stack.storage.count_readings(household_id) == stored_before + len(readings) - 1

        await until(stored, "telemetry to store the event day's readings")  # the first was the upload's last
    await op.reload()
    await op.get_by_role("button", name="Run settlement").click()
    await op.wait_for_load_state()
    assert "paid £0" not in await op.inner_text("main")
    await op.screenshot(path=shots / "08-event-settled.png", full_page=True)

    await hh.goto(f"/households/{household_id}/statements")
    text = await hh.inner_text("main")
    paid = re.search(r"Total paid: £([0-9.]+)", text)
    # Baseline 1.2 kWh in the event's half-hour (the same weekday half-hours of the history), actual
    # 0.3 kWh: 0.9 kWh delivered (under the 1 kWh asked) at £1,812/MWh.
    assert paid and paid[1] == "1.63", text
    assert "Baseline vs actual" in await hh.content()
    await _check_accessible(hh)
    await hh.screenshot(path=shots / "09-statement.png", full_page=True)


async def test_operator_creates_and_cancels_an_event(stack: Stack, browser: Any, shots: Path) -> None:
    c = await customer_at(stack.portal, Step.STAGE_3, "ev@example.org")
    for i, step in enumerate(
        [Step.INTEREST, Step.SESSION_BOOKED, Step.SESSION_BOOKED, Step.ACCOUNT, Step.PLAN]
    ):
        await customer_at(stack.portal, step, f"funnel{i}@example.org", with_history=False)
    gone = await customer_at(stack.portal, Step.PROFILE, "gone@example.org", with_history=False)
    await stack.portal.leave(gone, gone.email, Role.HOUSEHOLDER, "moving house")
    op = await _page(browser, stack)
    await _login(op, *OPERATOR)
    rows = await op.locator("table").first.inner_text()
    assert re.search(r"Smart energy profile\s+0\s+3\s+1", rows)  # reached by 3, 1 left from it
    await op.screenshot(path=shots / "10-console-funnel.png", full_page=True)
    await op.get_by_label("Start (UTC)").fill(EVENT_START.strftime("%Y-%m-%dT%H:%M"))
    await op.get_by_label("Reduction per household (kW)").fill("1.5")
    await op.get_by_role("button", name="Create event").click()
    await op.wait_for_url(re.compile("/console/events/ev-"))
    text = await op.inner_text("main")
    assert c.household_id in text and "1.5 kW per household" in text
    event_id = op.url.rsplit("/", 1)[-1]
    stored = await stack.storage.get_event(event_id)
    assert stored is not None and stored.reduction_kw == 1.5
    notices = [m for m in await stack.portal.store.outbox("ev@example.org") if "event" in m.subject]
    assert notices and notices[0].send_after.hour >= 8  # never overnight
    # The household skips it: its answer becomes an opt-out the console shows as a customer override.
    hh = await _page(browser, stack, phone=True)
    await _login(hh, "ev@example.org", PASSWORD)
    await hh.goto(f"/households/{c.household_id}/events")
    await hh.get_by_role("button", name=re.compile("Skip the event")).click()
    await hh.wait_for_load_state()
    assert "skipped (customer override)" in await hh.inner_text("main")
    await op.reload()
    assert "optOut (customer override)" in await op.inner_text("main")
    await op.get_by_role("button", name="Cancel event").click()
    await op.wait_for_load_state()
    assert "cancelled" in await op.inner_text("main")
    # A bad request is refused with the VTN's reason and creates nothing.
    await op.goto("/console")
    await op.get_by_label("Start (UTC)").fill(EVENT_START.strftime("%Y-%m-%dT%H:%M"))
    await op.get_by_label("Group").fill("nobody")
    await op.get_by_role("button", name="Create event").click()
    await op.wait_for_load_state()
    assert "group 'nobody' has no households" in await op.inner_text("main")
    assert len(await stack.storage.list_events()) == 1


async def test_householder_cannot_open_another_households_page(stack: Stack, browser: Any) -> None:
    mine = await customer_at(stack.portal, Step.ACCOUNT, "me@example.org")
    theirs = await customer_at(stack.portal, Step.ACCOUNT, "them@example.org")
    page = await _page(browser, stack)
    await _login(page, "me@example.org", PASSWORD)
    assert page.url.endswith(f"/households/{mine.household_id}")
    for path in ("", "/events", "/statements"):
        response = await page.goto(f"/households/{theirs.household_id}{path}")
        assert response is not None and response.status == 403
        assert "this is not your household" in await page.inner_text("main")
        assert "them@example.org" not in await page.content()
    response = await page.goto("/console")
    assert response is not None and response.status == 403


async def test_a_bad_device_field_is_shown_beside_it(stack: Stack, browser: Any, shots: Path) -> None:
    """The device form comes from the driver registry; the driver's own check of an address is shown
    beside the field it names, and the form keeps what was typed."""
    c = await customer_at(stack.portal, Step.ACCOUNT, "form@example.org")
    page = await _page(browser, stack)
    await _login(page, "form@example.org", PASSWORD)
    await page.locator("#has_ev_charger").check()
    connects = page.locator("#ev_charger_protocol")
    for name, info in DRIVERS:
        if DeviceKind.EV_CHARGER in info.kinds:
            assert await connects.locator(f"option[value='{name}']").count() == 1
    await connects.select_option("homeflex")
    field = page.locator("#ev_charger_homeflex_device")
    await field.fill("garage/charger")
    await page.get_by_role("button", name="Save my profile").click()
    await page.wait_for_load_state()
    error = page.locator("#ev_charger_homeflex_device-error")
    assert "one MQTT topic level" in await error.inner_text()
    assert await field.get_attribute("aria-invalid") == "true"
    assert await field.get_attribute("aria-describedby") == "ev_charger_homeflex_device-error"
    assert await field.input_value() == "garage/charger"
    # Beside the field: the error follows the input it is about.
    assert (
        await page.evaluate("document.getElementById('ev_charger_homeflex_device').nextElementSibling.id")
        == "ev_charger_homeflex_device-error"
    )
    await _check_accessible(page)
    await page.screenshot(path=shots / "11-device-form-error.png", full_page=True)
    assert await stack.storage.household_config_versions(c.household_id) == []


async def test_several_plugs_and_a_metering_product(stack: Stack, browser: Any, shots: Path) -> None:
    """Two smart plugs and a Shelly Pro 3EM as the meter, ticked and typed in the browser: a bad meter
    address beside its field, then the saved version with both plugs (plug, plug1) and the meter."""
    c = await customer_at(stack.portal, Step.ACCOUNT, "plugs-browser@example.org")
    hh = c.household_id
    page = await _page(browser, stack)
    await _login(page, "plugs-browser@example.org", PASSWORD)
    for slot, prefix in (("smart_plug", "washer"), ("smart_plug1", "dryer")):
        await page.locator(f"#has_{slot}").check()
        await page.locator(f"#{slot}_protocol").select_option("shelly")
        await page.locator(f"#{slot}_shelly_topic_prefix").fill(f"homeflex/v1/{hh}/{prefix}")
    await page.locator("#meter_protocol").select_option("shelly_pro3em")
    await page.locator("#meter_product").fill("Shelly Pro 3EM")
    meter = page.locator("#meter_shelly_pro3em_topic_prefix")
    await meter.fill(f"homeflex/v1/{hh}/+")
    await page.get_by_role("button", name="Save my profile").click()
    await page.wait_for_load_state()
    assert "without wildcards" in await page.locator("#meter_shelly_pro3em_topic_prefix-error").inner_text()
    assert await meter.get_attribute("aria-invalid") == "true"
    assert await page.locator("#smart_plug1_shelly_topic_prefix").input_value() == f"homeflex/v1/{hh}/dryer"
    assert await stack.storage.household_config_versions(hh) == []
    await meter.fill(f"homeflex/v1/{hh}/supply")
    await page.get_by_role("button", name="Save my profile").click()
    await page.wait_for_load_state()
    assert "Your profile is saved." in await page.inner_text("main")
    await _check_accessible(page)
    await page.screenshot(path=shots / "12-plugs-and-meter.png", full_page=True)
    stored = await stack.storage.latest_household_config(hh)
    assert stored is not None and stored.version == 1
    document = stored.document
    assert [
        (d["id"], d["address"]["topic_prefix"]) for d in document["devices"] if d["kind"] == "smart_plug"
    ] == [
        ("plug", f"homeflex/v1/{hh}/washer"),
        ("plug1", f"homeflex/v1/{hh}/dryer"),
    ]
    assert (
        document["meter"]["protocol"] == "shelly_pro3em" and document["meter"]["product"] == "Shelly Pro 3EM"
    )
