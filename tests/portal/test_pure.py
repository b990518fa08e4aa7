"""Categories with history, the funnel, quiet hours, the profile form, compatibility, plans, auth."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from homeflex.core.domain import Category, DeviceKind
from homeflex.drivers import DRIVERS
from homeflex.portal import auth
from homeflex.portal.categories import change_category, suggest_category
from homeflex.portal.energy import (
    ProfileError,
    check_compatibility,
    connectivity,
    eligible_plans,
    parse_profile,
)
from homeflex.portal.funnel import funnel
from homeflex.portal.journey import Role, Step, start, transition
from homeflex.portal.notify import event_notice_at, send_after
from tests.portal.helpers import PROFILE_FORM

T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("intentions", "category"),
    [
        ([], Category.D),
        (["save"], Category.D),
        (["time_of_use", "save"], Category.C),
        (["respond_events", "time_of_use"], Category.B),
        (["export"], Category.B),
        (["contract_dso", "save"], Category.A),
    ],
)
def test_category_follows_what_the_customer_wants(intentions: list[str], category: Category) -> None:
    assert suggest_category(intentions) is category


def test_unknown_intention_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown intention"):
        suggest_category(["mine bitcoin"])


def test_category_history_appends_and_refuses_no_change_or_going_back() -> None:
    first = change_category(
        [], household_id="h", category=Category.D, vulnerable=False, at=T0, reason="eoi", actor="public"
    )
    second = change_category(
        [first],
        household_id="h",
        category=Category.D,
        vulnerable=True,
        at=T0 + timedelta(days=1),
        reason="told us",
        actor="op",
    )
    assert second.vulnerable and second.category is Category.D
    with pytest.raises(ValueError, match="already category D"):
        change_category(
            [first, second],
            household_id="h",
            category=Category.D,
            vulnerable=True,
            at=T0 + timedelta(days=2),
            reason="x",
            actor="op",
        )
    with pytest.raises(ValueError, match="before the current one"):
        change_category(
            [first, second],
            household_id="h",
            category=Category.B,
            vulnerable=True,
            at=T0,
            reason="x",
            actor="op",
        )
    with pytest.raises(ValueError, match="say why"):
        change_category(
            [first],
            household_id="h",
            category=Category.B,
            vulnerable=False,
            at=T0 + timedelta(days=3),
            reason=" ",
            actor="op",
        )


def test_funnel_counts_steps_drop_off_and_durations() -> None:
    audit = []
    for i, (household, last, leave) in enumerate(
        [("a", Step.PLAN, False), ("b", Step.ACCOUNT, True), ("c", Step.INVITED, False)]
    ):
        s, e = start(household, T0)
        audit.append(e)
        path = [Step.SESSION_BOOKED, Step.INVITED, Step.ACCOUNT, Step.PROFILE, Step.PLAN]
        roles = [Role.PUBLIC, Role.OPERATOR, Role.PUBLIC, Role.HOUSEHOLDER, Role.HOUSEHOLDER]
        day = 0
        for to, role in zip(path, roles, strict=True):
            day += 1 + i
            s, e = transition(s, to, actor="x", role=role, at=T0 + timedelta(days=day))
            audit.append(e)
            if to is last:
                break
        if leave:
            s, e = transition(s, Step.LEFT, actor="x", role=Role.HOUSEHOLDER, at=T0 + timedelta(days=30))
            audit.append(e)
    rows = {r.step: r for r in funnel(audit, {"a": Category.B, "b": Category.B, "c": Category.D})}
    assert rows[Step.INTEREST].reached == 3 and rows[Step.INVITED].reached == 3
    assert rows[Step.PLAN].now_at == 1 and rows[Step.INVITED].now_at == 1
    assert rows[Step.ACCOUNT].left_here == 1 and rows[Step.ACCOUNT].now_at == 0
    assert rows[Step.INTEREST].median_days == 2.0  # 1, 2 and 3 days
    only_b = {
        r.step: r for r in funnel(audit, {"a": Category.B, "b": Category.B, "c": Category.D}, Category.B)
    }
    assert only_b[Step.INTEREST].reached == 2 and only_b[Step.INVITED].now_at == 0


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 11, 24, 12, tzinfo=UTC), datetime(2026, 11, 24, 12, tzinfo=UTC)),
        (datetime(2026, 11, 24, 22, tzinfo=UTC), datetime(2026, 11, 25, 8, tzinfo=UTC)),
        (datetime(2026, 11, 24, 3, tzinfo=UTC), datetime(2026, 11, 24, 8, tzinfo=UTC)),
        (
            datetime(2026, 6, 24, 6, 30, tzinfo=UTC),
            datetime(2026, 6, 24, 7, tzinfo=UTC),
        ),  # 07:30 BST -> 08:00
        (datetime(2026, 6, 24, 20, 30, tzinfo=UTC), datetime(2026, 6, 25, 7, tzinfo=UTC)),  # 21:30 BST
    ],
)
def test_mail_is_never_sent_overnight(at: datetime, expected: datetime) -> None:
    assert send_after(at) == expected


def test_event_notice_before_an_early_event_goes_the_evening_before() -> None:
    notice = event_notice_at(datetime(2026, 11, 25, 7, tzinfo=UTC))  # 4 h ahead would be 03:00
    assert notice == datetime(2026, 11, 24, 20, 59, tzinfo=UTC)
    assert event_notice_at(datetime(2026, 11, 25, 17, tzinfo=UTC)) == datetime(2026, 11, 25, 13, tzinfo=UTC)


def test_profile_form_is_checked_field_by_field() -> None:
    doc = parse_profile(PROFILE_FORM)
    assert doc["devices"] == {"ev_charger": {"ev_charger_kw": 7.4, "ev_battery_kwh": 60.0}}
    assert doc["preferences"]["ev_target_soc"] == 0.8 and doc["tariff"] == {"type": "two_rate"}
    bad = {
        **PROFILE_FORM,
        "ev_charger_kw": "70",
        "home_type": "castle",
        "ev_ready_by": "25:00",
        "tariff": "x",
    }
    with pytest.raises(ProfileError) as err:
        parse_profile(bad)
    assert set(err.value.errors) == {"ev_charger_kw", "home_type", "ev_ready_by", "tariff"}
    with pytest.raises(ProfileError, match="comfort band must be at least 1"):
        parse_profile({**PROFILE_FORM, "comfort_min_c": "21", "comfort_max_c": "21.5"})


def test_compatibility_says_what_is_and_is_not_supported() -> None:
    verdicts = {
        c.kind: c
        for c in check_compatibility(
            {
                "ev_charger": "homeflex",
                "heat_pump": "modbus",  # an answer stored before the driver registry
                "gas_boiler": "cloud",
                "battery": "smoke signals",
                "pv": "none",
            }
        )
    }
    assert verdicts["ev_charger"].compatible
    assert verdicts["ev_charger"].why.startswith(f"supported over {DRIVERS.get('homeflex').title}")
    assert not verdicts["heat_pump"].compatible
    assert "another way (e.g. Modbus) is not supported yet" in verdicts["heat_pump"].why
    assert verdicts["gas_boiler"].why == "no adapter for this kind of device yet"
    assert verdicts["battery"].why == "unknown connectivity"
    assert not verdicts["pv"].compatible


def test_compatibility_and_its_choices_come_from_the_driver_registry() -> None:
    """Every registered driver is offered with the products known to speak it, and is compatible
    exactly with the kinds of device it drives (the drivers added later included)."""
    offered = connectivity()
    for name, info in DRIVERS:
        assert offered[name].startswith(info.title)
        assert all(product in offered[name] for product in info.products[:3])
        for kind in DeviceKind:
            [verdict] = check_compatibility({kind.value: name})
            assert verdict.compatible is (kind in info.kinds), (name, kind, verdict.why)
            if verdict.compatible:
                assert all(product in verdict.why for product in info.products)
    assert list(offered)[-3:] == ["cloud", "other", "none"]  # the answers no driver takes, last


def test_plan_eligibility_follows_the_profile() -> None:
    verdicts = {p.id: (ok, why) for p, ok, why in eligible_plans(parse_profile(PROFILE_FORM))}
    assert verdicts["ev"] == (True, "eligible")
    assert verdicts["solar_battery"] == (False, "needs Solar PV and Home battery")


def test_passwords_tokens_and_rate_limit() -> None:
    h = auth.hash_password("correct horse battery")
    assert h.startswith("$argon2id$") and "correct" not in h
    assert auth.verify_password(h, "correct horse battery") and not auth.verify_password(h, "wrong")
    assert not auth.verify_password("not a hash", "x")
    assert auth.password_problem("short", "a@b.c") and auth.password_problem("a@b.cd.efgh", "a@b.cd.efgh")
    token = auth.new_token()
    assert len(token) >= 40 and auth.token_hash(token) != token
    limit = auth.RateLimit(attempts=3, window=timedelta(minutes=15))
    for i in range(3):
        assert not limit.blocked("k", T0 + timedelta(minutes=i))
        limit.failed("k", T0 + timedelta(minutes=i))
    assert limit.blocked("k", T0 + timedelta(minutes=5))
    assert not limit.blocked("k", T0 + timedelta(minutes=16, seconds=1))  # the first failure aged out


def test_charts_are_named_escaped_and_survive_gaps() -> None:
    from homeflex.portal.charts import Series, bar_chart, line_chart

    svg = line_chart(
        "<script>", ["a", "b", "c"], [Series(name="x & y", values=[1.0, None, float("nan")])], "kWh"
    )
    assert "<script>" not in svg and 'aria-label="&lt;script&gt;"' in svg and "x &amp; y" in svg
    assert svg.count("<circle") == 1  # one value, one marker: a single half-hour still shows
    assert "<desc>" in bar_chart("Paid", ["Nov"], [0.0], "£")


@pytest.mark.parametrize("event_periods", [1, 4])
def test_the_evidence_chart_shows_two_hours_either_side_of_the_event(event_periods: int) -> None:
    from types import SimpleNamespace

    from homeflex.portal.pages_household import evidence_chart

    start = datetime(2026, 11, 24, 17, tzinfo=UTC)  # London is on UTC in November
    half_hours = [start + timedelta(minutes=30 * i) for i in range(-8, 16)]
    evidence = [{"period": t.isoformat(), "baseline_kwh": 1.0} for t in half_hours[8 : 8 + event_periods]]
    line = SimpleNamespace(event_start=start, evidence=evidence)
    svg = evidence_chart(line, dict.fromkeys(half_hours, 0.5))
    actual = svg[svg.index("<desc>actual kWh: ") : svg.index("; baseline kWh")]
    shown = re.findall(r"\d\d:\d\d", actual)
    assert shown[0] == "15:00" and len(shown) == 4 + event_periods + 4
    assert shown[-1] == f"{start + timedelta(minutes=30 * (event_periods + 3)):%H:%M}"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.8999999999, "0.900"), (1, "1.000"), (None, ""), ("n/a", "n/a"), (True, "")],
)
def test_energy_in_statements_reads_as_people_read_it(value: object, shown: str) -> None:
    from homeflex.portal.templates import kwh

    assert kwh(value) == shown
