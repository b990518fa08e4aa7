"""OpenADR over TLS from the command line: `homeflex provision-vens` issues the CA, the VTN's and the VENs'
certificates and stores the fingerprints; `homeflex vtn` with the vtn_tls_* settings serves HTTPS with
client certificates; a VEN with its household's files registers, one without a certificate cannot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from openleadr import OpenADRClient

from homeflex.mqtt.broker import free_port, wait_for_port
from homeflex.storage import SQLiteStorage
from homeflex.ven.tls import VenTls
from tests.reliability.helpers import Service, enrol


async def test_provision_then_serve_over_tls(tmp_path: Path, uid: str) -> None:
    db, pki, hh = tmp_path / "vtn.db", tmp_path / "pki", f"cli{uid}"
    storage = await SQLiteStorage.open(db)
    await enrol(storage, hh)
    await storage.close()
    env = {"HOMEFLEX_DATABASE_URL": f"sqlite:///{db}"}
    done = subprocess.run(  # noqa: ASYNC221 - a one-off command before the service starts
        [sys.executable, "-m", "homeflex", "provision-vens", "--pki", str(pki)],
        env={**os.environ, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "VTN fingerprint" in done.stdout and (pki / "vens" / f"{hh}.key").stat().st_mode & 0o077 == 0
    port = free_port()
    vtn = Service(
        "vtn",
        {
            **env,
            "HOMEFLEX_VTN_PORT": str(port),
            "HOMEFLEX_POLL_INTERVAL_S": "1",
            "HOMEFLEX_VTN_TLS_CERT": str(pki / "vtn.crt"),
            "HOMEFLEX_VTN_TLS_KEY": str(pki / "vtn.key"),
            "HOMEFLEX_VTN_TLS_CA": str(pki / "ca.crt"),
            "HOMEFLEX_ALLOW_OPEN_API": "1",  # the operator API is not what this test is about
        },
        tmp_path / "vtn.log",
    )
    url = f"https://127.0.0.1:{port}/OpenADR2/Simple/2.0b"
    vtn.start()
    try:
        await wait_for_port(port, 30)
        ven = OpenADRClient(
            ven_name=hh, vtn_url=url, show_fingerprint=False, **VenTls.from_folder(pki, hh).client_options()
        )
        try:
            await ven.create_party_registration(ven_id=ven.ven_id)
            assert ven.registration_id
        finally:
            await ven.stop()
        async with aiohttp.ClientSession() as http:  # no client certificate: no TLS session at all
            with pytest.raises(aiohttp.ClientError):
                await http.post(url + "/EiRegisterParty", data=b"<x/>", ssl=False)
    finally:
        vtn.stop()
