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
# (n, replications, timed repeats): at n = 10**6 one chunk of the raw route takes tens of
# seconds, so it is timed once, compilation included (a small part of it), without a warm-up.
CASES = ((10**4, 8 * VMAP_WIDTH, None), (10**6, VMAP_WIDTH, 1))


def available() -> bool:
    """Whether the engine takes `route` and the scenario has a sufficient route."""
    return ("route" in inspect.signature(simulate_scenario).parameters
            and getattr(REGISTRY[SCENARIO], "sufficient", None) is not None)


def rows(repeats: int, log=None) -> list[dict]:
    if not available():
        return [{"section": "route", "scenario": SCENARIO, "n": n, "available": False,
                 "note": "not available: simulate_scenario has no route= argument yet"}
                for n, _, _ in CASES]
    procedures = tuple(REGISTRY[SCENARIO].sufficient_procedures)
    out = []
    for n, reps, fixed_repeats in CASES:
        def run(route):
            return lambda: simulate_scenario(SCENARIO, reps, 0, procedures=procedures,
                                             chunk=VMAP_WIDTH, route=route, n=n,
                                             confounding=CONFOUNDING)
        results = {}

        def keep(route):  # time the run, keeping its result for the coverage check
            fn = run(route)
            return lambda: results.__setitem__(route, fn())

        if fixed_repeats is None:
            seconds, cpu = interleaved_medians({r: keep(r) for r in ("sufficient", "raw")},
                                               repeats)
        else:
            seconds = {r: time_once(keep(r)) for r in ("sufficient", "raw")}
            cpu = None
        out.append({
            "section": "route", "scenario": SCENARIO, "n": n, "available": True,
            "reps": reps, "chunk": VMAP_WIDTH, "procedures": list(procedures),
            "compilation_included": fixed_repeats is not None,
            "seconds": seconds, "cpu_per_wall": cpu,
            "raw_over_sufficient": seconds["raw"] / seconds["sufficient"],
            "routes_ran": {r: results[r].get("route") for r in results},
            "coverage": {r: {p: results[r]["results"][p]["coverage"] for p in procedures}
                         for r in results},
        })
        if log:
            log(out[-1])
    return out
