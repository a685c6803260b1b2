"""Lab 4, precisely wrong: the grid of the `omitted` scenario it runs, and its findings.

Two experiments. `growing n` draws the sufficient statistics (the route whose cost does not
grow with n), so it reaches n = 10^9 at the cost of n = 10^2; it scores the classical interval,
the flat-prior Bayesian interval and the interval under an informative prior centred on the
truth. `raw data` draws the data at two moderate n, for HC3 (which needs the residuals) and
as the check that both routes agree.

The findings functions turn the lab's claims into checks with Monte Carlo tolerances, in the
form of `pragmatic.sim.checks` (lab 1's): each returns rows of (claim, estimate, mc_se, z,
holds), and a test feeds them results from deliberately broken kernels
(tests/test_precisely_wrong.py). Shares near 0 or 1 use the standard error of the
"plus two" estimate (k + 2)/(R + 4) (Agresti and Coull), so that a share of exactly 0 still has
a positive standard error; values summed in float32 get a floor of 1e-6 of their size.
"""

from __future__ import annotations

import math

import pandas as pd

from ..checks import TOL, _finding
from ..grid import Experiment, LabGrid

NS = tuple(10**k for k in range(2, 10))  # 10^2 ... 10^9
CONFOUNDING = (0.0, 0.1, 0.2, 1.0)
RAW_NS = (1000,)
SHOWN = 0.2  # the confounding the lab follows in detail

GRID = LabGrid(lab="04-precisely-wrong", seed=20260404, experiments=(
    Experiment("growing n", "omitted", vary={"n": NS, "confounding": CONFOUNDING},
               procedures=("classical", "bayes-flat", "bayes-prior"), reps_factor=4,
               options={"route": "sufficient"}),
    Experiment("raw data", "omitted", vary={"n": RAW_NS, "confounding": (0.0, SHOWN)},
               procedures=("classical", "HC3", "bayes-flat", "bayes-prior"),
               options={"route": "raw"}),
))


# --- reading the table -------------------------------------------------------------------------

def cell(table: pd.DataFrame, experiment: str, procedure: str, n: int, c: float) -> pd.Series:
    """One row: an experiment, procedure, n and confounding. A missing cell is an error."""
    rows = table[(table["experiment"] == experiment) & (table["procedure"] == procedure)
                 & (table["n"] == n) & (table["confounding"] == c)]
    if len(rows) != 1:
        raise KeyError(f"expected one row for {experiment}, {procedure}, n = {n}, C = {c}; "
                       f"found {len(rows)}")
    return rows.iloc[0]


def share(row: pd.Series, what: str = "coverage") -> tuple[float, float]:
    """A share (coverage, miss_low, miss_high) and the standard error of the plus-two
    estimate, sqrt(p~(1 - p~)/(R + 4)) with p~ = (k + 2)/(R + 4): positive even at 0 or 1."""
    reps = int(row["reps"])
    p = row[what]
    tilde = (p * reps + 2) / (reps + 4)
    return float(p), math.sqrt(tilde * (1 - tilde) / (reps + 4))


def extra(row: pd.Series, name: str) -> tuple[float, float]:
    """An extra output's mean and its standard error, floored at float32's resolution."""
    value = float(row[name])
    return value, max(float(row[f"{name}_mc_se"]), 1e-6 * abs(value))


def expected_heldout(n: int, c: float) -> tuple[float, float]:
    """E(held-out MSE) of the short and the correct model (README, scenario `omitted`)."""
    return ((1 + c**2 / 2) * (1 + 1 / n) * (n - 2) / (n - 3),
            (1 + 1 / n) * (n - 2) / (n - 4))


# --- the findings -----------------------------------------------------------------------------

def nominal_findings(table: pd.DataFrame, c: float, level: float = 0.95) -> list[dict]:
    """'The interval covers at `level`' at every n of both experiments: the claim that holds
    without confounding (c = 0) and must fail with it."""
    rows = []
    for experiment, ns, procedures in (("growing n", NS, ("classical",)),
                                       ("raw data", RAW_NS, ("classical", "HC3"))):
        for n in ns:
            for procedure in procedures:
                row = cell(table, experiment, procedure, n, c)
                rows.append(_finding(f"C = {c:g}, n = {n:.0e}, {procedure} ({experiment}): "
                                     f"covers at {level}",
                                     row["coverage"], row["mc_se"] or share(row)[1],
                                     within=level))
    return rows


def confounded_findings(table: pd.DataFrame, c: float = SHOWN,
                        level: float = 0.95) -> list[dict]:
    """With confounding c > 0: the interval centres on 1 + c/2, its coverage falls with n to
    below 0.01, every miss lies above the truth, and at the largest n it is less than a
    hundredth as wide as its distance from the truth."""
    rows = []
    for n in NS:
        row = cell(table, "growing n", "classical", n, c)
        rows.append(_finding(f"C = {c:g}, n = {n:.0e}: the covers-at-{level} check fails",
                             level - row["coverage"], row["mc_se"] or share(row)[1], above=0))
        if n <= 10**6:  # beyond, the slope's Monte Carlo error nears float32's resolution
            rows.append(_finding(f"C = {c:g}, n = {n:.0e}: the short slope averages 1 + C/2",
                                 *extra(row, "short_slope"), within=1 + c / 2))
        low = share(row, "miss_low")
        rows.append(_finding(f"C = {c:g}, n = {n:.0e}: fewer than 1 in 400 intervals lie wholly "
                             "below the truth", 0.0025 - low[0], low[1], above=0))
    if c <= SHOWN:  # (at C = 1 coverage is already near 0 at n = 10^2)
        first, second = (cell(table, "growing n", "classical", n, c) for n in NS[:2])
        rows.append(_finding(f"C = {c:g}: coverage is lower at n = {NS[1]:.0e} than at "
                             f"{NS[0]:.0e}", first["coverage"] - second["coverage"],
                             math.hypot(share(first)[1], share(second)[1]), above=0))
    for n in NS[2:]:
        row = cell(table, "growing n", "classical", n, c)
        cov, se = share(row)
        rows.append(_finding(f"C = {c:g}, n = {n:.0e}: coverage is below 0.01", 0.01 - cov, se,
                             above=0))
    last = cell(table, "growing n", "classical", NS[-1], c)
    rows.append(_finding(f"C = {c:g}, n = {NS[-1]:.0e}: the interval is less than a hundredth "
                         "as wide as its distance from the truth, C/2",
                         c / 200 - last["mean_width"],
                         max(last["width_mc_se"], 1e-6 * last["mean_width"]), above=0))
    return rows


