"""A community of simulated households stepped together in numpy: the exact twin of SimHousehold
(sim/household.py and sim/physics/*), one loop iteration per minute, vectorised over households."""

from homeflex.sim.fleet.fleet import Fleet
from homeflex.sim.fleet.recorder import PhaseRecord, PhaseRecorder

__all__ = ["Fleet", "PhaseRecord", "PhaseRecorder"]
