"""Lab 05, the frequentist coverage of Bayesian intervals: its grid and its findings.

Every experiment runs the conjugate scenarios (`conjugate-mean`, `conjugate-slope`), whose
kernels compute each Bayesian interval beside its frequentist twin on the same data. The
findings are checks with Monte Carlo tolerances, in the style of `pragmatic.sim.checks` (whose
helpers they use): with a fixed seed they are regression tests of the lab's claims.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from ..checks import _cell, _difference, _finding, _share
from ..grid import Experiment, LabGrid

SEED = 1984
LEVEL = 0.95
NS = (2, 8, 32, 128)  # the mean's sample sizes; each one is compiled once
VIOLATION_NS = (8, 128)
BAYES = ("bayes-known", "bayes-nig")
TWIN = {"bayes-known": "z", "bayes-nig": "t"}
PRIOR = {"prior_mean": 0.0, "prior_sd": 0.5, "prior_df": 10}  # worth 1 / 0.5^2 = 4 observations
WRONG = {"prior_mean": 1.0, "prior_sd": 0.5, "prior_df": 10, "theta": 0.0}  # truth 2 prior sds off
RIGHT = {**PRIOR, "from_prior": 1}

GRID = LabGrid(lab="05-bayes-coverage", seed=SEED, level=LEVEL, experiments=(
    # Prior and likelihood right: (theta, sigma) drawn from the prior in every replication.
    Experiment("calibration", "conjugate-mean", vary={"n": NS}, fixed=RIGHT, reps_factor=20),
    # A wrong but honest prior: centred at 1, sd 0.5, while theta = 0 in every replication.
    Experiment("wrong prior", "conjugate-mean", vary={"n": NS}, fixed={**WRONG, "from_prior": 0},
               reps_factor=4),
    # The prior right, the likelihood wrong: the violations of labs 1 to 4.
    Experiment("skewed", "conjugate-mean", vary={"n": VIOLATION_NS}, fixed={**RIGHT, "skew": 1.0}),
    Experiment("outliers", "conjugate-mean", vary={"n": VIOLATION_NS},
               fixed={**RIGHT, "outliers": 0.1}),
    Experiment("AR(1)", "conjugate-mean", vary={"n": VIOLATION_NS}, fixed={**RIGHT, "phi": 0.5}),
    Experiment("straight line", "conjugate-slope", vary={"n": VIOLATION_NS}, fixed=RIGHT),
    Experiment("heteroskedastic", "conjugate-slope", vary={"n": VIOLATION_NS},
               fixed={**RIGHT, "gamma": 0.5}),
    Experiment("confounded", "conjugate-slope", vary={"n": VIOLATION_NS},
               fixed={**RIGHT, "confounding": 1.0}),
))


def known_sigma_coverage(n: int, theta: float, prior_mean: float, prior_sd: float,
                         level: float = LEVEL) -> dict:
    """Exact coverage at a fixed theta of the bayes-known interval (sigma = 1, prior
    N(prior_mean, prior_sd^2)), with its two kinds of miss.

    The interval is w x-bar + (1 - w) m0 -/+ z / sqrt(n + k0), k0 = 1 / prior_sd^2,
    w = n / (n + k0), and x-bar ~ N(theta, 1 / n); it lies wholly above theta when x-bar exceeds
    (theta + half - (1 - w) m0) / w, and wholly below when x-bar falls short of
    (theta - half - (1 - w) m0) / w.
    """
    k0 = 1 / prior_sd**2
    w, half = n / (n + k0), stats.norm.ppf((1 + level) / 2) / math.sqrt(n + k0)
    shift = (1 - w) * prior_mean
    high = stats.norm.sf(((theta + half - shift) / w - theta) * math.sqrt(n))
    low = stats.norm.cdf(((theta - half - shift) / w - theta) * math.sqrt(n))
    return {"coverage": 1 - low - high, "miss_low": low, "miss_high": high}


def experiment(table: pd.DataFrame, name: str) -> pd.DataFrame:
    rows = table[table["experiment"] == name]
    if rows.empty:
        raise KeyError(f"no experiment {name!r} in the table")
    return rows


def calibration_findings(table: pd.DataFrame, level: float = LEVEL) -> list[dict]:
    """Prior and likelihood right: every interval covers at the level at every n, and the
    Bayesian intervals miss (1 - level) / 2 on each side, at the smallest and largest n."""
    cal = experiment(table, "calibration")
    ns = sorted(cal["n"].unique())
    half = (1 - level) / 2
    rows = []
    for n in ns:
        for procedure in cal["procedure"].unique():
            rows.append(_finding(f"theta from the prior, n = {n}: {procedure} covers at {level}",
                                 *_share(_cell(cal, procedure, n=n)), within=level))
    for n in (ns[0], ns[-1]):
        for procedure in BAYES:
            cell = _cell(cal, procedure, n=n)
            for side, words in (("miss_low", "below"), ("miss_high", "above")):
                rows.append(_finding(f"theta from the prior, n = {n}: {half:g} of the {procedure} "
                                     f"intervals lie wholly {words} theta",
                                     *_share(cell, side), within=half))
    return rows


def wrong_prior_findings(table: pd.DataFrame, level: float = LEVEL) -> list[dict]:
    """A prior centred 2 prior sds from the fixed truth: bayes-known matches its exact coverage
    at every n; it covers less than the level at small n, misses on one side at every n, and
    recovers as n grows; the twin z, which has no prior, covers at the level throughout."""
    wrong = experiment(table, "wrong prior")
    p = wrong.iloc[0]
    ns = sorted(wrong["n"].unique())
    rows = []
    for n in ns:
        cell = _cell(wrong, "bayes-known", n=n)
        exact = known_sigma_coverage(n, p["theta"], p["prior_mean"], p["prior_sd"], level)
        rows.append(_finding(f"wrong prior, n = {n}: bayes-known covers {exact['coverage']:.4f}, "
                             "its exact coverage", *_share(cell), within=exact["coverage"]))
        rows.append(_finding(f"wrong prior, n = {n}: bayes-known misses above theta more often "
                             "than below", *_difference(_share(cell, "miss_high"),
                                                         _share(cell, "miss_low")), above=0))
        rows.append(_finding(f"wrong prior, n = {n}: z, which has no prior, covers at {level}",
                             *_share(_cell(wrong, "z", n=n)), within=level))
    for n in ns[:2]:
        for procedure in BAYES:
            cell = _cell(wrong, procedure, n=n)
            rows.append(_finding(f"wrong prior, n = {n}: {procedure} covers less than {level}",
                                 level - cell["coverage"], cell["mc_se"], above=0))
    for procedure in BAYES:
        small, large = (_cell(wrong, procedure, n=n) for n in (ns[0], ns[-1]))
        rows.append(_finding(f"wrong prior: {procedure} covers more at n = {ns[-1]} than at "
                             f"n = {ns[0]}", *_difference(_share(large), _share(small)), above=0))
    return rows


def violation_findings(table: pd.DataFrame, level: float = LEVEL) -> list[dict]:
    """The prior right, the likelihood wrong. At the largest n every interval, Bayesian or not,
    under-covers under dependence, heteroskedasticity and confounding, and misses on one side
    on skewed data where sigma is estimated; at the smallest n the right prior softens part of
    the failure. The straight-line control is calibrated, and symmetric outliers do not make
    the estimated-sigma intervals under-cover."""
    half = (1 - level) / 2
    rows = []
    line = experiment(table, "straight line")
    for n in sorted(line["n"].unique()):
        for procedure in line["procedure"].unique():
            rows.append(_finding(f"straight line, theta from the prior, n = {n}: {procedure} "
                                 f"covers at {level}", *_share(_cell(line, procedure, n=n)),
                                 within=level))
    for name in ("AR(1)", "heteroskedastic", "confounded"):
        rows_of = experiment(table, name)
        large = max(rows_of["n"])
        for procedure in rows_of["procedure"].unique():
            cell = _cell(rows_of, procedure, n=large)
            rows.append(_finding(f"{name}, n = {large}: {procedure} covers less than {level}",
                                 level - cell["coverage"], cell["mc_se"], above=0))
    skewed = experiment(table, "skewed")
    large = max(skewed["n"])
    for procedure in ("bayes-nig", "t"):
        cell = _cell(skewed, procedure, n=large)
        rows.append(_finding(f"skewed, n = {large}: {procedure} covers less than {level}",
                             level - cell["coverage"], cell["mc_se"], above=0))
        low, high = _share(cell, "miss_low"), _share(cell, "miss_high")
        rows.append(_finding(f"skewed, n = {large}: more than {half:g} of the {procedure} "
                             "intervals lie wholly below theta", low[0] - half, low[1], above=0))
        rows.append(_finding(f"skewed, n = {large}: fewer than {half:g} lie wholly above it",
                             half - high[0], high[1], above=0))
    ar1 = experiment(table, "AR(1)")
    small = min(ar1["n"])
    for bayes, twin in TWIN.items():
        rows.append(_finding(f"AR(1), n = {small}: the right prior helps: {bayes} covers more "
                             f"than {twin}", *_difference(_share(_cell(ar1, bayes, n=small)),
                                                          _share(_cell(ar1, twin, n=small))),
                             above=0))
    outliers = experiment(table, "outliers")
    for n in sorted(outliers["n"].unique()):
        for procedure in ("bayes-nig", "t"):
            rows.append(_finding(f"outliers, n = {n}: {procedure} does not under-cover",
                                 *_share(_cell(outliers, procedure, n=n)), not_below=level))
    return rows
