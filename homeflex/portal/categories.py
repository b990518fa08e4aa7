"""Customer categories A-D (pure): what each is, the contracts each typically holds, which one a
customer's intentions point to, and the category history (append-only; the latest entry holds)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from homeflex.core.customer import CategoryChange
from homeflex.core.domain import Category

__all__ = [
    "CATEGORIES",
    "INTENTIONS",
    "VULNERABLE_RULES",
    "CategoryChange",
    "CategoryInfo",
    "change_category",
    "suggest_category",
]


@dataclass(frozen=True, kw_only=True)
class CategoryInfo:
    category: Category
    name: str
    characteristics: str
    contracts: tuple[str, ...]


CATEGORIES: dict[Category, CategoryInfo] = {
    Category.A: CategoryInfo(
        category=Category.A,
        name="System Service Provider",
        characteristics="Sells flexibility to the DSO or TSO directly (or as an aggregator), with metering"
        " and controllable assets to contract volumes.",
        contracts=("bilateral DSO/TSO flexibility agreement",),
    ),
    Category.B: CategoryInfo(
        category=Category.B,
        name="Active Participant",
        characteristics="Generates, stores or shifts energy on purpose and lets an aggregator dispatch it.",
        contracts=("power purchase agreement", "time-of-use product", "aggregator contract"),
    ),
    Category.C: CategoryInfo(
        category=Category.C,
        name="Passive Participant",
        characteristics="Has flexible devices that respond automatically to prices, without managing them.",
        contracts=("supplier time-of-use tariff",),
    ),
    Category.D: CategoryInfo(
        category=Category.D,
        name="Passive Consumer",
        characteristics="Buys electricity and does not (yet) shift it.",
        contracts=("basic supplier tariff",),
    ),
}

# What a customer may say they want to do, and the category each intention needs at least.
INTENTIONS: dict[str, tuple[str, Category]] = {
    "contract_dso": ("sell flexibility to the DSO or TSO under my own contract", Category.A),
    "aggregate": ("aggregate other households' flexibility", Category.A),
    "export": ("sell what my solar panels or battery produce", Category.B),
    "respond_events": ("be paid for reducing my use in DSO events", Category.B),
    "time_of_use": ("shift my use to cheaper times automatically", Category.C),
    "save": ("just use less and see my consumption", Category.D),
}

VULNERABLE_RULES = (
    "the comfort floor is hard, with a margin",
    "the heat pump is never capped",
    "never opted in to an event that would need the floor breached",
    "a house below its floor is always heated",
)

_RANK = {Category.A: 0, Category.B: 1, Category.C: 2, Category.D: 3}


def suggest_category(intentions: Collection[str]) -> Category:
    """The category the most demanding intention points to (D when none is given). ValueError on an
    unknown intention."""
    unknown = sorted(set(intentions) - set(INTENTIONS))
    if unknown:
        raise ValueError(f"unknown intention(s) {', '.join(unknown)}: choose from {', '.join(INTENTIONS)}")
    found = [INTENTIONS[i][1] for i in intentions]
    return min(found, key=_RANK.__getitem__) if found else Category.D


def change_category(
    history: Sequence[CategoryChange],
    *,
    household_id: str,
    category: Category,
    vulnerable: bool,
    at: datetime,
    reason: str,
    actor: str,
) -> CategoryChange:
    """The next history entry; ValueError when it changes nothing or goes back in time."""
    if history:
        last = history[-1]
        if last.category == category and last.vulnerable == vulnerable:
            raise ValueError(f"already category {category.value}{' (vulnerable)' if vulnerable else ''}")
        if at < last.since:
            raise ValueError("a category change cannot be dated before the current one")
    if not reason.strip():
        raise ValueError("say why the category changes")
    return CategoryChange(
        household_id=household_id,
        category=category,
        vulnerable=vulnerable,
        since=at,
        reason=reason.strip(),
        actor=actor,
    )
