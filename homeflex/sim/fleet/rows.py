"""What every device kind's arrays share: one row per household, copied or doubled as a whole.

Households without the device keep neutral parameters instead of being left out, so a step is a fixed
handful of whole-array operations (no fancy indexing per minute) and their power comes out as zero.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Generic, Self, TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

P = TypeVar("P")


def column(params: Sequence[P | None], value: Callable[[P], float], neutral: float) -> FloatArray:
    """One float per household: `value(params)` for owners, `neutral` for the rest."""
    return np.array([neutral if p is None else value(p) for p in params], dtype=np.float64)


class Rows:
    """Arrays of one device kind over the fleet's households; subclasses add parameters and state."""

    def __init__(self, n: int) -> None:
        self.n = n

    def copied(self, copies: int = 1) -> Self:
        """An independent copy; with `copies` > 1 the rows repeat that many times (twins side by side)."""
        new = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                setattr(new, name, np.tile(value, copies) if copies > 1 else value.copy())
            elif isinstance(value, list):
                setattr(new, name, value * copies)
        new.n = self.n * copies
        return new


class ParamRows(Rows, Generic[P]):
    """Rows of a device kind with per-household parameters: ``params[i]`` is None where household i
    does not own one (``owned`` is False there)."""

    def __init__(self, params: Sequence[P | None]) -> None:
        super().__init__(len(params))
        self.params = list(params)
        self.owned = np.array([p is not None for p in params])
