"""Baseline methods (settlement.md §1): each module registers its methods in `registry.METHODS` on import.

Import from `homeflex.telemetry.baseline`, the public face of this package.
"""

from homeflex.telemetry.baselines import historical, pjm

__all__ = ["historical", "pjm"]