def prediction_findings(table: pd.DataFrame, c: float = SHOWN) -> list[dict]:
    """Held-out prediction error: each model's mean is its expected value, and the short
    model's exceeds the correct one's by less than 3 % (C = 0.2: C^2/2 = 2 %) at every n."""
    rows = []
    for n in NS:
        row = cell(table, "growing n", "classical", n, c)
        short, correct = extra(row, "heldout_mse_short"), extra(row, "heldout_mse_correct")
        if n <= 10**5:  # beyond, the estimation part (order 1/n) is lost in float32
            for (name, got), want in zip((("short", short), ("correct", correct)),
                                         expected_heldout(n, c)):
                rows.append(_finding(f"C = {c:g}, n = {n:.0e}: the {name} model's held-out MSE "
                                     "is its expected value", *got, within=want))
        gap = short[0] / correct[0] - 1
        rows.append(_finding(f"C = {c:g}, n = {n:.0e}: the short model's held-out MSE is less "
                             "than 3 % above the correct model's", 0.03 - gap,
                             math.hypot(short[1], correct[1]) / correct[0], above=0))
    return rows


def prior_findings(table: pd.DataFrame, c: float = SHOWN) -> list[dict]:
    """An informative prior centred on the truth helps at n = 10^2 (it covers more, with a
    narrower interval) and not at all from 10^4: the likelihood dominates."""
    small = NS[0]
    prior, flat = (cell(table, "growing n", p, small, c) for p in ("bayes-prior", "classical"))
    rows = [_finding(f"C = {c:g}, n = {small:.0e}: the informative prior covers more than the "
                     "flat one", prior["coverage"] - flat["coverage"],
                     math.hypot(prior["mc_se"], flat["mc_se"]), above=0),
            _finding(f"C = {c:g}, n = {small:.0e}: the informative prior's interval is narrower "
                     "than the flat one", flat["mean_width"] - prior["mean_width"],
                     math.hypot(prior["width_mc_se"], flat["width_mc_se"]), above=0)]
    for n in NS[2:]:
        cov, se = share(cell(table, "growing n", "bayes-prior", n, c))
        rows.append(_finding(f"C = {c:g}, n = {n:.0e}: the informative prior's interval covers "
                             "less than 0.01", 0.01 - cov, se, above=0))
    return rows


def robust_findings(table: pd.DataFrame, c: float = SHOWN) -> list[dict]:
    """HC3 (raw data): no better than the classical interval under confounding, and about as
    wide: it repairs the variance, not the bias."""
    n = RAW_NS[-1]
    hc3, classical = (cell(table, "raw data", p, n, c) for p in ("HC3", "classical"))
    cov, se = share(hc3)
    return [
        _finding(f"C = {c:g}, n = {n:.0e}: HC3 covers less than 0.05", 0.05 - cov, se, above=0),
        _finding(f"C = {c:g}, n = {n:.0e}: HC3's interval is less than 5 % wider than the "
                 "classical one", 1.05 * classical["mean_width"] - hc3["mean_width"],
                 math.hypot(1.05 * classical["width_mc_se"], hc3["width_mc_se"]), above=0),
    ]


def route_findings(table: pd.DataFrame) -> list[dict]:
    """Both routes, sufficient statistics and raw data, agree within Monte Carlo error where
    both ran: coverage, misses above, width, the slope's mean and the held-out errors."""
    rows = []
    for n in RAW_NS:
        for c in (0.0, SHOWN):
            s, r = (cell(table, e, "classical", n, c) for e in ("growing n", "raw data"))
            pairs = [(f"{what}", (s[what], share(s, what)[1]), (r[what], share(r, what)[1]))
                     for what in ("coverage", "miss_high")]
            pairs.append(("mean width", (s["mean_width"], s["width_mc_se"]),
                          (r["mean_width"], r["width_mc_se"])))
            pairs += [(name, extra(s, name), extra(r, name))
                      for name in ("short_slope", "heldout_mse_short", "heldout_mse_correct")]
            for what, (a, se_a), (b, se_b) in pairs:
                rows.append(_finding(f"C = {c:g}, n = {n:.0e}: the routes agree on {what}",
                                     a - b, math.hypot(se_a, se_b), within=0))
    return rows


def all_findings(table: pd.DataFrame) -> list[dict]:
    return (nominal_findings(table, 0.0) + confounded_findings(table)
            + confounded_findings(table, 1.0) + prediction_findings(table)
            + prior_findings(table) + robust_findings(table) + route_findings(table))


__all__ = ["GRID", "NS", "CONFOUNDING", "RAW_NS", "SHOWN", "TOL", "cell", "share", "extra",
           "expected_heldout", "nominal_findings", "confounded_findings", "prediction_findings",
           "prior_findings", "robust_findings", "route_findings", "all_findings"]
