"""Trial events: a DSO request run for real so households and the operator see what would be delivered;
the API forces the trial programme and a zero price, households are told it is a trial, and settlement
measures delivery but pays nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from homeflex.control.flexplan import Assessment
from homeflex.control.planner import PlanStatus
from homeflex.control.planner.plan import failed_plan
from homeflex.core.domain import Category, FlexEvent, HouseholdSpec, Stage
from homeflex.settlement.settler import settle_event
from homeflex.storage import Storage
from homeflex.storage.records import EventRecord
from homeflex.ven.decision import decide_opt
from homeflex.ven.events import parse_event
from homeflex.vtn.events import TRIAL_MARKET_CONTEXT, openadr_event
from tests.settlement.test_settler import AFTER, add_event_readings, setup
from tests.vtn.test_api import NOW, api, event_body  # noqa: F401 - the fixture


async def test_trial_event_is_stored_with_the_trial_programme_and_no_price(
    api: aiohttp.ClientSession,  # noqa: F811
) -> None:
    async with api.post("/api/events", json=event_body(price_gbp_per_mwh=None, trial=True)) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
    assert created["price_gbp_per_mwh"] == 0
    assert created["programme"] == "trial"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"trial": True}, "a trial event pays nothing"),  # a price given with a trial
        ({"trial": True, "price_gbp_per_mwh": None, "programme": "default"}, "a trial event pays nothing"),
        ({"trial": "yes"}, "'trial' must be true or false"),
    ],
)
async def test_trial_requests_that_contradict_themselves_are_refused(
    api: aiohttp.ClientSession,  # noqa: F811
    changes: dict[str, Any],
    message: str,
) -> None:
    async with api.post("/api/events", json=event_body(**changes)) as r:
        assert r.status == 400
        assert message in (await r.json())["error"]
    async with api.get("/api/events") as r:
        assert await r.json() == []  # nothing stored


def test_households_are_told_it_is_a_trial() -> None:
    record = EventRecord(
        event_id="t1",
        modification_number=0,
        status="far",
        start=NOW + timedelta(hours=1),
        duration=timedelta(minutes=30),
        reduction_kw=1.5,
        price_gbp_per_mwh=0.0,
        created_at=NOW,
        programme_id="trial",
    )
    sent = openadr_event(record, "ven-hh1", NOW)
    assert sent["event_descriptor"]["market_context"] == TRIAL_MARKET_CONTEXT
    flex = parse_event(sent)
    assert flex.trial and flex.price_gbp_per_mwh == 0
    normal = parse_event(
        openadr_event(record.__class__(**{**record.__dict__, "programme_id": "default"}), "v", NOW)
    )
    assert not normal.trial


def test_a_household_that_takes_part_in_a_trial_says_so() -> None:
    household = HouseholdSpec(id="hh1", category=Category.B, stage=Stage.FLEX)
    event = FlexEvent(
        event_id="t1",
        modification_number=0,
        start=NOW + timedelta(hours=1),
        duration=timedelta(minutes=30),
        reduction_w=1000,
        price_gbp_per_mwh=0,
        trial=True,
    )
    plan = failed_plan(PlanStatus.OPTIMAL, "")
    ok = Assessment(event_id="t1", requested_kw=1.0, share=1.0, plan=plan, reference=plan, reason="")
    decision = decide_opt(household, event, NOW, ok)
    assert decision.opt_in
    assert decision.reason.startswith("trial, pays nothing: ")


async def test_trial_delivery_is_measured_and_paid_nothing(backend: Storage) -> None:
    await setup(backend, programme="trial")
    await add_event_readings(backend, kw=0.5)
    [settled] = await settle_event(backend, "e1", AFTER + timedelta(days=1))
    assert settled.delivered_kwh == pytest.approx(1.0)  # 2.5 kW baseline, 0.5 kW in the event
    assert settled.payment_gbp == "0.00"
    assert settled.status == "settled"
