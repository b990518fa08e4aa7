"""The operator API for aggregators: one VEN for a portfolio of households.

An aggregator is enrolled as a household of its own (category A, group `aggregators`), so its VEN
registers like any other (ven_name = the aggregator id); its members are existing households. Events
target the members (or their group) as usual; the aggregator's VEN gets them with the members as
eiTarget resourceIDs (homeflex.vtn.poll) and the DSO pays the aggregator for them (homeflex.settlement).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from homeflex.core.clock import Clock
from homeflex.core.domain import Category
from homeflex.settlement.limits import MAX_REDUCTION_KW
from homeflex.settlement.portfolio import portfolio_statement, portfolio_statement_json
from homeflex.storage import Storage
from homeflex.storage.aggregators import AggregatorStore
from homeflex.storage.households import HouseholdStore
from homeflex.storage.records import AggregatorRecord, HouseholdRecord, PortfolioMember
from homeflex.vtn.events import BadRequest

AGGREGATOR_GROUP = "aggregators"


class PortfolioStore(AggregatorStore, HouseholdStore, Protocol):
    """Portfolios and the households they are made of."""


def parse_portfolio(aggregator_id: str, body: Any) -> AggregatorRecord:
    """Check an operator's aggregator request (pure); raises BadRequest with a clear message."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    unknown = set(body) - {"name", "members"}
    if unknown:
        raise BadRequest(f"unknown fields: {', '.join(sorted(unknown))}")
    name = body.get("name", aggregator_id)
    if not isinstance(name, str) or not name:
        raise BadRequest("'name' must be a non-empty string")
    members = body.get("members")
    if not isinstance(members, list):
        raise BadRequest('\'members\' must be a list of {"household_id": ..., "offered_kw": ...}')
    parsed = [_member(m) for m in members]
    ids = [m.household_id for m in parsed]
    if len(set(ids)) != len(ids):
        raise BadRequest("'members' lists a household twice")
    if aggregator_id in ids:
        raise BadRequest(f"aggregator {aggregator_id!r} cannot be a member of its own portfolio")
    return AggregatorRecord(
        id=aggregator_id, name=name, members=tuple(sorted(parsed, key=lambda m: m.household_id))
    )


def _member(item: Any) -> PortfolioMember:
    if not isinstance(item, dict) or set(item) - {"household_id", "offered_kw"}:
        raise BadRequest('each member must be {"household_id": <id>, "offered_kw": <kW>}')
    household_id, offered = item.get("household_id"), item.get("offered_kw")
    if not isinstance(household_id, str) or not household_id:
        raise BadRequest("a member's 'household_id' must be a non-empty string")
    if isinstance(offered, bool) or not isinstance(offered, int | float) or not _finite(offered):
        raise BadRequest(f"member {household_id}: 'offered_kw' must be a finite number of kW")
    if not 0 <= offered <= MAX_REDUCTION_KW:
        raise BadRequest(f"member {household_id}: 'offered_kw' must be between 0 and {MAX_REDUCTION_KW} kW")
    return PortfolioMember(household_id=household_id, offered_kw=float(offered))


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


async def check_portfolio(storage: PortfolioStore, record: AggregatorRecord) -> None:
    """What only the database can tell: the aggregator id is not an ordinary household, and each member
    is a household that is neither an aggregator nor in another portfolio."""
    existing = await storage.get_household(record.id)
    aggregators = await storage.list_aggregators()
    if existing is not None and record.id not in {a.id for a in aggregators}:
        raise BadRequest(f"{record.id!r} is already a household: an aggregator needs an id of its own")
    owner = {m.household_id: a.id for a in aggregators for m in a.members if a.id != record.id}
    for m in record.members:
        if await storage.get_household(m.household_id) is None:
            raise BadRequest(f"unknown household {m.household_id!r}: enrol it first")
        if any(a.id == m.household_id for a in aggregators):
            raise BadRequest(f"{m.household_id!r} is an aggregator, not a household")
        if m.household_id in owner:
            raise BadRequest(
                f"{m.household_id!r} is already in aggregator {owner[m.household_id]!r}'s portfolio"
            )


def aggregator_json(a: AggregatorRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "ven_name": a.id,  # the aggregator's VEN registers with this ven_name
        "members": [{"household_id": m.household_id, "offered_kw": m.offered_kw} for m in a.members],
        "offered_kw": sum(m.offered_kw for m in a.members),
    }


async def is_aggregator(storage: AggregatorStore, household_id: str) -> bool:
    return await storage.get_aggregator(household_id) is not None


def routes(storage_key: web.AppKey[Storage], clock_key: web.AppKey[Clock]) -> list[web.RouteDef]:
    """The aggregator routes, reading the app's storage and clock under the API's keys."""

    async def put_aggregator(request: web.Request) -> web.Response:
        storage, now = request.app[storage_key], request.app[clock_key].now()
        try:
            body = await request.json()
        except ValueError as err:
            raise BadRequest(f"the body is not valid JSON: {err}") from err
        record = parse_portfolio(request.match_info["aggregator_id"], body)
        await check_portfolio(storage, record)
        await save(storage, record, now)
        return web.json_response(aggregator_json(record))

    async def get_aggregator(request: web.Request) -> web.Response:
        record = await request.app[storage_key].get_aggregator(request.match_info["aggregator_id"])
        if record is None:
            return web.json_response(
                {"error": f"no aggregator {request.match_info['aggregator_id']!r}"}, status=404
            )
        return web.json_response(aggregator_json(record))

    async def list_aggregators(request: web.Request) -> web.Response:
        return web.json_response(
            [aggregator_json(a) for a in await request.app[storage_key].list_aggregators()]
        )

    async def get_statement(request: web.Request) -> web.Response:
        try:
            statement = await portfolio_statement(
                request.app[storage_key], request.match_info["aggregator_id"], request.match_info["event_id"]
            )
        except LookupError as err:
            return web.json_response({"error": str(err)}, status=404)
        return web.json_response(portfolio_statement_json(statement))

    return [
        web.put("/api/aggregators/{aggregator_id}", put_aggregator),
        web.get("/api/aggregators", list_aggregators),
        web.get("/api/aggregators/{aggregator_id}", get_aggregator),
        web.get("/api/aggregators/{aggregator_id}/events/{event_id}", get_statement),
    ]


async def save(storage: PortfolioStore, record: AggregatorRecord, now: datetime) -> None:
    """The aggregator's own household (its account and VEN identity), then its portfolio."""
    household = HouseholdRecord(id=record.id, group=AGGREGATOR_GROUP, category=Category.A)
    await storage.upsert_household(household, now)
    await storage.save_aggregator(record, now)
