"""The import graph draws the architecture: simulated devices know only their protocols and the physics
(never the control loop, the VEN, the drivers or the household configuration that drive them), the VTN
and the VEN meet only over OpenADR, the domain packages (metering, settlement, ledger, profiles, tariffs)
and the household's configuration document know none of the processes that use them, their pure parts
import no I/O, and no two top-level parts import each other, however indirectly: no exception.
pyproject's import-linter contracts say the main rules again, checked by the tool (indirect imports
included) in the last test."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "homeflex"
PYPROJECT = ROOT.parent / "pyproject.toml"

# The processes and harnesses around the domain: none of the domain packages may import them.
_APPS = ("control", "ven", "vtn", "portal", "scenarios", "sim", "drivers", "household", "cli", "demo")

RULES = {
    "sim": (*(p for p in _APPS if p != "sim"), "metering", "settlement", "ledger", "profiles"),
    "vtn": ("ven",),
    "ven": ("vtn",),
    "drivers": ("sim", "control", "ven", "vtn", "portal", "scenarios", "household"),
    # the household's configuration document: plain data that the processes read (control derives its
    # setup from it), knowing none of them
    "household": ("control", "ven", "vtn", "portal", "scenarios", "sim", "cli", "demo"),
    # a supply's prices: the document checks its tariff with them, control plans against them
    "tariffs": (*_APPS, "metering", "settlement", "ledger", "profiles", "storage", "mqtt"),
    # the broker's accounts and files: the command that reads the VTN's clients composes in cli.py
    "mqtt": ("vtn", "ven", "control", "portal", "scenarios", "sim", "household", "drivers"),
    # readings in: they know nothing of what is computed from them
    "metering": (*_APPS, "settlement", "ledger", "profiles"),
    # settlement reads metered energy and posts to the ledger, never the other way round
    "settlement": (*_APPS, "profiles"),
    "ledger": (*_APPS, "metering", "settlement", "profiles"),
    # the stage-1 profile: learned from metered energy, used by control (which it does not know)
    "profiles": (*_APPS, "settlement", "ledger"),
    "storage": (*_APPS, "metering", "settlement", "ledger", "profiles", "mqtt"),
}

# Nothing imports the portal but the CLI. Known exception: the simulated customer journey (scenarios)
# walks the portal's journey state machine, which still lives in portal/journey.py.
PORTAL_IMPORTERS = {"cli": None, "scenarios": ("homeflex.portal.journey",)}

# Pure code: no network, database, broker, event loop or metrics registry. Each package's I/O edge is
# named here; everything else in it is held to the rule.
IO_MODULES = (
    "aiohttp", "aiomqtt", "aiosqlite", "amqtt", "asyncio", "asyncpg", "http", "ocpp", "openleadr",
    "prometheus_client", "pymodbus", "requests", "smtplib", "socket", "sqlite3", "ssl", "subprocess",
    "urllib.request", "websockets",
    "homeflex.metrics", "homeflex.mqtt", "homeflex.storage",
)  # fmt: skip
IO_ALLOWED = ("homeflex.storage.records",)  # stored records are plain values
PURE = {
    "settlement/baselines": (),
    "settlement": ("settler.py", "portfolio.py"),  # settle from storage; an aggregator's statement from it
    "ledger": ("books.py",),  # the books read from storage
    "profiles": ("job.py",),  # learns from stored readings, stores and publishes the profile
    "metering": ("ingest.py",),  # MQTT in, storage out
    "tariffs": (),
}


def imports(path: Path) -> Iterator[str]:
    """Every absolute module name `path` imports (`from homeflex import metrics` gives homeflex.metrics)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "homeflex":
                yield from (f"homeflex.{a.name}" for a in node.names)
            else:
                yield node.module


def imported(path: Path) -> set[str]:
    return {n for n in imports(path) if n.startswith("homeflex.")}


def top(name: str) -> str:
    """The top-level part of a homeflex module name: a package or a module (homeflex.cli -> cli)."""
    return name.removeprefix("homeflex.").split(".")[0]


