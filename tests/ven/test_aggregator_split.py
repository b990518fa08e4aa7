"""The aggregator VEN's pure split of an event's request across its portfolio."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeflex.ven.aggregator import Resource, event_resources, split_request


def r(household_id: str, offered_kw: float, **kw: object) -> Resource:
    return Resource(household_id=household_id, offered_kw=offered_kw, **kw)  # type: ignore[arg-type]


def test_the_request_is_spread_in_proportion_to_what_each_member_offered() -> None:
    split = split_request({"a": 2.0, "b": 2.0}, [r("a", 3.0), r("b", 1.0)])
    # 4 kW in all, 3:1 by offer -> a 3, b 1; a is capped at its own request (2 kW), b at its offer.
    assert split.share("a") == pytest.approx(2.0) and split.share("b") == pytest.approx(1.0)
    assert split.opt_in and "3.00 of 4.00 kW (75%)" in split.reason
    split = split_request({"a": 1.0, "b": 1.0}, [r("a", 3.0), r("b", 1.0)])
    assert split.share("a") == pytest.approx(1.0) and split.share("b") == pytest.approx(1.0)
    split = split_request({"a": 2.0, "b": 2.0}, [r("a", 1.5), r("b", 0.5)])  # 2 kW apiece, 3:1
    assert split.share("a") == pytest.approx(1.5) and split.share("b") == pytest.approx(0.5)
    split = split_request({"a": 1.0, "b": 1.0, "c": 1.0}, [r("a", 3.0), r("b", 1.5), r("c", 1.5)])
    assert split.share("a") == pytest.approx(1.0)  # capped at its request
    assert split.share("b") == pytest.approx(1.0) and split.share("c") == pytest.approx(1.0)
    assert split.opt_in and split.allocated_kw == pytest.approx(3.0)


def test_unequal_offers_below_the_requests_are_shared_out_by_offer() -> None:
    split = split_request({"a": 2.0, "b": 2.0}, [r("a", 0.6), r("b", 0.2)])
    assert split.share("a") == pytest.approx(0.6) and split.share("b") == pytest.approx(0.2)
    assert split.requested_kw == 4.0
    assert not split.opt_in  # 0.8 of 4 kW is 20 %, below the default minimum share of 25 %
    assert "below the minimum share" in split.reason


def test_a_member_with_nothing_to_offer_gets_nothing_and_the_others_carry_the_request() -> None:
    split = split_request({"a": 1.0, "b": 1.0, "z": 1.0}, [r("a", 2.0), r("b", 2.0), r("z", 0.0)])
    assert split.share("z") == 0.0
    assert split.share("a") == pytest.approx(1.0) and split.share("b") == pytest.approx(1.0)
    assert split.opt_in and "2.00 of 3.00 kW (67%)" in split.reason


def test_a_vulnerable_member_is_never_curtailed_beyond_its_safety_rules() -> None:
    portfolio = [r("v", 5.0, vulnerable=True), r("a", 1.0)]
    split = split_request({"v": 1.0, "a": 1.0}, portfolio)
    assert split.share("v") == 0.0  # by default a vulnerable home sheds nothing
    assert split.share("a") == pytest.approx(1.0)
    split = split_request({"v": 1.0, "a": 1.0}, [r("v", 5.0, vulnerable=True, safe_kw=0.3), r("a", 0.5)])
    assert split.share("v") == pytest.approx(0.3) and split.share("a") == pytest.approx(0.5)


def test_an_empty_portfolio_or_an_event_for_none_of_its_members_opts_out_with_the_reason() -> None:
    empty = split_request({"a": 1.0}, [])
    assert not empty.opt_in and empty.reason == "the portfolio is empty" and empty.shares == ()
    other = split_request({"x": 1.0}, [r("a", 1.0)])
    assert not other.opt_in and other.reason == "the event targets no member of the portfolio"


def test_households_targeted_outside_the_portfolio_get_no_share() -> None:
    split = split_request({"a": 1.0, "stranger": 1.0}, [r("a", 2.0)])
    assert split.shares == (("a", 1.0),) and split.requested_kw == 1.0


def test_bad_figures_are_refused() -> None:
    with pytest.raises(ValueError, match="offered_kw"):
        r("a", -1.0)
    with pytest.raises(ValueError, match="safe_kw"):
        r("a", 1.0, vulnerable=True, safe_kw=float("nan"))
    with pytest.raises(ValueError, match="min_share"):
        split_request({"a": 1.0}, [r("a", 1.0)], min_share=1.5)


def test_event_resources_reads_the_resource_targets() -> None:
    event = {"targets_by_type": {"ven_id": ["ven-agg"], "resource_id": ["h2", "h1"]}}
    assert event_resources(event) == ("h1", "h2")
    assert event_resources({"targets": [{"ven_id": "v"}, {"resource_id": "h9"}]}) == ("h9",)
    assert event_resources({}) == ()


@given(
    st.lists(
        st.tuples(
            st.floats(0, 10, allow_nan=False),
            st.floats(0, 10, allow_nan=False),
            st.booleans(),
            st.floats(0, 10, allow_nan=False),
        ),
        min_size=0,
        max_size=8,
    )
)
def test_shares_never_exceed_a_cap_nor_the_request(members: list[tuple[float, float, bool, float]]) -> None:
    portfolio = [
        r(f"h{i}", offered, vulnerable=vulnerable, safe_kw=safe)
        for i, (_, offered, vulnerable, safe) in enumerate(members)
    ]
    requests = {f"h{i}": request for i, (request, *_) in enumerate(members)}
    split = split_request(requests, portfolio)
    for resource in portfolio:
        share = split.share(resource.household_id)
        assert 0 <= share <= min(resource.cap_kw, requests[resource.household_id]) + 1e-6
    assert split.allocated_kw <= split.requested_kw + 1e-6
    # Nothing is left undone that a member could still take.
    spare = sum(
        min(x.cap_kw, requests[x.household_id]) - split.share(x.household_id)
        for x in portfolio
        if x.offered_kw > 0
    )
    assert split.allocated_kw == pytest.approx(split.requested_kw, abs=1e-6) or spare < 1e-6
