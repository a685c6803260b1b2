"""The simulation engine: `python -m pragmatic.sim mean --dist ... --n ... --reps ... --seed ...`."""

from .engine import SimulationError, run_grid, simulate, simulate_scenario, to_rows
from .mean import DISTRIBUTIONS, PROCEDURES, Design, replicate

__all__ = ["DISTRIBUTIONS", "PROCEDURES", "Design", "SimulationError", "replicate", "run_grid",
           "simulate", "simulate_scenario", "to_rows"]
