"""What a user sees from the `homeflex` command: only homeflex's own messages, no library warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "argv",
    [["vtn", "--help"], ["mqtt-access", "--help"], ["oadr3-client", "--id", "x", "--role", "bob"]],
)
def test_no_cryptography_deprecation_warning_before_homeflex_output(argv: list[str], tmp_path: Path) -> None:
    # -W default: the warning would show even where Python's default filters hide it.
    done = subprocess.run(
        [sys.executable, "-W", "default", "-m", "homeflex", *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "CryptographyDeprecationWarning" not in done.stderr, done.stderr
    assert "usage: homeflex" in done.stdout + done.stderr  # homeflex's own output is still there


def test_the_openadr_signing_path_still_loads_signxml() -> None:
    """The filter hides the DSA notice only: signxml itself is imported and used as before."""
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import homeflex, signxml; print(signxml.XMLSigner)"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "XMLSigner" in done.stdout
    assert "CryptographyDeprecationWarning" not in done.stderr


def test_signing_with_a_tls_key_shows_no_dsa_warning(tmp_path: Path) -> None:
    """openleadr warns once more when it picks the algorithm for the VTN's key (OpenADR over TLS)."""
    script = (
        "import homeflex\n"
        "from homeflex.core.clock import WallClock\n"
        "from homeflex.vtn.identity import new_ca\n"
        "from openleadr.messaging import get_signature_algorithm_from_private_key\n"
        "print(get_signature_algorithm_from_private_key(new_ca(WallClock().now()).key_pem))\n"
    )
    command = [sys.executable, "-W", "default", "-c", script]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "sha256" in done.stdout, done.stderr
    assert "CryptographyDeprecationWarning" not in done.stderr, done.stderr
