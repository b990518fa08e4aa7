"""`homeflex mqtt-access`: everything the platform's mosquitto needs, written into one folder.

- ``passwd``: every account's connection usernames with its password, hashed (mosquitto_passwd -U);
- ``acl``: who may use which topics (mqtt/access.py);
- ``mosquitto.conf``: the complete broker configuration (mqtt/brokerconf.py), which refers to the two
  files above by their paths as mosquitto sees them (``--conf-dir``, e.g. inside its container);
- ``credentials.json``: the plain passwords per account, readable by its owner only, to provision each
  household's devices and each service with, and each OpenADR 3.1 client (`homeflex oadr3-client`, read
  from the database without --ids) with its broker login: its client id, reading only its own VEN's
  notification topics (vtn/oadr3/broker_access.py); the VTN's notifier has the account svc-vtn-oadr3.
  Run again after enrolling households or provisioning 3.1 clients: accounts already in it keep their
  passwords, new ones get theirs, accounts no longer enrolled are dropped.

This module writes the broker's files from the accounts it is given; the command itself (cli.py) reads
the enrolled households from storage and the 3.1 clients' rules from the VTN, and has the community CA
(vtn/identity.py) issue the broker's certificate: the broker knows nothing of the VTN.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from pathlib import Path

from homeflex.mqtt.access import SERVICES, Rules, issue_passwords, parts_of, write_access_files
from homeflex.mqtt.brokerconf import (
    OUTAGE_S,
    READING_INTERVAL_S,
    BrokerConfig,
    Listener,
    TlsFiles,
    config_text,
    parse_listen,
    queue_limit,
)


def add_arguments(s: argparse.ArgumentParser, household_ids: Callable[[str], list[str]]) -> None:
    s.add_argument("--out", required=True, help="folder for passwd, acl, mosquitto.conf, credentials.json")
    s.add_argument(
        "--ids", type=household_ids, help="comma-separated household ids (default: every enrolled household)"
    )
    s.add_argument(
        "--plain", default="127.0.0.1:1883", help="loopback listener without TLS, HOST:PORT, or 'none'"
    )
    s.add_argument(
        "--tls", metavar="HOST:PORT", help="TLS listener, e.g. 0.0.0.0:8883 (needs the three files)"
    )
    s.add_argument("--certfile", help="the broker's certificate (PEM), as mosquitto sees the path")
    s.add_argument("--keyfile", help="its private key (PEM), as mosquitto sees the path")
    s.add_argument("--cafile", help="the CA certificate clients trust (PEM), as mosquitto sees the path")
    s.add_argument(
        "--pki",
        help="the CA folder of `homeflex provision-vens`: issue the broker's certificate from its CA "
        "(broker.crt, broker.key, ca.crt in --out) instead of giving the three files",
    )
    s.add_argument(
        "--broker-hosts",
        default="localhost,127.0.0.1",
        help="names clients reach the broker by, for its certificate (default %(default)s)",
    )
    s.add_argument("--conf-dir", help="where mosquitto finds passwd and acl (default: --out)")
    s.add_argument(
        "--data-dir", default="/var/lib/mosquitto", help="persistence folder, or 'none' (default %(default)s)"
    )
    s.add_argument(
        "--queue-minutes",
        type=float,
        default=OUTAGE_S / 60,
        help="how long telemetry may be away without losing a reading (sizes max_queued_messages)",
    )


def broker_config(args: argparse.Namespace, conf_dir: str, households: int) -> BrokerConfig:
    """The configuration the command line asks for; ValueError says what is wrong with it."""
    listeners = []
    if args.plain != "none":
        bind, port = parse_listen(args.plain)
        listeners.append(Listener(bind=bind, port=port))
    if args.pki:
        if any([args.certfile, args.keyfile, args.cafile]):
            raise ValueError("--pki issues the broker's certificate: leave out the --*file options")
        args.certfile, args.keyfile, args.cafile = (f"{conf_dir}/{n}" for n in BROKER_TLS_FILES)
    tls_files = [args.certfile, args.keyfile, args.cafile]
    if args.tls:
        if not all(tls_files):
            raise ValueError("--tls needs --certfile, --keyfile and --cafile")
        bind, port = parse_listen(args.tls)
        tls = TlsFiles(certfile=args.certfile, keyfile=args.keyfile, cafile=args.cafile)
        listeners.append(Listener(bind=bind, port=port, tls=tls))
    elif any(tls_files):
        raise ValueError("--certfile, --keyfile and --cafile go with --tls HOST:PORT")
    if args.queue_minutes <= 0:
        raise ValueError("--queue-minutes must be positive")
    return BrokerConfig(
        listeners=tuple(listeners),
        password_file=f"{conf_dir}/passwd",
        acl_file=f"{conf_dir}/acl",
        persistence_dir=None if args.data_dir == "none" else args.data_dir,
        max_queued_messages=queue_limit(households, READING_INTERVAL_S, args.queue_minutes * 60),
    )


def write_all(
    out: Path,
    households: list[str],
    args: argparse.Namespace,
    services: Mapping[str, Rules] = SERVICES,
    *,
    certificate: Callable[[Path], None] | None = None,
) -> str:
    """The four files in ``out``. ``certificate`` writes the broker's TLS files (BROKER_TLS_FILES) into
    ``out`` when ``--pki`` asks for them: the community CA is the VTN's, which this package does not know."""
    conf_dir = (args.conf_dir or str(out.resolve())).rstrip("/")
    config = broker_config(args, conf_dir, len(households))  # refused before anything is written
    if args.pki and certificate is None:
        raise ValueError("--pki: no certificate authority to issue the broker's certificate")
    out.mkdir(parents=True, exist_ok=True)
    if args.pki and certificate is not None:
        certificate(out)
    secrets_file = out / "credentials.json"
    passwords = _keep_known(secrets_file, issue_passwords([*households, *services]))
    files = write_access_files(out, passwords, services=services)
    secrets_file.touch(mode=0o600)
    secrets_file.chmod(0o600)
    secrets_file.write_text(json.dumps(passwords, indent=1))
    conf = out / "mosquitto.conf"
    conf.write_text(config_text(config))
    conf.chmod(0o644)
    logins = sum(1 + len(parts_of(account, services)) for account in passwords)
    return (
        f"{len(households)} households and {len(services)} services and 3.1 clients ({logins} logins): "
        f"{files.password_file}, {files.acl_file}, {conf}, {secrets_file}\n"
        f"max_queued_messages {config.max_queued_messages}; "
        + ", ".join(f"listener {x.bind}:{x.port}{' TLS' if x.tls else ''}" for x in config.listeners)
    )


def _keep_known(secrets_file: Path, fresh: Mapping[str, str]) -> dict[str, str]:
    """The accounts in `fresh`, with the passwords they already have in `secrets_file`."""
    try:
        known = json.loads(secrets_file.read_text())
    except FileNotFoundError:
        known = {}
    except ValueError as err:
        raise ValueError(f"{secrets_file} is not the JSON this command writes: {err}") from err
    if not isinstance(known, dict):
        raise ValueError(f"{secrets_file} is not the JSON object this command writes")
    return {account: str(known.get(account, pw)) for account, pw in fresh.items()}


BROKER_TLS_FILES = ("broker.crt", "broker.key", "ca.crt")
