"""A community PKI for OpenADR-over-TLS tests: a CA, the VTN's certificate for 127.0.0.1, and VEN
credentials written as homeflex.ven.tls.VenTls (tests/reliability/test_tls.py, tests/vtn/test_push_tls.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openleadr import OpenADRClient

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


class TlsVen:
    """A real openleadr VEN over mutual TLS that opts in to every event and records it."""

    def __init__(self, name: str, url: str, tls: VenTls) -> None:
        self.events: list[str] = []
        self.client = OpenADRClient(
            ven_name=name, vtn_url=url, show_fingerprint=False, **tls.client_options()
        )
        self.client.add_handler("on_event", self.on_event)

    async def on_event(self, event: dict[str, Any]) -> str:
        self.events.append(event["event_descriptor"]["event_id"])
        return "optIn"

    async def register(self) -> bool:
        await self.client.create_party_registration(ven_id=self.client.ven_id)
        return bool(self.client.registration_id)
