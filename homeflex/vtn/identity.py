"""VEN identity for OpenADR over TLS: a private CA, the VTN's server certificate, and one EC certificate per
household's VEN, issued when the VEN is provisioned; the VTN knows each VEN by its certificate's
fingerprint, stored with the household's VEN record (shared/domain/openadr.md §5).

EC P-256 keys: signing an OpenADR message costs ~0.7 ms, against ~80 ms with RSA-2048 whose key openleadr
parses twice per message.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from openleadr.utils import certificate_fingerprint

from homeflex.storage.households import HouseholdStore
from homeflex.storage.records import VenRecord
from homeflex.vtn.openadr import ven_id_for

CERT_DAYS = 825  # the longest validity common TLS clients accept
UNREGISTERED = ""  # registration_id of a VEN that is provisioned but has not registered yet


@dataclass(frozen=True, kw_only=True)
class Credential:
    """A certificate with its private key (both PEM) and its OpenADR fingerprint."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def fingerprint(self) -> str:
        """The last 10 bytes of the certificate's SHA-256, colon-separated hex (openleadr's format)."""
        return str(certificate_fingerprint(self.cert_pem.decode()))

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        """`name.crt` and `name.key` (owner-only) in `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        cert, key = folder / f"{name}.crt", folder / f"{name}.key"
        cert.write_bytes(self.cert_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.key_pem)
        return cert, key


def _key() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key, pem


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "homeflex"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def new_ca(now: datetime, common_name: str = "homeflex VTN CA") -> Credential:
    key, key_pem = _key()
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=CERT_DAYS * 4))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Credential(cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=key_pem)


def issue(ca: Credential, common_name: str, now: datetime, *, hosts: Sequence[str] = ()) -> Credential:
    """A leaf certificate signed by `ca`, for `hosts` (DNS names or IPs) when given. Good for both TLS
    roles: OpenADR push reverses them (the VTN connects to the VEN's endpoint with its certificate, the
    VEN serves with its own; homeflex.vtn.push), and OpenSSL refuses a certificate in a role its
    extended key usage does not list."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an EC key")
    key, key_pem = _key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return Credential(cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=key_pem)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


async def provision_ven(
    storage: HouseholdStore, ca: Credential, household_id: str, now: datetime
) -> Credential:
    """Issue the household's VEN certificate and store its fingerprint with the household's VEN record.

    A VEN that registered before keeps its registration; the new certificate replaces the old one, which
    the VTN refuses from now on. Raises LookupError for a household that is not enrolled."""
    if await storage.get_household(household_id) is None:
        raise LookupError(f"no enrolled household {household_id!r}")
    ven_id = ven_id_for(household_id)
    credential = issue(ca, ven_id, now)
    existing = await storage.get_ven(ven_id)
    await storage.save_ven(
        VenRecord(
            ven_id=ven_id,
            household_id=household_id,
            ven_name=household_id,
            registration_id=existing.registration_id if existing else UNREGISTERED,
            fingerprint=credential.fingerprint,
        ),
        now,
    )
    return credential
