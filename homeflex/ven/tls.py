"""The VEN's side of OpenADR over mutual TLS with signed messages (shared/domain/openadr.md §5), and the
guard against VTN answers that would crash openleadr's parser."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from openleadr import client as oadr_client

from homeflex.core.xmlsafe import unsafe_xml


@dataclass(frozen=True, kw_only=True)
class VenTls:
    """The VEN's certificate and key (TLS client and message signing), the CA that issued the VTN's
    certificate, and the VTN's fingerprint, without which the VTN's signatures go unchecked.

    `ven_id` is sent from the first message on, so that the VTN checks the signature and the clock of
    the registration itself, not only of later messages."""

    cert: Path
    key: Path
    ca: Path
    vtn_fingerprint: str
    ven_id: str

    def client_options(self) -> dict[str, Any]:
        for path in (self.cert, self.key, self.ca):
            if not path.is_file():
                raise FileNotFoundError(f"TLS file {path} not found")
        return {
            "cert": str(self.cert),
            "key": str(self.key),
            "ca_file": str(self.ca),
            "vtn_fingerprint": self.vtn_fingerprint,
            "ven_id": self.ven_id,
        }

    def push_context(self) -> ssl.SSLContext:
        """The VEN's push endpoint (homeflex.ven.push) serves with its own certificate and requires a
        client certificate from the community CA; which one (the VTN's) the endpoint checks per request."""
        for path in (self.cert, self.key, self.ca):
            if not path.is_file():
                raise FileNotFoundError(f"TLS file {path} not found")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.ca))
        context.load_cert_chain(str(self.cert), str(self.key))
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    @classmethod
    def from_folder(cls, folder: Path, household_id: str) -> VenTls:
        """The files `homeflex provision-vens --pki folder` wrote for this household."""
        return cls(
            cert=folder / "vens" / f"{household_id}.crt",
            key=folder / "vens" / f"{household_id}.key",
            ca=folder / "ca.crt",
            vtn_fingerprint=(folder / "vtn.fingerprint").read_text().strip(),
            ven_id=f"ven-{household_id}",  # the VTN's naming (OpenADR venID), not an import of it
        )


def guard_vtn_responses() -> None:
    """Make openleadr's client refuse a VTN answer with a DTD as a schema failure (logged, ignored)
    instead of parsing it, which can crash the VEN (homeflex.core.xmlsafe). Idempotent."""
    if getattr(oadr_client.validate_xml_schema, "guarded", False):
        return
    inner = oadr_client.validate_xml_schema

    def validate(content: Any) -> Any:
        raw = content.encode("utf-8") if isinstance(content, str) else content
        why = unsafe_xml(raw)
        if why is not None:
            raise etree.XMLSyntaxError(why, None, 0, 0)
        return inner(content)

    validate.guarded = True  # type: ignore[attr-defined]
    oadr_client.validate_xml_schema = validate
