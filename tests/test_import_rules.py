"""The import graph draws the architecture: simulated devices know only their protocols and the physics
(never the control loop, the VEN, the drivers or the household configuration that drive them), and the
VTN and the VEN meet only over OpenADR."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "homeflex"

RULES = {
    "sim": ("control", "ven", "drivers", "household", "vtn", "portal", "scenarios", "telemetry"),
    "vtn": ("ven",),
    "ven": ("vtn",),
    "drivers": ("sim", "control", "ven", "vtn", "portal", "scenarios"),
}


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
