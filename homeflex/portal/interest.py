"""An expression of interest, checked before anything is stored (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeflex.core.domain import Category
from homeflex.portal.base import EMAIL, ActionError
from homeflex.portal.categories import suggest_category
from homeflex.portal.energy import LEGACY, connectivity


@dataclass(frozen=True, kw_only=True)
class Interest:
    """An expression of interest, checked: the category is the one its intentions suggest."""

    name: str
    email: str
    postcode: str
    intentions: list[str]
    owned: dict[str, str]  # device kind -> how it connects (energy.connectivity())
    category: Category
    vulnerable: bool


def parse_interest(form: Mapping[str, Any]) -> Interest:
    """ActionError naming every field to correct."""
    name, email = str(form.get("name", "")).strip(), str(form.get("email", "")).strip().lower()
    postcode = str(form.get("postcode", "")).strip().upper()
    errors = []
    if not 1 <= len(name) <= 100:
        errors.append("enter your name")
    if not EMAIL.fullmatch(email) or len(email) > 200:
        errors.append("enter a valid email address")
    if not 2 <= len(postcode) <= 10:
        errors.append("enter your postcode")
    intentions = [str(i) for i in form.get("intentions", [])]
    owned = {str(k): LEGACY.get(str(v), str(v)) for k, v in dict(form.get("owned", {})).items()}
    if any(p not in connectivity() for p in owned.values()):
        errors.append("choose how each device you own connects")
    try:
        category = suggest_category(intentions)
    except ValueError as err:
        errors.append(str(err))
    if errors:
        raise ActionError("; ".join(errors))
    return Interest(
        name=name,
        email=email,
        postcode=postcode,
        intentions=intentions,
        owned=owned,
        category=category,
        vulnerable=bool(form.get("vulnerable")),
    )
