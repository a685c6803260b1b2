"""Lab 03, dependence and effective n: its experiment grid and its findings, as checks.

Two registered scenarios run on the grid: `cluster` (G clusters of M with a cluster-level
regressor, the slope) and `ar1` (the mean of a stationary AR(1) series). The lab's third part,
the simulated comment threads, is NumPy and runs through `pragmatic.sim.threads`; its findings
are checked here too.

Each check compares an estimate with the value a claim predicts, in Monte Carlo standard errors
(`checks.TOL` of them; see `pragmatic.sim.checks`). With a fixed seed these are regression tests
of the lab's findings, not hypothesis tests. Each function needs every cell it names.
"""

from __future__ import annotations

import pandas as pd

from ..checks import TOL, _cell, _difference, _finding, _share
from ..grid import Experiment, LabGrid

SEED = 20150401  # Cameron & Miller's guide appeared in spring 2015
GROUPS = (5, 10, 20, 50)
SIZE = 20
ICCS = (0.0, 0.05, 0.1, 0.3)
NS = (50, 200, 1000)
PHIS = (0.0, 0.3, 0.6, 0.9)
CHEAP = 50  # the cluster and AR(1) cells run at 50 x REPS: their claims are the finest

GRID = LabGrid(lab="03-dependence", seed=SEED, experiments=(
    Experiment("clusters", "cluster", vary={"groups": GROUPS, "icc": ICCS},
               fixed={"size": SIZE}, reps_factor=CHEAP),
    Experiment("ar1", "ar1", vary={"n": NS, "phi": PHIS}, reps_factor=CHEAP),
))

# How close to nominal "near nominal" is, for an interval that is consistent but not exact.
CR1_FLOOR = 0.92  # CR1 at the largest G covers more than this
FEW_CLUSTERS = 0.90  # CR1 at G <= 10 covers less than this
# ... and more than this: Student's t on G - 1 d.f. does part of the repair. The normal
# critical value (a plausible wrong kernel) gives about 0.70 at G = 5 and 0.83 at G = 10.
FEW_CLUSTERS_FLOOR = {5: 0.78, 10: 0.85}


