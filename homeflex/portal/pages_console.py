"""The operator's console (funnel per category, customers, information sessions, events through the
VTN with live delivery, settlement, payments, outbox) and the installer's jobs."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from homeflex.core.domain import Category
from homeflex.portal.actions import ActionError
from homeflex.portal.charts import Series, bar_chart, line_chart
from homeflex.portal.funnel import funnel
from homeflex.portal.journey import SHORT, TITLES, JourneyError, Role, Step, allowed_next
from homeflex.portal.mailer import SmtpServer
from homeflex.portal.pages_household import household_page
from homeflex.portal.vtnclient import VtnError
from homeflex.portal.web import actor, allow, message, page, portal, redirect
from homeflex.profiles.job import half_hourly_energy

OPERATOR = (Role.OPERATOR,)
# Buttons in the customer table; the other moves need the customer's details (their page's forms).
CONSOLE_MOVES = frozenset({Step.INTEREST, Step.INVITED, Step.STAGE_1, Step.STAGE_2, Step.STAGE_3})


async def console_page(
    request: web.Request, error: str | None = None, status: int = 200, flash: str | None = None
) -> web.Response:
    p = portal(request)
    customers = await p.store.customers()
    history = await p.store.categories()
    current = {c.household_id: c for c in history}  # the last entry per household wins
    chosen = request.query.get("category") or None
    category = Category(chosen) if chosen in ("A", "B", "C", "D") else None
    rows = funnel(await p.store.audit(), {k: v.category for k, v in current.items()}, category)
    funnel_chart = bar_chart(
        "Customers who reached each step",
        [SHORT[r.step] for r in rows],
        [float(r.reached) for r in rows],
        "customers",
    )
    moves = {
        c.household_id: [
            s
            for s in allowed_next(c.state, Role.OPERATOR)
            if s in CONSOLE_MOVES or c.state.step is Step.LEFT  # bringing back someone who left
        ]
        for c in customers
    }
    try:
        events = await p.vtn.events()
    except VtnError as err:
        events, error = [], error or str(err)
    balances = sorted((k, str(v)) for k, v in (await p.storage.ledger_balances()).items())
    paid = [(k.split(":", 1)[-1], float(v)) for k, v in balances if k.startswith("household")]
    payments_chart = (
        bar_chart("Paid to households (£)", [k for k, _ in paid], [v for _, v in paid], "£") if paid else ""
    )
    return page(
        request,
        "console.html",
        status=status,
        title="Console",
        error=error,
        flash=flash,
        funnel=rows,
        funnel_chart=funnel_chart,
        titles=TITLES,
        category=chosen,
        customers=[(c, current[c.household_id]) for c in customers],
        moves=moves,
        sessions=await p.store.info_sessions(),
        events=events,
        balances=balances,
        payments_chart=payments_chart,
        outbox=(await p.store.outbox())[-20:],
        mail_note=mail_note(p.config.smtp),
        community_group=p.config.community_group,
    )


def mail_note(smtp: SmtpServer | None) -> str:
    if smtp is None:
        return (
            "No SMTP server is configured (settings smtp_host, smtp_port): mail stays queued here"
            " and is not sent."
        )
    return (
        f"Sent through {smtp.host}:{smtp.port} from {smtp.sender}, never overnight; each message at"
        ' most once: one "in doubt" was taken for sending but never confirmed (a crash mid-send), so'
        " it is not sent again: check it by hand."
    )


@allow(*OPERATOR)
async def console(request: web.Request) -> web.Response:
    return await console_page(request)


@allow(*OPERATOR)
async def move(request: web.Request) -> web.Response:
    p, form = portal(request), await request.post()
    c = await p.store.customer(request.match_info["household_id"])
    if c is None:
        return message(request, "Not found", "There is no such household.", status=404)
    who, _ = actor(request)
    try:
        creds = await p.operator_move(c, Step(str(form.get("to", ""))), who)
    except ValueError as err:  # JourneyError, ActionError, or an unknown step
        return await console_page(request, str(err), 409)
    if creds:
        return page(
            request,
            "installer.html",
            title="Installation recorded",
            credentials=creds,
            jobs=[],
            titles=TITLES,
        )
    return redirect("/console")


@allow(*OPERATOR)
async def create_session(request: web.Request) -> web.Response:
    p, form = portal(request), await request.post()
    try:
        starts = datetime.fromisoformat(str(form.get("starts_at", ""))).replace(tzinfo=UTC)
        await p.store.create_info_session(
            starts,
            str(form.get("mode", "")),
            str(form.get("place", "")).strip() or "to be confirmed",
            int(str(form.get("capacity", "0"))),
            p.clock.now(),
        )
    except ValueError as err:
        return await console_page(request, f"session not scheduled: {err}", 400)
    return redirect("/console")


def _number(form: Any, name: str) -> float:
    try:
        return float(str(form.get(name, "")))
    except ValueError as err:
        raise ActionError(f"{name.replace('_', ' ')} must be a number") from err


@allow(*OPERATOR)
async def create_event(request: web.Request) -> web.Response:
    p, form = portal(request), await request.post()
    try:
        start = datetime.fromisoformat(str(form.get("start", ""))).replace(tzinfo=UTC)
        body = {
            "group": str(form.get("group", "")),
            "start": start.isoformat(),
            "duration_minutes": _number(form, "duration_minutes"),
            "reduction_kw": _number(form, "reduction_kw"),
            "price_gbp_per_mwh": _number(form, "price_gbp_per_mwh"),
        }
        created = await p.create_event(body)
    except (ValueError, VtnError) as err:
        return await console_page(request, f"event not created: {err}", 400)
    return redirect(f"/console/events/{created['event_id']}")


@allow(*OPERATOR)
async def event_page(request: web.Request) -> web.Response:
    p, event_id = portal(request), request.match_info["event_id"]
    try:
        event = await p.vtn.event(event_id)
    except VtnError as err:
        return message(request, "Event", str(err), status=404 if err.status == 404 else 502)
    start = datetime.fromisoformat(event["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(event["end"].replace("Z", "+00:00"))
    now = p.clock.now()
    rows = []
    first, last = start - timedelta(hours=1), end + timedelta(hours=1)
    periods = [first + timedelta(minutes=30 * i) for i in range(int((last - first) / timedelta(minutes=30)))]
    actual = dict.fromkeys(periods, 0.0)
    baseline: dict[datetime, float] = {}
    for t in event["targets"]:
        readings = await p.storage.readings(t["household_id"], start - timedelta(hours=1), min(now, end))
        power = readings[-1].power_w / 1000 if readings else None
        skipped = any(s.event_id == event_id for s in await p.store.skips(t["household_id"]))
        rows.append({**t, "power_kw": f"{power:.2f}" if power is not None else "-", "skipped": skipped})
        energy = await half_hourly_energy(p.storage, t["household_id"], first, min(now, last))
        for period in periods:
            kwh = energy.get(period, math.nan)
            actual[period] += kwh if math.isfinite(kwh) else 0.0
        for row in (t.get("settlement") or {}).get("evidence", []):
            at = datetime.fromisoformat(row["period"])
            if row.get("baseline_kwh") is not None:
                baseline[at] = baseline.get(at, 0.0) + row["baseline_kwh"]
    labels = [period.strftime("%H:%M") for period in periods]
    series = [Series(name="actual kWh", values=[actual[x] if x < now else None for x in periods])]
    if baseline:
        series.append(Series(name="baseline kWh", values=[baseline.get(x) for x in periods]))
    chart = line_chart("Targeted households together, per half-hour (UTC)", labels, series, "kWh")
    live = event["status"] in ("far", "near", "active")
    return page(
        request,
        "console_event.html",
        title=f"Event {event_id}",
        event=event,
        rows=rows,
        delivery_chart=chart,
        refresh=10 if live else None,
    )


@allow(*OPERATOR)
async def cancel_event(request: web.Request) -> web.Response:
    try:
        await portal(request).vtn.cancel_event(request.match_info["event_id"])
    except VtnError as err:
        return message(request, "Event not cancelled", str(err), status=409)
    return redirect(f"/console/events/{request.match_info['event_id']}")


@allow(*OPERATOR)
async def settle_event(request: web.Request) -> web.Response:
    try:
        await portal(request).vtn.settle_event(request.match_info["event_id"])
    except VtnError as err:
        return message(request, "Not settled", str(err), status=409)
    return redirect(f"/console/events/{request.match_info['event_id']}")


@allow(Role.INSTALLER, Role.OPERATOR)
async def jobs(request: web.Request) -> web.Response:
    p = portal(request)
    who, role = actor(request)
    found = [
        c
        for c in await p.store.customers()
        if c.data.get("installer") and (role is Role.OPERATOR or c.data.get("installer") == who)
    ]
    return page(request, "installer.html", title="My jobs", jobs=found, titles=TITLES, credentials=None)


@allow(Role.INSTALLER, Role.OPERATOR)
async def installed(request: web.Request) -> web.Response:
    p = portal(request)
    who, role = actor(request)
    c = await p.store.customer(request.match_info["household_id"])
    if c is None or (role is Role.INSTALLER and c.data.get("installer") != who):
        return message(request, "Not allowed", "this job is not assigned to you", status=403)
    try:
        creds = await p.record_installation(c, who, role)
    except (ActionError, JourneyError) as err:
        return message(request, "Installation not recorded", str(err), status=409)
    return page(
        request, "installer.html", title="Installation recorded", credentials=creds, jobs=[], titles=TITLES
    )


def total(values: list[str]) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))


ROUTES = [
    web.get("/console", console),
    web.post("/console/customers/{household_id}/move", move),
    web.post("/console/sessions", create_session),
    web.post("/console/events", create_event),
    web.get("/console/events/{event_id}", event_page),
    web.post("/console/events/{event_id}/cancel", cancel_event),
    web.post("/console/events/{event_id}/settle", settle_event),
    web.get("/installer", jobs),
    web.post("/installer/jobs/{household_id}/installed", installed),
]

__all__ = ["ROUTES", "household_page"]
