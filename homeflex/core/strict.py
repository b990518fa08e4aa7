"""Strict configuration: a mapping read into a frozen dataclass, unknown keys rejected with the valid
ones listed, and every problem said with where it is (``where``), so a form or a file can point at it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from homeflex.core.errors import Permanent

T = TypeVar("T")


class ConfigError(ValueError, Permanent):
    """A configuration that cannot be used; ``field`` is the dotted path of the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def from_mapping(cls: type[T], raw: Any, where: str) -> T:
    """``cls(**raw)`` with unknown keys, missing keys, wrong shapes and rejected values as ConfigError."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a table of settings, got {type(raw).__name__}")
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(where, f"unknown keys {unknown}; valid: {sorted(names)}")
    required = {
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    missing = sorted(required - set(raw))
    if missing:
        raise ConfigError(where, f"missing keys {missing}")
    try:
        return cls(**raw)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(where, str(err)) from None


def as_dict(value: Any) -> dict[str, Any]:
    """A frozen dataclass as a plain JSON-able mapping (tuples become lists)."""
    out = dataclasses.asdict(value)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
