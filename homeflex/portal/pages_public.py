"""Public pages: expression of interest, the applicant's page (information session, compatibility),
the invite, log in and out, password reset."""

from __future__ import annotations

from aiohttp import web

from homeflex.portal.actions import INTENTION_CHOICES, ActionError, LoginError, Session
from homeflex.portal.categories import CATEGORIES
from homeflex.portal.energy import DEVICE_NAMES, OTHER_KINDS, check_compatibility, connectivity
from homeflex.portal.journey import TITLES, JourneyError, Role, progress
from homeflex.portal.web import (
    PUBLIC,
    SESSION_COOKIE,
    SESSION_TOKEN,
    account,
    allow,
    client_address,
    message,
    page,
    portal,
    redirect,
    set_session_cookie,
)
from homeflex.storage.portal import TokenError

OWNED_KINDS = [*DEVICE_NAMES.items(), *OTHER_KINDS.items()]


def home_of(s: Session) -> str:
    if s.account.role is Role.OPERATOR:
        return "/console"
    if s.account.role is Role.INSTALLER:
        return "/installer"
    return f"/households/{s.account.household_id}"


def _signed_in(request: web.Request, session: Session) -> web.Response:
    """To the new session's home page, with its cookie (Secure when the portal is served over HTTPS)."""
    response = redirect(home_of(session))
    set_session_cookie(response, session.token, portal(request).config.base_url.startswith("https://"))
    return response


@allow(PUBLIC)
async def index(request: web.Request) -> web.Response:
    a = account(request)
    if a is not None:
        return redirect(
            "/console"
            if a.role is Role.OPERATOR
            else "/installer"
            if a.role is Role.INSTALLER
            else f"/households/{a.household_id}"
        )
    return page(
        request,
        "index.html",
        title="Join homeflex",
        intentions=INTENTION_CHOICES,
        owned_kinds=OWNED_KINDS,
        protocols=list(connectivity().items()),
    )


@allow(PUBLIC)
async def interest(request: web.Request) -> web.Response:
    form = await request.post()
    owned = {k: str(form[f"owned_{k}"]) for k, _ in OWNED_KINDS if form.get(f"owned_{k}")}
    try:
        _, token = await portal(request).express_interest(
            {
                "name": form.get("name", ""),
                "email": form.get("email", ""),
                "postcode": form.get("postcode", ""),
                "intentions": form.getall("intentions", []),
                "owned": owned,
                "vulnerable": bool(form.get("vulnerable")),
            }
        )
    except ActionError as err:
        return page(
            request,
            "index.html",
            status=400,
            title="Join homeflex",
            error=str(err),
            intentions=INTENTION_CHOICES,
            owned_kinds=OWNED_KINDS,
            protocols=list(connectivity().items()),
        )
    return redirect(f"/apply/{token}")


async def _applicant_page(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    p, token = portal(request), request.match_info["token"]
    try:
        c = await p.applicant(token)
    except TokenError as err:
        return message(request, "Link not valid", str(err), status=404)
    categories = await p.store.categories(c.household_id)
    return page(
        request,
        "apply.html",
        status=status,
        title="Your application",
        error=error,
        customer=c,
        token=token,
        steps=progress(c.state.step, c.state.left_from),
        titles=TITLES,
        compat=check_compatibility(c.data.get("owned", {})),
        category=categories[-1],
        category_info=CATEGORIES[categories[-1].category],
        booking=await p.store.booking(c.household_id),
        sessions=[s for s in await p.store.info_sessions() if s.starts_at > p.clock.now()],
    )


@allow(PUBLIC)
async def applicant(request: web.Request) -> web.Response:
    return await _applicant_page(request)


@allow(PUBLIC)
async def book(request: web.Request) -> web.Response:
    p, form = portal(request), await request.post()
    try:
        c = await p.applicant(request.match_info["token"])
        await p.book_session(c, str(form.get("session_id", "")))
    except TokenError as err:
        return message(request, "Link not valid", str(err), status=404)
    except (ActionError, JourneyError) as err:
        return await _applicant_page(request, str(err), 409)
    return redirect(f"/apply/{request.match_info['token']}")


@allow(PUBLIC)
async def cancel_booking(request: web.Request) -> web.Response:
    p = portal(request)
    try:
        c = await p.applicant(request.match_info["token"])
        await p.cancel_session(c)
    except TokenError as err:
        return message(request, "Link not valid", str(err), status=404)
    except JourneyError as err:
        return await _applicant_page(request, str(err), 409)
    return redirect(f"/apply/{request.match_info['token']}")


@allow(PUBLIC)
async def invite_form(request: web.Request) -> web.Response:
    p = portal(request)
    from homeflex.portal.auth import token_hash

    try:
        email, _ = await p.store.peek_token("invite", token_hash(request.match_info["token"]), p.clock.now())
    except TokenError as err:
        return message(request, "Invitation not valid", str(err), status=404)
    return page(request, "invite.html", title="Create your account", email=email)


@allow(PUBLIC)
async def invite_accept(request: web.Request) -> web.Response:
    p, form = portal(request), await request.post()
    try:
        session = await p.accept_invite(request.match_info["token"], str(form.get("password", "")))
    except TokenError as err:
        return message(request, "Invitation not valid", str(err), status=404)
    except (ActionError, JourneyError) as err:
        return page(request, "invite.html", status=400, title="Create your account", error=str(err), email="")
    return _signed_in(request, session)


@allow(PUBLIC)
async def login_form(request: web.Request) -> web.Response:
    return page(request, "login.html", title="Log in")


@allow(PUBLIC)
async def login(request: web.Request) -> web.Response:
    p, form = portal(request), await request.post()
    try:
        session = await p.login(
            str(form.get("email", "")), str(form.get("password", "")), client_address(request)
        )
    except LoginError as err:
        return page(request, "login.html", status=401, title="Log in", error=str(err))
    return _signed_in(request, session)


@allow(Role.HOUSEHOLDER, Role.INSTALLER, Role.OPERATOR)
async def logout(request: web.Request) -> web.Response:
    await portal(request).logout(request[SESSION_TOKEN])
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@allow(PUBLIC)
async def reset_request_form(request: web.Request) -> web.Response:
    return page(request, "reset_request.html", title="Reset your password")


@allow(PUBLIC)
async def reset_request(request: web.Request) -> web.Response:
    form = await request.post()
    await portal(request).request_reset(str(form.get("email", "")))
    return message(
        request, "Check your email", "If an account exists for that address, we have sent it a link."
    )


@allow(PUBLIC)
async def reset_form(request: web.Request) -> web.Response:
    return page(request, "reset.html", title="Choose a new password")


@allow(PUBLIC)
async def reset(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        await portal(request).reset_password(request.match_info["token"], str(form.get("password", "")))
    except TokenError as err:
        return message(request, "Link not valid", str(err), status=404)
    except ActionError as err:
        return page(request, "reset.html", status=400, title="Choose a new password", error=str(err))
    return message(
        request, "Password changed", "Log in with your new password.", link="/login", link_text="Log in"
    )


ROUTES = [
    web.get("/", index),
    web.post("/interest", interest),
    web.get("/apply/{token}", applicant),
    web.post("/apply/{token}/book", book),
    web.post("/apply/{token}/cancel", cancel_booking),
    web.get("/invite/{token}", invite_form),
    web.post("/invite/{token}", invite_accept),
    web.get("/login", login_form),
    web.post("/login", login),
    web.post("/logout", logout),
    web.get("/reset", reset_request_form),
    web.post("/reset", reset_request),
    web.get("/reset/{token}", reset_form),
    web.post("/reset/{token}", reset),
]