def cluster_findings(table: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """Naive against CR1: the naive interval under-covers whenever icc > 0 and is exact at
    icc = 0; CR1 is close to nominal with 50 clusters but under-covers with 10 or fewer,
    though by less than it would with the normal critical value."""
    t = table[table["experiment"] == "clusters"]
    # whole numbers, though a table that also holds the AR(1) rows stores them as floats
    groups, iccs = [int(g) for g in sorted(t["groups"].unique())], sorted(t["icc"].unique())
    rows = []
    for g in groups:
        for icc in iccs:
            naive = _cell(t, "naive", groups=g, icc=icc)
            if icc == 0:
                rows.append(_finding(f"clusters, G = {g}, icc = 0: the naive interval covers at "
                                     f"{level}", *_share(naive), within=level))
            else:
                rows.append(_finding(f"clusters, G = {g}, icc = {icc:g}: the naive interval "
                                     f"covers less than {level}", level - naive["coverage"],
                                     naive["mc_se"], above=0))
    large = groups[-1]
    for icc in iccs:
        cr1 = _cell(t, "CR1", groups=large, icc=icc)
        rows.append(_finding(f"clusters, G = {large}, icc = {icc:g}: CR1 covers more than "
                             f"{CR1_FLOOR}", cr1["coverage"] - CR1_FLOOR, cr1["mc_se"], above=0))
        rows.append(_finding(f"clusters, G = {large}, icc = {icc:g}: CR1 still covers less than "
                             f"{level}", level - cr1["coverage"], cr1["mc_se"], above=0))
        for g in [g for g in groups if g <= 10]:
            few = _cell(t, "CR1", groups=g, icc=icc)
            rows.append(_finding(f"clusters, G = {g}, icc = {icc:g}: CR1 covers less than "
                                 f"{FEW_CLUSTERS}", FEW_CLUSTERS - few["coverage"], few["mc_se"],
                                 above=0))
            if g in FEW_CLUSTERS_FLOOR:
                floor = FEW_CLUSTERS_FLOOR[g]
                rows.append(_finding(f"clusters, G = {g}, icc = {icc:g}: CR1 (t on {g - 1} "
                                     f"d.f.) covers more than {floor}", few["coverage"] - floor,
                                     few["mc_se"], above=0))
        smallest = _cell(t, "CR1", groups=groups[0], icc=icc)
        rows.append(_finding(f"clusters, icc = {icc:g}: CR1 covers more at G = {large} than at "
                             f"G = {groups[0]}", *_difference(_share(cr1), _share(smallest)),
                             above=0))
    return rows


def ar1_findings(table: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """Naive against Newey-West: the naive interval is exact at phi = 0 and under-covers at
    every phi > 0; HAC covers more than naive at every phi > 0, yet under-covers at strong
    persistence, and more so at small n."""
    t = table[table["experiment"] == "ar1"]
    ns, phis = [int(n) for n in sorted(t["n"].unique())], sorted(t["phi"].unique())
    rows = []
    for n in ns:
        for phi in phis:
            naive, hac = _cell(t, "naive", n=n, phi=phi), _cell(t, "HAC", n=n, phi=phi)
            if phi == 0:
                rows.append(_finding(f"AR(1), n = {n}, phi = 0: the naive interval covers at "
                                     f"{level}", *_share(naive), within=level))
                continue
            rows.append(_finding(f"AR(1), n = {n}, phi = {phi:g}: the naive interval covers "
                                 f"less than {level}", level - naive["coverage"], naive["mc_se"],
                                 above=0))
            rows.append(_finding(f"AR(1), n = {n}, phi = {phi:g}: HAC covers more than naive",
                                 *_difference(_share(hac), _share(naive)), above=0))
    strong = phis[-1]
    for n in ns:
        hac = _cell(t, "HAC", n=n, phi=strong)
        rows.append(_finding(f"AR(1), n = {n}, phi = {strong:g}: HAC covers less than {level}",
                             level - hac["coverage"], hac["mc_se"], above=0))
    small, large = (_cell(t, "HAC", n=n, phi=strong) for n in (ns[0], ns[-1]))
    rows.append(_finding(f"AR(1), phi = {strong:g}: HAC covers more at n = {ns[-1]} than at "
                         f"n = {ns[0]}", *_difference(_share(large), _share(small)), above=0))
    return rows


def threads_findings(table: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """The simulated threads, with every comment and with the template copies dropped: naive,
    by-post and by-author intervals under-cover; only the two-way interval is near nominal, and
    it covers more than either one-way interval."""
    t = table[table["experiment"] == "threads"]
    rows = []
    for dedup, words in ((0, "every comment"), (1, "copies dropped")):
        two_way = _cell(t, "two-way", dedup=dedup)
        for procedure in ("naive", "post", "author"):
            cell = _cell(t, procedure, dedup=dedup)
            rows.append(_finding(f"threads, {words}: the {procedure} interval covers less than "
                                 f"{level}", level - cell["coverage"], cell["mc_se"], above=0))
            if procedure != "naive":
                rows.append(_finding(f"threads, {words}: two-way covers more than by {procedure}",
                                     *_difference(_share(two_way), _share(cell)), above=0))
        rows.append(_finding(f"threads, {words}: the two-way interval covers at {level}",
                             *_share(two_way), within=level))
    return rows


__all__ = ["CHEAP", "CR1_FLOOR", "FEW_CLUSTERS", "FEW_CLUSTERS_FLOOR", "GRID", "GROUPS",
           "ICCS", "NS", "PHIS", "SEED", "SIZE", "TOL",
           "ar1_findings", "cluster_findings", "threads_findings"]
