"""The README's "Connect your devices" table lists every registered driver (it is what users read)."""

from __future__ import annotations

from pathlib import Path

from homeflex.drivers import DRIVERS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_driver_has_a_row_in_the_readme() -> None:
    text = README.read_text()
    section = text[text.index("## Connect your devices") :]
    section = section[: section.index("\n## ", 1)]
    rows = {
        line.split("|")[1].strip().split()[0].strip("`")
        for line in section.splitlines()
        if line.startswith("| `")
    }
    assert rows == set(DRIVERS.names())
