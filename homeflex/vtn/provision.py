"""`homeflex provision-vens --pki DIR [--ids hh001,hh002]`: the files for OpenADR over mutual TLS.

    DIR/ca.crt, ca.key          the private CA (created once; keep ca.key offline in production)
    DIR/vtn.crt, vtn.key        the VTN's certificate for `vtn_host`, and DIR/vtn.fingerprint
    DIR/vens/<household>.crt    each household VEN's certificate and key; its fingerprint is stored
    DIR/vens/<household>.key    with the household's VEN record, so the VTN knows it

Then run the VTN with HOMEFLEX_VTN_TLS_CERT=DIR/vtn.crt, HOMEFLEX_VTN_TLS_KEY=DIR/vtn.key,
HOMEFLEX_VTN_TLS_CA=DIR/ca.crt, and each VEN with `homeflex ven --household hh001 --pki DIR`.
Running it again keeps the CA and the VTN's certificate and re-issues the named VENs' certificates.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from homeflex.core.clock import WallClock
from homeflex.settings import Settings
from homeflex.vtn.identity import Credential, issue, new_ca, provision_ven


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pki", required=True, help="folder for the CA, the VTN's and the VENs' files")
    parser.add_argument("--ids", help="comma-separated household ids (default: every enrolled household)")


def _load_or_create(folder: Path, name: str, make: Callable[[], Credential]) -> Credential:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    if cert.exists() and key.exists():
        return Credential(cert_pem=cert.read_bytes(), key_pem=key.read_bytes())
    credential = make()
    credential.write(folder, name)
    return credential


async def cmd_provision_vens(settings: Settings, args: argparse.Namespace) -> int:
    from homeflex.storage import open_storage

    folder = Path(args.pki)
    now = WallClock().now()
    ca = _load_or_create(folder, "ca", lambda: new_ca(now))
    hosts = sorted({settings.vtn_host, "127.0.0.1", "localhost"})
    vtn = _load_or_create(folder, "vtn", lambda: issue(ca, "homeflex VTN", now, hosts=hosts))
    (folder / "vtn.fingerprint").write_text(vtn.fingerprint + "\n")
    storage = await open_storage(settings.database_url)
    try:
        enrolled = [h.id for h in await storage.list_households()]
        ids = args.ids.split(",") if args.ids else enrolled
        unknown = sorted(set(ids) - set(enrolled))
        if unknown:
            print(f"not enrolled: {', '.join(unknown)}", file=sys.stderr)
            return 2
        for household_id in ids:
            credential = await provision_ven(storage, ca, household_id, now)
            credential.write(folder / "vens", household_id)
    finally:
        await storage.close()
    print(f"VTN fingerprint {vtn.fingerprint}; {len(ids)} VEN certificates in {folder / 'vens'}")
    return 0
