"""Who may use which topics on the broker: per-household credentials and a mosquitto ACL.

Every household has one username, its id, shared by its control loop, its devices and its meter (each with
its own client id); it may read and write only under ``homeflex/v1/<its id>/``. Services have their own
users: telemetry reads every meter and sends profiles; the portal sends a household's skipped events and
its configuration; the operator may read everything. Anonymous clients are refused. Denial on mosquitto
is silent (a forbidden subscription is granted but nothing arrives; a
forbidden publish is dropped), so the tests assert that nothing arrives.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from homeflex.core import topics

TELEMETRY = "svc-telemetry"
OPERATOR = "svc-operator"
PORTAL = "svc-portal"
SERVICES: Mapping[str, tuple[tuple[str, str], ...]] = {
    TELEMETRY: (
        ("read", f"{topics.PREFIX}/+/{topics.METER}/reading"),
        ("read", f"{topics.PREFIX}/+/{topics.METER}/history"),
        ("write", f"{topics.PREFIX}/+/profile"),
    ),
    OPERATOR: (("read", f"{topics.PREFIX}/#"),),
    # Retained, read by the household's agent: its skipped events and its configuration's versions.
    PORTAL: (("write", f"{topics.PREFIX}/+/skips"), ("write", f"{topics.PREFIX}/+/config")),
}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def acl_text(services: Mapping[str, Iterable[tuple[str, str]]] = SERVICES) -> str:
    """The mosquitto ACL file: services by name, every other user only under its own subtree."""
    lines = ["# homeflex: generated, do not edit", ""]
    for user, rules in services.items():
        lines.append(f"user {user}")
        lines += [f"topic {access} {topic}" for access, topic in rules]
        lines.append("")
    # %u is the username: a household's own subtree, for every user that is not a service above.
    lines += ["pattern readwrite " + f"{topics.PREFIX}/%u/#", ""]
    return "\n".join(lines)


def issue_passwords(usernames: Iterable[str]) -> dict[str, str]:
    """A fresh random password per user; a name that is not a plain identifier is refused."""
    out: dict[str, str] = {}
    for name in usernames:
        if not _NAME.match(name) or name in out:
            raise ValueError(f"bad or repeated MQTT username {name!r}")
        out[name] = secrets.token_urlsafe(18)
    return out


@dataclass(frozen=True)
class AccessFiles:
    password_file: Path
    acl_file: Path


def write_access_files(folder: Path, passwords: Mapping[str, str], binary: str | None = None) -> AccessFiles:
    """Write the password file (hashed by ``mosquitto_passwd -U``) and the ACL file into ``folder``,
    world-readable as mosquitto needs when it drops root."""
    tool = binary or shutil.which("mosquitto_passwd")
    if tool is None:
        raise RuntimeError("mosquitto_passwd not found: install mosquitto to generate MQTT credentials")
    password_file, acl_file = folder / "passwd", folder / "acl"
    password_file.write_text("".join(f"{user}:{pw}\n" for user, pw in passwords.items()))
    subprocess.run([tool, "-U", str(password_file)], check=True, capture_output=True)
    acl_file.write_text(acl_text())
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
