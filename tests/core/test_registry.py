"""core.registry, the one name -> adapter registry (drivers, device adapters, tariffs, baselines, simulated
protocols): a duplicate or unknown name is an error that lists the valid choices, and the built-in
modules register themselves the first time the registry is asked, not before."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from homeflex.core.registry import Registry


def test_a_registered_name_gives_its_entry_and_names_are_sorted() -> None:
    gadgets: Registry[int] = Registry("gadget")
    gadgets.register("zeta")(2)
    gadgets.register("alpha")(1)
    assert gadgets.get("zeta") == 2
    assert gadgets.names() == ["alpha", "zeta"]
    assert list(gadgets) == [("alpha", 1), ("zeta", 2)]


def test_a_second_entry_under_a_taken_name_is_refused_and_the_first_stays() -> None:
    gadgets: Registry[int] = Registry("gadget")
    gadgets.register("plug")(1)
    with pytest.raises(ValueError, match="a gadget named 'plug' is already registered"):
        gadgets.register("plug")(2)
    assert gadgets.get("plug") == 1


def test_an_unknown_name_is_refused_with_the_known_ones() -> None:
    gadgets: Registry[int] = Registry("gadget")
    gadgets.register("plug")(1)
    gadgets.register("battery")(2)
    with pytest.raises(ValueError, match=r"unknown gadget 'plg'; known: battery, plug$"):
        gadgets.get("plg")


def test_built_in_modules_register_on_the_first_ask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "regdemo"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from homeflex.core.registry import Registry\n"
        "GADGETS: Registry[str] = Registry('gadget', ('regdemo.plug',))\n"
    )
    (package / "plug.py").write_text("from regdemo import GADGETS\nGADGETS.register('plug')('a plug')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("regdemo", "regdemo.plug"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    import regdemo  # type: ignore[import-not-found]

    assert "regdemo.plug" not in sys.modules  # nothing imported until asked
    assert regdemo.GADGETS.get("plug") == "a plug"
    assert regdemo.GADGETS.names() == ["plug"]  # asked again: loaded once, no duplicate
