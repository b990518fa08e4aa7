"""Who may use which topics on the broker: per-account credentials, bound client ids and a mosquitto ACL.

Every household has one account, its id, with one password, shared by its control loop, its devices and
its meter; it may read and write only under ``homeflex/v1/<its id>/``. Services have their own accounts:
telemetry reads every meter and sends profiles; the portal sends a household's skipped events and its
configuration; the operator may read everything. Anonymous clients are refused. Denial on mosquitto is
silent (a forbidden subscription is granted but nothing arrives; a forbidden publish is dropped), so the
tests assert that nothing arrives.

Client ids are bound to accounts. A client id names a session at the broker: whoever connects with one
disconnects its holder, and a clean connection with it drops the holder's queued messages. So the broker
runs with ``use_username_as_clientid`` (mosquitto 2.0 has no per-user client-id prefix: its
``clientid_prefixes`` is one global prefix) and every connection logs in as its own username,
``<account>.<part>`` (``hh001.ctl``, ``hh001.battery``, ``svc-telemetry.ingest``), with the account's
password: the broker makes that username the client id, which no other account can log in as. The parts
an account may use are fixed here; the bare account name is one more, for a one-off connection.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from homeflex.core import topics

TELEMETRY = "svc-telemetry"
OPERATOR = "svc-operator"
PORTAL = "svc-portal"
# The VTN's OpenADR 3.1 notifier: its rules depend on the VTN's topic prefix (vtn/oadr3/broker_access.py).
VTN_OADR3 = "svc-vtn-oadr3"
NOTIFY_PART = "notify"
Rules = tuple[tuple[str, str], ...]  # (read|write|readwrite, topic filter)
SERVICES: Mapping[str, Rules] = {
    TELEMETRY: (
        ("read", f"{topics.PREFIX}/+/{topics.METER}/reading"),
        ("read", f"{topics.PREFIX}/+/{topics.METER}/history"),
        ("write", f"{topics.PREFIX}/+/profile"),
    ),
    OPERATOR: (("read", f"{topics.PREFIX}/#"),),
    # Retained, read by the household's agent: its skipped events and its configuration's versions.
    PORTAL: (("write", f"{topics.PREFIX}/+/skips"), ("write", f"{topics.PREFIX}/+/config")),
}
# The connections of an account, each its own username (and so client id): a household's control loop,
# meter, meter backfill and one per device of the simulated population (sim/population.py KINDS).
# A real product logs in as one of them too (a Shelly's MQTT user "hh001.plug1"): a household's
# devices take their ids from these.
HOUSEHOLD_PARTS = (
    "ctl",
    "meter",
    "history",
    "ev",
    "heat_pump",
    "battery",
    "pv",
    "plug",
    "plug1",
    "plug2",
    "plug3",
    "plug4",
    "ha",  # the agent's Home Assistant bridge (homeflex.ven.homeassistant)
    "hass",  # the household's own Home Assistant, when it reads the platform broker
)
# Beyond its subtree, Home Assistant discovery: the agent's bridge writes exactly the household's own
# discovery configs and hears HA's birth; the household's HA reads those configs and announces itself.
HOUSEHOLD_HA_RULES: Mapping[str, Callable[[str], Rules]] = {
    "ha": lambda hh: (("write", topics.ha_config_filter(hh)), ("read", topics.HA_BIRTH)),
    "hass": lambda hh: (("read", topics.ha_config_filter(hh)), ("write", topics.HA_BIRTH)),
}
SERVICE_PARTS: Mapping[str, tuple[str, ...]] = {
    TELEMETRY: ("ingest", "profiles"),
    OPERATOR: ("console",),
    PORTAL: ("skips",),
    VTN_OADR3: (NOTIFY_PART, "payments"),  # payments: settlement's month-to-date totals (telemetry)
}
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def connection_username(account: str, part: str | None) -> str:
    """The username one connection of `account` logs in as (and, bound by the broker, its client id)."""
    return account if part is None else f"{account}.{part}"


def parts_of(account: str, services: Mapping[str, object] = SERVICES) -> tuple[str, ...]:
    """The named connections of an account: a household's, a service's, or none for any other account
    in `services` (an OpenADR 3.1 client logs in by its bare client id)."""
    return SERVICE_PARTS.get(account, () if account in services else HOUSEHOLD_PARTS)


def acl_text(
    households: Iterable[str] = (), services: Mapping[str, Iterable[tuple[str, str]]] = SERVICES
) -> str:
    """The mosquitto ACL file: services by name, every other user only under its own subtree."""
    lines = ["# homeflex: generated, do not edit", ""]
    for user, rules in services.items():
        for name in (user, *(connection_username(user, p) for p in parts_of(user, services))):
            lines.append(f"user {name}")
            lines += [f"topic {access} {topic}" for access, topic in rules]
            lines.append("")
    for household in households:
        for part in HOUSEHOLD_PARTS:
            lines.append(f"user {connection_username(household, part)}")
            lines.append(f"topic readwrite {topics.PREFIX}/{household}/#")
            extra = HOUSEHOLD_HA_RULES.get(part)
            lines += [f"topic {access} {topic}" for access, topic in (extra(household) if extra else ())]
        lines.append("")
    # %u is the username: a household's own subtree under its bare account name.
    lines += ["pattern readwrite " + f"{topics.PREFIX}/%u/#", ""]
    return "\n".join(lines)


def is_username(name: str) -> bool:
    """Whether `name` can be an account (a plain identifier, so `<name>.<part>` stays unambiguous)."""
    return bool(_NAME.match(name))


def issue_passwords(usernames: Iterable[str]) -> dict[str, str]:
    """A fresh random password per account; a name that is not a plain identifier is refused."""
    out: dict[str, str] = {}
    for name in usernames:
        if not is_username(name) or name in out:
            raise ValueError(f"bad or repeated MQTT username {name!r}")
        out[name] = secrets.token_urlsafe(18)
    return out


@dataclass(frozen=True)
class AccessFiles:
    password_file: Path
    acl_file: Path


def write_access_files(
    folder: Path,
    passwords: Mapping[str, str],
    binary: str | None = None,
    *,
    services: Mapping[str, Iterable[tuple[str, str]]] = SERVICES,
) -> AccessFiles:
    """Write the password file (every connection username of every account, hashed by
    ``mosquitto_passwd -U``) and the ACL file into ``folder``, world-readable as mosquitto needs when it
    drops root. Accounts in `services` get its rules; every other account is a household."""
    tool = binary or shutil.which("mosquitto_passwd")
    if tool is None:
        raise RuntimeError("mosquitto_passwd not found: install mosquitto to generate MQTT credentials")
    password_file, acl_file = folder / "passwd", folder / "acl"
    with password_file.open("w") as out:
        for account, pw in passwords.items():
            for part in (None, *parts_of(account, services)):
                out.write(f"{connection_username(account, part)}:{pw}\n")
    subprocess.run([tool, "-U", str(password_file)], check=True, capture_output=True)
    acl_file.write_text(acl_text([a for a in passwords if a not in services], services))
    for path in (password_file, acl_file):
        path.chmod(0o644)
    return AccessFiles(password_file=password_file, acl_file=acl_file)


def with_credentials(url: str, username: str, password: str) -> str:
    """``mqtt://host:port`` with a username and password in it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
