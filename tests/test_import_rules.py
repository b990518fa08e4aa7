"""The import graph draws the architecture: simulated devices know only their protocols and the physics
(never the control loop, the VEN, the drivers or the household configuration that drive them), and the
VTN and the VEN meet only over OpenADR. The rules are pyproject's import-linter contracts (indirect
imports included); the direct-import check below says the same of the simulators, drivers, VTN and VEN
without the tool."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "homeflex"
PYPROJECT = ROOT.parent / "pyproject.toml"

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


LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def test_the_import_linter_contracts_hold() -> None:
    # lint-imports, in a child process: it configures logging, which would silence this one's loggers.
    # Its output says which contract broke and the chain of imports that broke it.
    args = [sys.executable, "-c", LINT_IMPORTS, "--no-cache", str(PYPROJECT)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
