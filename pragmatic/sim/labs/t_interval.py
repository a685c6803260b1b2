"""Lab 1, when the t-interval lies: the grid of the `mean` scenario it runs.

Each claim gets the replications it needs (`reps_factor` times the lab's REPS): the t- and
z-intervals cost almost nothing, so they run 50 times as many replications as the bootstraps,
which resample every sample 199 times, and the normal-data control runs 1,000 times as many.
"""

from ..grid import Experiment, LabGrid

DISTS = ("normal", "lognormal", "exponential", "t3", "t2", "contaminated")
NS = (5, 10, 20, 50, 100, 200)
BOOT_NS = (5, 10, 20, 50)
SIGMAS = (0.25, 0.5, 1.0, 1.5)  # lognormal skewness sweep
SKEW_NS = (10, 50)

GRID = LabGrid(lab="01-t-interval", seed=20110101, experiments=(
    Experiment("normal", "mean", vary={"dist": ("normal",), "n": NS},
               procedures=("t", "z"), reps_factor=1000),
    Experiment("t and z", "mean", vary={"dist": DISTS, "n": NS},
               procedures=("t", "z"), reps_factor=50),
    Experiment("bootstrap", "mean", vary={"dist": DISTS, "n": BOOT_NS},
               procedures=("t", "boot-pct", "boot-t")),
    Experiment("skew", "mean", vary={"sigma": SIGMAS, "n": SKEW_NS},
               fixed={"dist": "lognormal"}, procedures=("t",), reps_factor=50),
))
