"""The import graph draws the architecture: simulated devices know only their protocols and the physics
(never the control loop, the VEN, the drivers or the household configuration that drive them), and the
VTN and the VEN meet only over OpenADR."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "homeflex"

RULES = {
    "sim": ("control", "ven", "drivers", "household", "vtn", "portal", "scenarios", "telemetry"),
    "vtn": ("ven",),
    "ven": ("vtn",),
    "drivers": ("sim", "control", "ven", "vtn", "portal", "scenarios"),
    # Storage keeps records for the packages above it and knows none of them (the portal's vocabulary
    # it stores is in core.customer).
    "storage": ("portal", "vtn", "ven", "control", "telemetry", "sim", "drivers", "scenarios", "household"),
}


SQL = re.compile(r"\b(INSERT INTO|UPDATE \w+ SET|DELETE FROM|SELECT \S.* FROM)\b")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.startswith("homeflex.")}


@pytest.mark.parametrize("package", sorted(RULES))
def test_a_package_imports_none_of_its_forbidden_neighbours(package: str) -> None:
    forbidden = tuple(f"homeflex.{p}" for p in RULES[package])
    broken = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(imported(path))
        if name.startswith(forbidden) and (name == name.split(".")[0] or name.split(".")[1] in RULES[package])
    ]
    assert broken == []


@pytest.mark.parametrize("package", ["portal", "vtn", "telemetry"])
def test_sql_is_written_only_in_storage(package: str) -> None:
    """The portal's tables, the VTN's and telemetry's are reached through storage's repositories: no
    package above storage writes SQL (nor so another context's tables)."""
    found = [
        f"{path.relative_to(ROOT.parent)}:{number}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SQL.search(line)
    ]
    assert found == []
