"""Every benchmark module imports: benchmarks run outside the suite, so a rename elsewhere must not
break them unseen."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(BENCH)]))


@pytest.mark.parametrize("name", MODULES)
def test_the_benchmark_module_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")
