"""The portal over HTTP: who may call which route (every route, every role), CSRF, the login rate
limit, cookies, links that expire or work once, skipping an event, leaving and returning, and no
secrets in the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from homeflex.core.clock import ManualClock
from homeflex.portal.journey import Role, Step
from homeflex.portal.service import PortalService, portal_app
from homeflex.storage import SQLiteStorage
from homeflex.storage.records import SettlementRecord
from homeflex.vtn.oadr3.auth import hash_secret
from homeflex.vtn.service import VtnService
from tests.portal.conftest import INSTALLER, NOW, OPERATOR, Stack
from tests.portal.helpers import PASSWORD, Client, add_event, customer_at

# (method, path, roles allowed) — {own} is the householder's household, {other} another one.
PUBLIC = {"anon", "householder", "installer", "operator"}
HOUSEHOLD = {"householder", "operator"}
ROUTES = [
    ("GET", "/", PUBLIC),
    ("POST", "/interest", PUBLIC),
    ("GET", "/apply/x", PUBLIC),
    ("POST", "/apply/x/book", PUBLIC),
    ("POST", "/apply/x/cancel", PUBLIC),
    ("GET", "/invite/x", PUBLIC),
    ("POST", "/invite/x", PUBLIC),
    ("GET", "/login", PUBLIC),
    ("POST", "/login", PUBLIC),
    ("POST", "/logout", {"householder", "installer", "operator"}),
    ("GET", "/reset", PUBLIC),
    ("POST", "/reset", PUBLIC),
    ("GET", "/reset/x", PUBLIC),
    ("POST", "/reset/x", PUBLIC),
    ("GET", "/static/portal.css", PUBLIC),
    ("GET", "/households/{own}", HOUSEHOLD),
    ("POST", "/households/{own}/profile", HOUSEHOLD),
    ("POST", "/households/{own}/plan", HOUSEHOLD),
    ("POST", "/households/{own}/assessment", HOUSEHOLD),
    ("POST", "/households/{own}/category", {"operator"}),
    ("POST", "/households/{own}/leave", HOUSEHOLD),
    ("POST", "/households/{own}/return", HOUSEHOLD),
    ("GET", "/households/{own}/events", HOUSEHOLD),
    ("POST", "/households/{own}/events/ev-x/skip", HOUSEHOLD),
    ("GET", "/households/{own}/statements", HOUSEHOLD),
    ("GET", "/households/{other}", {"operator"}),
    ("GET", "/households/{other}/events", {"operator"}),
    ("GET", "/households/{other}/statements", {"operator"}),
    ("POST", "/households/{other}/leave", {"operator"}),
    ("GET", "/console", {"operator"}),
    ("POST", "/console/customers/{own}/move", {"operator"}),
    ("POST", "/console/sessions", {"operator"}),
    ("POST", "/console/events", {"operator"}),
    ("GET", "/console/events/ev-x", {"operator"}),
    ("POST", "/console/events/ev-x/cancel", {"operator"}),
    ("POST", "/console/events/ev-x/settle", {"operator"}),
    ("GET", "/installer", {"installer", "operator"}),
    ("POST", "/installer/jobs/{own}/installed", {"installer", "operator"}),
    ("POST", "/api/portal/login", PUBLIC),
    ("POST", "/api/portal/interest", PUBLIC),
    ("GET", "/api/portal/households", {"operator"}),
    ("GET", "/api/portal/households/{own}", HOUSEHOLD),
    ("GET", "/api/portal/households/{other}", {"operator"}),
    ("GET", "/api/portal/households/{own}/audit", HOUSEHOLD),
    ("POST", "/api/portal/households/{own}/transitions", HOUSEHOLD),
    ("POST", "/api/portal/households/{own}/category", {"operator"}),
    ("GET", "/api/portal/households/{own}/config", HOUSEHOLD),
    ("GET", "/api/portal/households/{other}/config", {"operator"}),
    ("GET", "/api/portal/households/{own}/config/versions", HOUSEHOLD),
    ("GET", "/api/portal/households/{other}/config/versions", {"operator"}),
    ("GET", "/api/portal/households/{own}/events", HOUSEHOLD),
    ("POST", "/api/portal/households/{own}/events/ev-x/skip", HOUSEHOLD),
    ("GET", "/api/portal/households/{own}/statements/2026-11", HOUSEHOLD),
    ("GET", "/api/portal/households/{other}/statements/2026-11", {"operator"}),
    ("GET", "/api/portal/funnel", {"operator"}),
    ("GET", "/api/portal/sessions", {"operator"}),
    ("POST", "/api/portal/sessions", {"operator"}),
    ("POST", "/api/portal/events", {"operator"}),
    ("GET", "/api/portal/events/ev-x", {"operator"}),
    ("DELETE", "/api/portal/events/ev-x", {"operator"}),
    ("POST", "/api/portal/events/ev-x/settle", {"operator"}),
    ("GET", "/api/portal/payments", {"operator"}),
    ("GET", "/api/portal/openapi.json", PUBLIC),
]


def _template(path: str) -> str:
    return re.sub(r"/(x|ev-x|2026-11|\{own\}|\{other\})(?=/|$)", "/{}", path)


def test_the_table_covers_every_route(stack: Stack) -> None:
    app = portal_app(stack.portal)
    declared = {
        (r.method, re.sub(r"\{[^}]+\}", "{}", r.resource.canonical))
        for r in app.router.routes()
        if r.method != "HEAD"
    }
    tabled = {(m, _template(p)) for m, p, _ in ROUTES}
    assert declared == tabled


@pytest.fixture
async def clients(stack: Stack) -> AsyncIterator[dict[str, tuple[Client, str, str]]]:
    own = await customer_at(stack.portal, Step.ACCOUNT, "own@example.org")
    other = await customer_at(stack.portal, Step.ACCOUNT, "other@example.org")
    out = {"anon": Client(stack.portal_url)}
    for role, (email, password) in {
        "householder": ("own@example.org", PASSWORD),
        "installer": INSTALLER,
        "operator": OPERATOR,
    }.items():
        out[role] = Client(stack.portal_url)
        await out[role].login(email, password)
    yield {k: (v, own.household_id, other.household_id) for k, v in out.items()}
    for c in out.values():
        await c.close()


async def test_every_route_refuses_every_role_it_does_not_allow(
    clients: dict[str, tuple[Client, str, str]],
) -> None:
    checked = 0
    for method, path, allowed in ROUTES:
        for role, (client, own, other) in clients.items():
            if role in allowed or path == "/logout":
                continue
            url = path.format(own=own, other=other)
            if method == "GET":
                status, _text = await client.get(url)
            else:
                async with client.http.request(
                    method, client.base_url + url, data={"csrf": client.csrf}, allow_redirects=False
                ) as r:
                    status = r.status
            assert status in (401, 403) or (status == 303 and role == "anon"), (method, url, role, status)
            checked += 1
    assert checked > 100


async def test_allowed_roles_get_through(clients: dict[str, tuple[Client, str, str]]) -> None:
    client, own, other = clients["operator"]
    for path in ("/console", f"/households/{other}", "/installer", "/api/portal/funnel"):
        assert (await client.get(path))[0] == 200, path
    client, own, _ = clients["householder"]
    for path in (f"/households/{own}", f"/households/{own}/events", f"/households/{own}/statements"):
        assert (await client.get(path))[0] == 200, path


async def test_forms_without_the_csrf_token_change_nothing(
    stack: Stack, clients: dict[str, tuple[Client, str, str]]
) -> None:
    client, own, _ = clients["householder"]
    status, _ = await client.post(f"/households/{own}/leave", {"reason": "x"}, csrf=False)
    assert status == 403
    status, _ = await client.post(f"/households/{own}/leave", {"reason": "x", "csrf": "forged"}, csrf=False)
    assert status == 403
    assert (await stack.portal.customer(own)).state.step is Step.ACCOUNT
    anon = Client(stack.portal_url)
    status, _ = await anon.post(
        "/interest", {"name": "Eve", "email": "eve@example.org", "postcode": "X1"}, csrf=False
    )
    assert status == 403 and not [c for c in await stack.portal.store.customers() if c.name == "Eve"]
    await anon.close()


async def test_security_headers(stack: Stack) -> None:
    c = Client(stack.portal_url)
    async with c.http.get(c.base_url + "/") as r:
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Referrer-Policy"] == "no-referrer"  # links carry single-use tokens
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Strict" in r.headers["Set-Cookie"]
    await c.close()


async def test_session_cookie_flags_logout_and_rate_limit(stack: Stack) -> None:
    await customer_at(stack.portal, Step.ACCOUNT, "rl@example.org")
    c = Client(stack.portal_url)
    await c.get("/login")
    async with c.http.post(
        c.base_url + "/login",
        data={"email": "rl@example.org", "password": PASSWORD, "csrf": c.csrf},
        allow_redirects=False,
    ) as r:
        cookie = r.headers["Set-Cookie"]
        assert r.status == 303
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and PASSWORD not in cookie
    await c.get("/login")
    assert (await c.post("/logout"))[0] == 303
    assert (await c.get("/console"))[0] == 303  # logged out: back to the login page
    await c.get("/login")  # the anonymous form token again
    for _ in range(5):
        assert (await c.post("/login", {"email": "rl@example.org", "password": "wrong-password"}))[0] == 401
    status, text = await c.post("/login", {"email": "rl@example.org", "password": PASSWORD})
    assert status == 401 and "too many failed attempts" in text
    await c.close()


async def test_password_reset_link_works_once_and_invites_expire(stack: Stack) -> None:
    await customer_at(stack.portal, Step.ACCOUNT, "pw@example.org")
    c = Client(stack.portal_url)
    status, text = await c.post("/reset", {"email": "pw@example.org"})
    assert status == 200 and "If an account exists" in text
    assert (await c.post("/reset", {"email": "nobody@example.org"}))[1] == text  # no account probing
    [mail] = [m for m in await stack.portal.store.outbox("pw@example.org") if "Reset" in m.subject]
    path = re.search(r"(/reset/\S+)", mail.body)[1]  # type: ignore[index]
    assert (await c.post(path, {"password": "short"}))[0] == 400
    assert (await c.post(path, {"password": "a-new-password-2"}))[0] == 200
    status, text = await c.post(path, {"password": "another-password-3"})
    assert status == 404 and "already been used" in text
    assert (await c.post("/login", {"email": "pw@example.org", "password": PASSWORD}))[0] == 401
    await c.login("pw@example.org", "a-new-password-2")

    invited = await customer_at(stack.portal, Step.SESSION_BOOKED, "late@example.org")
    token = await stack.portal.invite(invited, OPERATOR[0])
    await stack.clock.advance(timedelta(days=8).total_seconds())
    status, text = await c.get(f"/invite/{token}")
    assert status == 404 and "expired" in text
    await c.close()


async def test_skipping_an_event_opts_out_with_customer_override(stack: Stack) -> None:
    c = await customer_at(stack.portal, Step.STAGE_3, "skip@example.org")
    now = stack.clock.now()
    await add_event(stack.storage, "ev-skip", c.household_id, now + timedelta(hours=3), now)
    client = Client(stack.portal_url)
    await client.login("skip@example.org", PASSWORD)
    assert (await client.post(f"/households/{c.household_id}/events/ev-skip/skip"))[0] == 303
    [target] = await stack.storage.event_targets("ev-skip")
    assert target.opt_type == "optOut"
    assert [s.reason for s in await stack.portal.store.skips(c.household_id)] == ["customer override"]
    status, text = await client.post(f"/households/{c.household_id}/events/ev-skip/skip")
    assert status == 409 and "already skipped" in text
    status, text = await client.post(f"/households/{c.household_id}/events/ev-none/skip")
    assert status == 409 and "no such event" in text
    await client.close()


async def test_leave_and_return_where_they_left(stack: Stack) -> None:
    c = await customer_at(stack.portal, Step.PLAN, "away@example.org")
    client = Client(stack.portal_url)
    await client.login("away@example.org", PASSWORD)
    await client.get(f"/households/{c.household_id}")
    assert (await client.post(f"/households/{c.household_id}/leave", {"reason": "moving house"}))[0] == 303
    assert (await stack.portal.customer(c.household_id)).state.step is Step.LEFT
    assert "You have left" in (await client.get(f"/households/{c.household_id}"))[1]
    assert (await client.post(f"/households/{c.household_id}/return"))[0] == 303
    back = await stack.portal.customer(c.household_id)
    assert back.state.step is Step.PLAN
    assert [e.reason for e in await stack.portal.store.audit(c.household_id)][-2:] == [
        "moving house",
        "returned",
    ]
    await client.close()


async def test_no_passwords_or_tokens_in_the_logs(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    # Everything the platform and aiohttp log, at every level. (aiosqlite's DEBUG echoes SQL parameters,
    # outbox mail included, as it does for all data: deployments log at INFO.)
    caplog.set_level(logging.INFO)
    for name in ("homeflex", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    c = await customer_at(stack.portal, Step.SESSION_BOOKED, "log@example.org")
    token = await stack.portal.invite(c, OPERATOR[0])
    client = Client(stack.portal_url)
    await client.get(f"/invite/{token}")
    await client.post(f"/invite/{token}", {"password": PASSWORD})
    await client.post("/login", {"email": "log@example.org", "password": "wrong-password-9"})
    logged = caplog.text
    assert "aiosqlite" not in logged
    for secret in (PASSWORD, "wrong-password-9", token):
        assert secret not in logged
    await client.close()


async def test_installers_see_and_record_only_their_own_jobs(stack: Stack) -> None:
    mine = await customer_at(stack.portal, Step.ASSESSMENT_BOOKED, "job@example.org")
    await stack.portal.create_account("other-installer@example.org", Role.INSTALLER, "other-installer-pw")
    other = Client(stack.portal_url)
    await other.login("other-installer@example.org", "other-installer-pw")
    assert mine.household_id not in (await other.get("/installer"))[1]
    status, text = await other.post(f"/installer/jobs/{mine.household_id}/installed")
    assert status == 403 and "not assigned to you" in text
    assert (await stack.portal.customer(mine.household_id)).state.step is Step.ASSESSMENT_BOOKED
    assigned = Client(stack.portal_url)
    await assigned.login(*INSTALLER)
    assert mine.household_id in (await assigned.get("/installer"))[1]
    status, text = await assigned.post(f"/installer/jobs/{mine.household_id}/installed")
    assert status == 200 and "oadr3_client_secret" in text
    assert (await stack.portal.customer(mine.household_id)).state.step is Step.STAGE_1
    assert await stack.portal.store.ven_of(mine.household_id) == f"ven-{mine.household_id}"
    # The secret shown once is the VEN's OpenADR 3.1 client secret the VTN will check (stored hashed).
    secret = re.search(r"oadr3_client_secret: <code>([^<]+)</code>", text)
    client = await stack.storage.get_oadr3_client(f"ven-{mine.household_id}")
    assert secret and client is not None and client.role == "ven"
    assert client.secret_sha256 == hash_secret(secret[1]) and secret[1] not in str(client)
    await other.close()
    await assigned.close()


async def test_console_moves_and_their_refusals(stack: Stack) -> None:
    c = await customer_at(stack.portal, Step.STAGE_1, "move@example.org", with_history=False)
    op = Client(stack.portal_url)
    await op.login(*OPERATOR)
    status, text = await op.post(f"/console/customers/{c.household_id}/move", {"to": "stage_2"})
    assert (
        status == 409 and "cannot move from Stage 1: learning to Stage 2: automatic yet: no readings" in text
    )
    status, text = await op.post(f"/console/customers/{c.household_id}/move", {"to": "stage_3"})
    assert status == 409 and "from here the journey goes to Stage 2: automatic" in text
    status, text = await op.post(f"/console/customers/{c.household_id}/move", {"to": "warp"})
    assert status == 409
    booked = await customer_at(stack.portal, Step.SESSION_BOOKED, "booked@example.org")
    assert (await op.post(f"/console/customers/{booked.household_id}/move", {"to": "interest"}))[0] == 303
    assert await stack.portal.store.booking(booked.household_id) is None  # the place is freed
    account = await customer_at(stack.portal, Step.ACCOUNT, "acc@example.org")
    status, text = await op.post(f"/console/customers/{account.household_id}/move", {"to": "profile"})
    assert status == 409 and "needs the customer" in text
    await op.close()


async def test_operator_changes_a_category_and_history_is_kept(stack: Stack) -> None:
    c = await customer_at(stack.portal, Step.PLAN, "cat@example.org")
    op = Client(stack.portal_url)
    await op.login(*OPERATOR)
    await op.get(f"/households/{c.household_id}")
    form = {"category": "A", "vulnerable": "yes", "reason": "signed a DSO contract"}
    assert (await op.post(f"/households/{c.household_id}/category", form))[0] == 303
    status, text = await op.post(f"/households/{c.household_id}/category", form)
    assert status == 400 and "already category A (vulnerable)" in text
    history = await stack.portal.store.categories(c.household_id)
    assert [(h.category.value, h.vulnerable, h.actor) for h in history] == [
        ("B", False, "public"),
        ("A", True, OPERATOR[0]),
    ]
    household = await stack.storage.get_household(c.household_id)
    assert household is not None and household.category.value == "A" and household.vulnerable
    await op.close()


async def test_portal_uses_the_vtn_api_token(tmp_path: Path) -> None:
    """A VTN whose operator API wants a bearer token: the portal sends it, and says so when it is wrong."""
    storage = await SQLiteStorage.open(tmp_path / "token.db")
    clock = ManualClock(NOW)
    try:
        async with VtnService(storage, clock, _no_settle, port=0, api_token="vtn-secret") as vtn:
            for token, ok in (("vtn-secret", True), ("wrong", False)):
                async with PortalService(storage, clock, vtn.url, port=0, vtn_token=token) as service:
                    if ok:
                        await service.portal.create_account(OPERATOR[0], Role.OPERATOR, OPERATOR[1])
                        await service.portal.create_account(INSTALLER[0], Role.INSTALLER, INSTALLER[1])
                        await customer_at(service.portal, Step.STAGE_3, "tok@example.org")
                    op = Client(service.url)
                    await op.login(*OPERATOR)
                    form = {
                        "group": "community",
                        "start": "2026-11-24T17:00",
                        "duration_minutes": "30",
                        "reduction_kw": "2",
                        "price_gbp_per_mwh": "1812",
                    }
                    status, text = await op.post("/console/events", form)
                    assert (status == 303) is ok, text
                    await op.close()
        assert len(await storage.list_events()) == 1
    finally:
        await storage.close()


async def _no_settle(event_id: str) -> list[SettlementRecord]:
    return []
