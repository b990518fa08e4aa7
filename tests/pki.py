"""A community PKI for OpenADR-over-TLS tests: a CA, the VTN's certificate for 127.0.0.1, and VEN
credentials written as homeflex.ven.tls.VenTls (tests/reliability/test_tls.py, tests/vtn/test_push_tls.py)."""

from __future__ import annotations

from pathlib import Path

from homeflex.core.clock import WallClock
from homeflex.ven.tls import VenTls
from homeflex.vtn.identity import Credential, issue, new_ca
from homeflex.vtn.tls import VtnTls


class Pki:
    def __init__(self, folder: Path) -> None:
        now = WallClock().now()
        self.folder = folder
        self.ca = new_ca(now)
        self.ca_file, _ = self.ca.write(folder, "ca")
        self.vtn = issue(self.ca, "vtn", now, hosts=["127.0.0.1", "localhost"])
        cert, key = self.vtn.write(folder, "vtn")
        self.vtn_tls = VtnTls(cert=cert, key=key, ca=self.ca_file)

    def ven_tls(self, credential: Credential, name: str, ven_id: str) -> VenTls:
        cert, key = credential.write(self.folder, name)
        return VenTls(
            cert=cert, key=key, ca=self.ca_file, vtn_fingerprint=self.vtn.fingerprint, ven_id=ven_id
        )
