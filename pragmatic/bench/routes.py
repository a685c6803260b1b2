"""The omitted scenario's sufficient-statistics route against its raw-data route.

The sufficient route draws each replication's sufficient statistics directly, so its cost does
not grow with n; the raw route draws all n observations (and n fresh ones for the held-out
error). Both run through `simulate_scenario(..., route=...)` with the same replications, chunk
and procedures (those the sufficient route can score). Until the engine has `route`, the rows
say "not available".
"""

from __future__ import annotations

import inspect

from ..sim.engine import VMAP_WIDTH, simulate_scenario
from ..sim.scenarios import REGISTRY
from .timing import interleaved_medians, time_once

SCENARIO = "omitted"
# No confounding: the cost does not depend on it, and the intervals then cover about 95 %, so
# the two routes' coverages (in each row) are a check that both ran the same experiment.
CONFOUNDING = 0.0
SIZES = (10**4, 10**6)  # n, by default
ONCE_FROM = 10**6  # from this n on, one chunk of the raw route takes tens of seconds: it is
# timed once, compilation included (a small part of it), without a warm-up


def replications(n: int) -> int:
    """Whole vmaps of 256 replications (the engine pads to them): 2 at n = 10**4, up to 8 for
    small n, and 1 from n = 2 * 10**4 on."""
    return VMAP_WIDTH * max(1, min(8, 2 * 10**4 // n))


def available() -> bool:
    """Whether the engine takes `route` and the scenario has a sufficient route."""
    return ("route" in inspect.signature(simulate_scenario).parameters
            and getattr(REGISTRY[SCENARIO], "sufficient", None) is not None)


def rows(repeats: int, sizes=SIZES, log=None) -> list[dict]:
    if not available():
        return [{"section": "route", "scenario": SCENARIO, "n": n, "available": False,
                 "note": "not available: simulate_scenario has no route= argument yet"}
                for n in sizes]
    procedures = tuple(REGISTRY[SCENARIO].sufficient_procedures)
    out = []
    for n in sizes:
        reps, once = replications(n), n >= ONCE_FROM
        results = {}

        def run(route):  # a timed run that keeps its result, for the coverage check
            return lambda: results.__setitem__(route, simulate_scenario(
                SCENARIO, reps, 0, procedures=procedures, chunk=VMAP_WIDTH, route=route, n=n,
                confounding=CONFOUNDING))

        if not once:
            seconds, cpu = interleaved_medians({r: run(r) for r in ("sufficient", "raw")},
                                               repeats)
        else:
            seconds = {r: time_once(run(r)) for r in ("sufficient", "raw")}
            cpu = None
        out.append({
            "section": "route", "scenario": SCENARIO, "n": n, "available": True,
            "reps": reps, "chunk": VMAP_WIDTH, "procedures": list(procedures),
            "compilation_included": once,
            "seconds": seconds, "cpu_per_wall": cpu,
            "raw_over_sufficient": seconds["raw"] / seconds["sufficient"],
            "routes_ran": {r: results[r].get("route") for r in results},
            "coverage": {r: {p: results[r]["results"][p]["coverage"] for p in procedures}
                         for r in results},
        })
        if log:
            log(out[-1])
    return out