def part(path: Path) -> str:
    """The top-level part a file under homeflex/ belongs to."""
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def modules(package: str) -> list[Path]:
    folder = ROOT / package
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [ROOT / f"{package}.py"]


def graph() -> dict[str, dict[str, set[str]]]:
    """Top-level part -> the parts it imports -> the files that import them."""
    edges: dict[str, dict[str, set[str]]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        source = part(path)
        for name in imported(path):
            if top(name) != source:
                edges.setdefault(source, {}).setdefault(top(name), set()).add(
                    str(path.relative_to(ROOT.parent))
                )
    return edges


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle in the directed graph, as the list of its nodes, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("package", sorted(RULES))
def test_a_package_imports_none_of_its_forbidden_neighbours(package: str) -> None:
    broken = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for path in modules(package)
        for name in sorted(imported(path))
        if top(name) in RULES[package]
    ]
    assert broken == []


def test_nothing_imports_the_portal_but_the_cli() -> None:
    broken = [
        f"{path} imports homeflex.portal"
        for source, targets in graph().items()
        for path in sorted(targets.get("portal", ()))
        if source not in PORTAL_IMPORTERS
    ]
    allowed = {source: names for source, names in PORTAL_IMPORTERS.items() if names is not None}
    narrow = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for source, names in allowed.items()
        for path in modules(source)
        for name in sorted(imported(path))
        if top(name) == "portal" and name not in names
    ]
    assert broken + narrow == []


@pytest.mark.parametrize("package", sorted(PURE))
def test_a_pure_package_imports_no_io(package: str) -> None:
    edge = {ROOT / package / name for name in PURE[package]}
    broken = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for path in modules(package)
        if path not in edge
        for name in sorted(set(imports(path)))
        if any(name == io or name.startswith(f"{io}.") for io in IO_MODULES) and name not in IO_ALLOWED
    ]
    assert broken == []


def test_the_top_level_parts_import_each_other_without_a_cycle() -> None:
    edges = graph()
    assert cycle({source: set(targets) for source, targets in edges.items()}) is None


def test_the_cycle_check_finds_a_planted_cycle() -> None:
    assert cycle({"metering": {"core"}, "settlement": {"metering", "ledger"}, "ledger": {"core"}}) is None
    planted = {"metering": {"settlement"}, "settlement": {"ledger"}, "ledger": {"metering"}}
    assert cycle(planted) == ["ledger", "metering", "settlement", "ledger"]


SQL = re.compile(r"\b(INSERT INTO|UPDATE \w+ SET|DELETE FROM|SELECT \S.* FROM)\b")


@pytest.mark.parametrize("package", ["portal", "vtn", "metering", "settlement", "ledger", "profiles"])
def test_sql_is_written_only_in_storage(package: str) -> None:
    """The portal's tables, the VTN's, metering's and settlement's are reached through storage's
    repositories: no package above storage writes SQL (nor so another context's tables)."""
    found = [
        f"{path.relative_to(ROOT.parent)}:{number}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SQL.search(line)
    ]
    assert found == []


LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def test_the_import_linter_contracts_hold() -> None:
    # lint-imports, in a child process: it configures logging, which would silence this one's loggers.
    # Its output says which contract broke and the chain of imports that broke it.
    args = [sys.executable, "-c", LINT_IMPORTS, "--no-cache", str(PYPROJECT)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# What a pure module must not load, even through a package's __init__ (which the AST rule cannot see).
LOADED_IO = ("aiohttp", "aiomqtt", "aiosqlite", "asyncpg", "openleadr", "pymodbus", "sqlite3", "websockets")


def test_importing_the_pure_modules_loads_no_database_or_network_library() -> None:
    names = [
        ".".join(path.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__")
        for package, edges in PURE.items()
        for path in modules(package)
        if path.name not in edges
    ]
    probe = (
        f"import importlib, sys\nfor n in {names!r}: importlib.import_module(n)\n"
        f"print(sorted(m for m in {LOADED_IO!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT.parent
    )
    assert out.stdout.strip() == "[]", f"{len(names)} pure modules loaded {out.stdout.strip()}"
