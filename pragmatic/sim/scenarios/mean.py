"""mean: the mean of a distribution (lab 1). Its kernel is `pragmatic.sim.mean`, its engine
entry point `pragmatic.sim.simulate` and its command line `pragmatic.sim.cli.build_parser`: it
predates the registry and keeps its own options (`--dist` with per-distribution parameters,
`--boot-reps`), so `cli` is set and the generic parser is not used."""

from ..mean import DISTRIBUTIONS, PROCEDURES, replicate
from . import Param, Scenario

SCENARIO = Scenario(
    name="mean",
    description="x_1, ..., x_n from --dist (normal, lognormal, ...); the distribution's mean",
    params=(Param("n", "sample size", whole=True, low=2, repeat=True),),
    procedures=PROCEDURES,
    replicate=replicate,
    target=lambda p: DISTRIBUTIONS[p["dist"]].mean(p),
    observations=lambda p: p["n"],
    cli="own",
)
