"""Per-VEN access to the OpenADR 3.1 notification topics on the broker.

The notifier publishes each event on each targeted VEN's own topic with only that VEN in its targets
(notify.py), so topic access is object privacy: a VEN client may read its VEN's topics and the program
topics (programs are public to VENs here), and nothing else; the VTN alone writes. A program's event topic
carries events with every target, so it is for business logic only.

`acl_rules` returns rules in the shape of `homeflex.mqtt.access.SERVICES` (user -> (access, topic)), so
`homeflex mqtt-access` writes them with the household and service rules:
`acl_text(households, {**SERVICES, **await client_rules(storage, prefix)})`. A VEN client's broker username
is its OAuth2 client id; its broker password is issued by `homeflex mqtt-access` from the provisioned
clients (`homeflex oadr3-client`), before its VEN registers. The VTN's notifier logs in as
`svc-vtn-oadr3.notify`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from homeflex.core.topics import PREFIX
from homeflex.mqtt.access import VTN_OADR3, Rules
from homeflex.storage.oadr3 import Oadr3Store
from homeflex.vtn.oadr3.model import Topics
from homeflex.vtn.openadr import household_of

VTN_USER = VTN_OADR3  # the VTN's notifier: the only writer under the 3.1 prefix


def ven_rules(topics: Topics, ven_id: str) -> Rules:
    """What one VEN client may read: its VEN's event, VEN and resource topics and the program topics."""
    return (
        ("read", f"{topics.base('programs')}/+"),
        ("read", f"{topics.for_ven('events', ven_id)}/+"),
        ("read", f"{topics.for_ven('vens', ven_id)}/+"),
        ("read", f"{topics.for_ven('resources', ven_id)}/+"),
    )


def acl_rules(
    topic_prefix: str, ven_clients: Mapping[str, str], bl_clients: Iterable[str] = ()
) -> dict[str, Rules]:
    """user -> rules for the 3.1 topics: the VTN writes, business logic reads all, each VEN client
    (client id -> its VEN id, the household id) reads its own. `topic_prefix` ends with '/'."""
    topics = Topics(topic_prefix)
    # The VTN also settles: each household's month-to-date payments (vtn/paymentnotice.py).
    rules: dict[str, Rules] = {VTN_USER: (("write", f"{topic_prefix}#"), ("write", f"{PREFIX}/+/payments"))}
    rules.update(dict.fromkeys(bl_clients, (("read", f"{topic_prefix}#"),)))
    for client_id, ven_id in sorted(ven_clients.items()):
        if client_id in rules:
            raise ValueError(f"client {client_id!r} is listed twice")
        rules[client_id] = ven_rules(topics, ven_id)
    return rules


async def client_rules(storage: Oadr3Store, topic_prefix: str) -> dict[str, Rules]:
    """The rules for every provisioned 3.1 client: a VEN client (`ven-<household>`) for the VEN its id
    names, which is the only VEN it may register (auth.py), and business logic for everything."""
    clients = await storage.list_oadr3_clients()
    vens = {c.client_id: household_of(c.client_id) for c in clients if c.role == "ven"}
    return acl_rules(
        topic_prefix,
        {client: ven for client, ven in vens.items() if ven is not None},
        [c.client_id for c in clients if c.role == "bl"],
    )
