"""Which 3.1 objects a client may see, for the API and for webhooks alike.

A VEN client is bound to the VEN its id names (`ven-<venName>`): it acts for that VEN once it has created
it, and for no other, whatever the database holds (a VEN another client took before this check existed
gives that client nothing). Business logic sees everything.
"""

from __future__ import annotations

from typing import Any

from homeflex.storage.oadr3 import Oadr3Store
from homeflex.vtn.openadr import household_of


async def own_vens(storage: Oadr3Store, client_id: str, role: str) -> set[str] | None:
    """The VEN ids (= household ids) a client acts for; None for business logic (all of them)."""
    if role == "bl":
        return None
    name = household_of(client_id)
    ven = await storage.get_oadr3_object("VEN", name) if name else None
    return {ven.id} if ven is not None and ven.client_id == client_id else set()


def may_see(own: set[str] | None, client_id: str, object_type: str, obj: dict[str, Any]) -> bool:
    """Whether a client acting for `own` may see `obj` (served JSON) of `object_type`. Events are
    narrowed by their targets instead (events_api.visible)."""
    if own is None or object_type == "PROGRAM":
        return True
    if object_type == "VEN":
        return obj.get("id") in own
    if object_type == "RESOURCE":
        return obj.get("venID") in own
    return obj.get("clientID") == client_id  # subscriptions, reports: its own
