"""Walk customers along the journey through the portal's actions (fast set-up for page and API tests),
and a cookie-keeping HTTP client that submits forms with their CSRF token like a browser."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from homeflex.portal.actions import Portal
from homeflex.portal.journey import ORDER, Role, Step
from homeflex.storage import Storage
from homeflex.storage.portal import Customer
from homeflex.storage.records import EventRecord
from tests.portal.conftest import INSTALLER, OPERATOR, history_csv

PROFILE_FORM = {
    "home_type": "semi-detached",
    "floor_area_m2": "95",
    "occupants": "3",
    "tariff": "two_rate",
    "has_ev_charger": "on",
    "ev_charger_kw": "7.4",
    "ev_battery_kwh": "60",
    "ev_ready_by": "07:30",
    "ev_target_pct": "80",
    "comfort_min_c": "19",
    "comfort_max_c": "22",
    "battery_reserve_pct": "20",
}
PASSWORD = "householder-password-1"


async def customer_at(portal: Portal, step: Step, email: str, *, with_history: bool = True) -> Customer:
    """A new customer moved through the journey's actions up to `step` (not LEFT)."""
    household_id, _ = await portal.express_interest(
        {
            "name": "Ada",
            "email": email,
            "postcode": "M1 1AA",
            "intentions": ["respond_events"],
            "owned": {"ev_charger": "homeflex"},
        }
    )
    c = await portal.customer(household_id)
    for nxt in ORDER[1 : ORDER.index(step) + 1]:  # the steps after INTEREST, up to `step`
        if nxt is Step.SESSION_BOOKED:
            session_id = await portal.store.create_info_session(
                portal.clock.now() + timedelta(days=2), "online", "video call", 5, portal.clock.now()
            )
            c = await portal.book_session(c, session_id)
        elif nxt is Step.INVITED:
            token = await portal.invite(c, OPERATOR[0])
        elif nxt is Step.ACCOUNT:
            await portal.accept_invite(token, PASSWORD)
        elif nxt is Step.PROFILE:
            await portal.save_profile(
                c, PROFILE_FORM, email, Role.HOUSEHOLDER, history_csv() if with_history else None
            )
        elif nxt is Step.PLAN:
            c = await portal.choose_plan(c, "ev", email, Role.HOUSEHOLDER)
        elif nxt is Step.ASSESSMENT_BOOKED:
            visit = (portal.clock.now() + timedelta(days=3)).date().isoformat()
            c = await portal.book_assessment(c, INSTALLER[0], visit, email, Role.HOUSEHOLDER)
        elif nxt is Step.STAGE_1:
            await portal.record_installation(c, INSTALLER[0], Role.INSTALLER)
        else:
            c = await portal.move_stage(c, nxt, OPERATOR[0])
        c = await portal.customer(household_id)
    assert c.state.step is step
    return c


async def add_event(
    storage: Storage, event_id: str, household_id: str, start: datetime, now: datetime
) -> None:
    """A scheduled 30-minute, 2 kW event at the trial's price, created at `now`, for one household."""
    event = EventRecord(
        event_id=event_id,
        modification_number=0,
        status="scheduled",
        start=start,
        duration=timedelta(minutes=30),
        reduction_kw=2.0,
        price_gbp_per_mwh=1812.0,
        created_at=now,
    )
    await storage.create_event(event, [household_id])


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Client:
    """A browser-like HTTP client: keeps cookies, sends each form's CSRF token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.base_url + path, allow_redirects=False) as r:
            text = await r.text()
            if found := CSRF.search(text):
                self.csrf = found[1]
            return r.status, text

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True
    ) -> tuple[int, str]:
        if csrf and not self.csrf:
            await self.get("/login")
        form = {**(data or {}), **({"csrf": self.csrf} if csrf else {})}
        async with self.http.post(self.base_url + path, data=form, allow_redirects=False) as r:
            return r.status, await r.text()

    async def login(self, email: str, password: str) -> None:
        status, _ = await self.post("/login", {"email": email, "password": password})
        assert status == 303, status
        await self.get("/")  # the session's own CSRF token
        status, text = await self.get("/login")
        assert status == 200
        self.csrf = CSRF.search(text)[1] if CSRF.search(text) else self.csrf  # type: ignore[index]
