"""The householder's pages (also open to the operator): the journey, profile and upload, plan,
pre-installation, stage and readiness, events with skip, and statements with their evidence."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from homeflex.core.timeutil import LONDON
from homeflex.ledger.books import household_statement
from homeflex.portal.actions import MAX_UPLOAD_BYTES, ActionError, Upload
from homeflex.portal.categories import CATEGORIES, VULNERABLE_RULES
from homeflex.portal.charts import Series, bar_chart, line_chart
from homeflex.portal.deviceform import METER, choices, default_protocol, product_field, wiring_fields
from homeflex.portal.energy import (
    DEVICE_FIELDS,
    HOME_TYPES,
    PLANS,
    SLOT_NAMES,
    TARIFFS,
    ProfileError,
    eligible_plans,
)
from homeflex.portal.journey import TITLES, JourneyError, Role, progress, stage_of
from homeflex.portal.web import actor, allow, message, page, portal, redirect
from homeflex.profiles.job import half_hourly_energy
from homeflex.storage.portal import Customer

HOUSEHOLD = (Role.HOUSEHOLDER, Role.OPERATOR)


async def _customer(request: web.Request) -> Customer | None:
    return await portal(request).store.customer(request.match_info["household_id"])


def _not_found(request: web.Request) -> web.Response:
    return message(request, "Not found", "There is no such household.", status=404)


async def _usage_chart(request: web.Request, c: Customer) -> str:
    """The typical day from the stored history (mean kWh per UK local half-hour)."""
    p = portal(request)
    now = p.clock.now()
    energy = await half_hourly_energy(p.storage, c.household_id, now - timedelta(days=28), now)
    sums, counts = [0.0] * 48, [0] * 48
    for ts, kwh in energy.items():
        if math.isfinite(kwh):
            local = ts.astimezone(LONDON)
            k = local.hour * 2 + local.minute // 30
            sums[k] += kwh
            counts[k] += 1
    if not any(counts):
        return ""
    labels = [f"{k // 2:02d}:{30 * (k % 2):02d}" for k in range(48)]
    mean: list[float | None] = [s / n if n else None for s, n in zip(sums, counts, strict=True)]
    return line_chart(
        "Your typical day: average use per half-hour",
        labels,
        [Series(name="average kWh", values=mean)],
        "kWh",
    )


def wiring_values(profile: Mapping[str, Any], submitted: Mapping[str, str]) -> dict[str, str]:
    """How each device connects, as the form shows it: what was just submitted (a refused form keeps
    what the householder typed), else what is stored."""
    stored: dict[str, str] = {}
    for kind, wire in (profile.get("wiring") or {}).items():
        stored |= wiring_fields(kind, wire)
    return stored | {k: v for k, v in submitted.items() if k.endswith("_protocol") or k in _wiring_names()}


def _wiring_names() -> set[str]:
    return {
        name
        for kind in (*DEVICE_FIELDS, METER)
        for c in choices(kind)
        for name in (product_field(kind), *(f.name for f in c.fields))
    }


def _typed(shown: dict[str, str], submitted: Mapping[str, str]) -> dict[str, str]:
    """The fields of ``shown`` as the householder typed them in a refused form."""
    return {k: submitted.get(k, v) for k, v in shown.items()}


def preference_fields(profile: dict[str, Any]) -> dict[str, str]:
    """The stored preferences as the form shows them (defaults for a new profile)."""
    prefs = profile.get("preferences") or {}
    ready = float(prefs.get("ev_ready_by_h", 7.5))
    return {
        "ev_ready_by": f"{int(ready):02d}:{round(ready % 1 * 60):02d}",
        "ev_target_pct": f"{prefs.get('ev_target_soc', 0.8) * 100:g}",
        "comfort_min_c": f"{prefs.get('comfort_min_c', 19):g}",
        "comfort_max_c": f"{prefs.get('comfort_max_c', 22):g}",
        "battery_reserve_pct": f"{prefs.get('battery_reserve_soc', 0.2) * 100:g}",
    }


async def household_page(
    request: web.Request,
    c: Customer,
    *,
    status: int = 200,
    error: str | None = None,
    form_errors: dict[str, str] | None = None,
    form_values: Mapping[str, str] | None = None,
    upload: Upload | None = None,
    flash: str | None = None,
) -> web.Response:
    p = portal(request)
    categories = await p.store.categories(c.household_id)
    stage = stage_of(c.state.step if c.state.left_from is None else c.state.left_from)
    plans = eligible_plans(c.data.get("profile") or {})
    plan_chart = (
        bar_chart(
            "Indicative installation price per plan (£)",
            [pl.name for pl, _, _ in plans],
            [float(pl.quote_gbp) for pl, _, _ in plans],
            "£",
        )
        if plans
        else ""
    )
    return page(
        request,
        "household.html",
        status=status,
        title="My home",
        customer=c,
        error=error,
        flash=flash,
        steps=progress(c.state.step, c.state.left_from),
        titles=TITLES,
        category=categories[-1],
        category_info=CATEGORIES[categories[-1].category],
        vulnerable_rules=VULNERABLE_RULES,
        home_types=HOME_TYPES,
        tariffs=TARIFFS,
        device_fields=DEVICE_FIELDS,
        device_names=SLOT_NAMES,
        protocol_choices={kind: choices(kind) for kind in (*DEVICE_FIELDS, METER)},
        default_protocols={kind: default_protocol(kind) for kind in (*DEVICE_FIELDS, METER)},
        wiring=wiring_values(c.data.get("profile") or {}, form_values or {}),
        submitted=form_values or {},  # a refused form is shown as it was typed
        form_errors=form_errors or {},
        upload=upload,
        plans=plans,
        plan_chart=plan_chart,
        quotes=await p.quotes(c),
        stage=int(stage) if stage else None,
        readiness=await p.readiness(c.household_id) if stage else None,
        usage_chart=await _usage_chart(request, c),
        category_history=categories,
        prefs=_typed(preference_fields(c.data.get("profile") or {}), form_values or {}),
        audit=await p.store.audit(c.household_id),
    )


@allow(*HOUSEHOLD)
async def show(request: web.Request) -> web.Response:
    c = await _customer(request)
    return await household_page(request, c) if c else _not_found(request)


@allow(*HOUSEHOLD)
async def save_profile(request: web.Request) -> web.Response:
    c = await _customer(request)
    if c is None:
        return _not_found(request)
    form = await request.post()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    upload = form.get("meter_csv")
    text = None
    if isinstance(upload, web.FileField):
        raw = upload.file.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            return await household_page(request, c, status=413, error="the file is larger than 5 MB")
        try:
            text = raw.decode("utf-8-sig") or None
        except UnicodeDecodeError:
            return await household_page(request, c, status=400, error="the file is not a UTF-8 CSV")
    who, role = actor(request)
    try:
        result = await portal(request).save_profile(c, fields, who, role, text, fields.get("timezone", "UTC"))
    except ProfileError as err:
        return await household_page(request, c, status=400, form_errors=err.errors, form_values=fields)
    except (ActionError, JourneyError) as err:
        return await household_page(request, c, status=400, error=str(err))
    c = await _customer(request)
    assert c is not None
    return await household_page(request, c, upload=result, flash="Your profile is saved.")


# A household form's action: the customer, the posted form, and who acts in which role.
Action = Callable[[Customer, Mapping[str, object], str, Role], Awaitable[object]]


async def _act(
    request: web.Request,
    action: Action,
    *,
    refused: tuple[type[Exception], ...] = (ActionError, JourneyError),
    status: int = 400,
) -> web.Response:
    """Run a household form's action: back to the household page when done, or the page again with
    why the action was refused."""
    c = await _customer(request)
    if c is None:
        return _not_found(request)
    form = await request.post()
    who, role = actor(request)
    try:
        await action(c, form, who, role)
    except refused as err:
        return await household_page(request, c, status=status, error=str(err))
    return redirect(f"/households/{c.household_id}")


@allow(*HOUSEHOLD)
async def choose_plan(request: web.Request) -> web.Response:
    p = portal(request)
    return await _act(
        request, lambda c, form, who, role: p.choose_plan(c, str(form.get("plan", "")), who, role)
    )


@allow(*HOUSEHOLD)
async def book_assessment(request: web.Request) -> web.Response:
    p = portal(request)
    return await _act(
        request,
        lambda c, form, who, role: p.book_assessment(
            c, str(form.get("installer", "")), str(form.get("visit", "")), who, role
        ),
    )


@allow(*HOUSEHOLD)
async def leave(request: web.Request) -> web.Response:
    p = portal(request)
    return await _act(
        request,
        lambda c, form, who, role: p.leave(c, who, role, str(form.get("reason", ""))),
        refused=(JourneyError,),
        status=409,
    )


@allow(*HOUSEHOLD)
async def come_back(request: web.Request) -> web.Response:
    p = portal(request)
    return await _act(
        request, lambda c, _form, who, role: p.come_back(c, who, role), refused=(JourneyError,), status=409
    )


async def _events_page(
    request: web.Request, c: Customer, error: str | None = None, status: int = 200
) -> web.Response:
    p = portal(request)
    now = p.clock.now()
    skipped = {s.event_id for s in await p.store.skips(c.household_id)}
    rows = [(e, opt, e.event_id in skipped) for e, opt in await p.events_for(c.household_id)]
    upcoming = [r for r in reversed(rows) if r[0].start > now and r[0].status != "cancelled"]
    past = [r for r in rows if r not in upcoming]
    return page(
        request,
        "events.html",
        status=status,
        title="Events",
        customer=c,
        upcoming=upcoming,
        past=past,
        error=error,
    )


@allow(*HOUSEHOLD)
async def events(request: web.Request) -> web.Response:
    c = await _customer(request)
    return await _events_page(request, c) if c else _not_found(request)


@allow(*HOUSEHOLD)
async def skip(request: web.Request) -> web.Response:
    c = await _customer(request)
    if c is None:
        return _not_found(request)
    who, _ = actor(request)
    try:
        await portal(request).skip_event(c, request.match_info["event_id"], who)
    except ActionError as err:
        return await _events_page(request, c, str(err), 409)
    return redirect(f"/households/{c.household_id}/events")


def evidence_periods(line: Any) -> list[datetime]:
    """The half-hours the evidence chart shows: two hours before the event, its half-hours (one row
    of evidence each) and two hours after."""
    start = line.event_start - timedelta(hours=2)
    return [start + timedelta(minutes=30 * i) for i in range(4 + len(line.evidence) + 4)]


def evidence_chart(line: Any, day_energy: dict[Any, float]) -> str:
    baseline = {row["period"]: row.get("baseline_kwh") for row in line.evidence}
    periods = evidence_periods(line)
    labels = [t.astimezone(LONDON).strftime("%H:%M") for t in periods]
    actual: list[float | None] = [
        day_energy.get(t) if day_energy.get(t) is not None and math.isfinite(day_energy[t]) else None
        for t in periods
    ]
    base: list[float | None] = [baseline.get(t.isoformat()) for t in periods]
    return line_chart(
        "Baseline vs actual around the event",
        labels,
        [Series(name="actual kWh", values=actual), Series(name="baseline kWh", values=base)],
        "kWh",
    )


@allow(*HOUSEHOLD)
async def statements(request: web.Request) -> web.Response:
    c = await _customer(request)
    if c is None:
        return _not_found(request)
    p = portal(request)
    month = request.query.get("month") or p.clock.now().astimezone(LONDON).strftime("%Y-%m")
    try:
        statement = await household_statement(p.storage, c.household_id, month)
    except ValueError as err:
        return message(request, "Payments", str(err), status=400)
    lines = []
    for line in statement.lines:
        periods = evidence_periods(line)
        # An hour's margin before the first half-hour (a reading at its start), to the last one's end.
        energy = await half_hourly_energy(
            p.storage, c.household_id, periods[0] - timedelta(hours=1), periods[-1] + timedelta(minutes=30)
        )
        lines.append((line, evidence_chart(line, energy)))
    labels = [ln.event_start.astimezone(LONDON).strftime("%d %b") for ln in statement.lines]
    chart = (
        bar_chart("Payments this month (£)", labels, [float(ln.amount_gbp) for ln in statement.lines], "£")
        if statement.lines
        else ""
    )
    return page(
        request,
        "statements.html",
        title="Payments",
        customer=c,
        month=month,
        statement=statement,
        lines=lines,
        payments_chart=chart,
    )


@allow(Role.OPERATOR)
async def set_category(request: web.Request) -> web.Response:
    p = portal(request)
    return await _act(
        request,
        lambda c, form, who, _role: p.set_category(
            c, str(form.get("category", "")), bool(form.get("vulnerable")), str(form.get("reason", "")), who
        ),
        refused=(ActionError,),
    )


ROUTES = [
    web.get("/households/{household_id}", show),
    web.post("/households/{household_id}/profile", save_profile),
    web.post("/households/{household_id}/plan", choose_plan),
    web.post("/households/{household_id}/assessment", book_assessment),
    web.post("/households/{household_id}/category", set_category),
    web.post("/households/{household_id}/leave", leave),
    web.post("/households/{household_id}/return", come_back),
    web.get("/households/{household_id}/events", events),
    web.post("/households/{household_id}/events/{event_id}/skip", skip),
    web.get("/households/{household_id}/statements", statements),
]

__all__ = ["PLANS", "ROUTES"]
