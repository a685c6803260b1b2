"""The findings of lab 01, as checks with Monte Carlo tolerances.

Each check compares a coverage estimate (or a difference of two) with the value a claim
predicts, measured in Monte Carlo standard errors. A claim that one value exceeds another holds
when the estimate is on the predicted side by more than `TOL` standard errors; "covers at 0.95"
holds within `TOL` of it, and "does not under-cover" unless it is more than `TOL` below.
Differences use sqrt(se1^2 + se2^2), which is conservative here: the cells share their random
numbers, so their errors are positively correlated.
"""

from __future__ import annotations

import math

import pandas as pd

TOL = 4.0  # Monte Carlo standard errors


def _cell(table: pd.DataFrame, procedure: str, **where) -> pd.Series:
    mask = table["procedure"] == procedure
    for column, value in where.items():
        mask &= table[column] == value
    rows = table[mask]
    if len(rows) != 1:
        raise KeyError(f"expected one row for {procedure} {where}, found {len(rows)}")
    return rows.iloc[0]


def _finding(claim: str, estimate: float, se: float, *, within: float | None = None,
             above: float | None = None, not_below: float | None = None) -> dict:
    """A claim that `estimate` is within TOL*se of `within`, more than TOL*se above `above`,
    or not more than TOL*se below `not_below`."""
    if within is not None:
        z = (estimate - within) / se
        holds = abs(z) <= TOL
    elif above is not None:
        z = (estimate - above) / se
        holds = z > TOL
    else:
        z = (estimate - not_below) / se
        holds = z >= -TOL
    return {"claim": claim, "estimate": estimate, "mc_se": se, "z": z, "holds": bool(holds)}


def _difference(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    return a["coverage"] - b["coverage"], math.hypot(a["mc_se"], b["mc_se"])


def t_interval_findings(grid: pd.DataFrame, skew: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Check lab 01's findings on its grid (distribution x n) and its skew sweep (sigma x n)."""
    ns = sorted(grid["n"].unique())
    small, large = ns[0], ns[-1]
    rows = []
    for n in ns:
        cell = _cell(grid, "t", dist="normal", n=n)
        rows.append(_finding(f"normal data, n = {n}: the t-interval covers at {level}",
                             cell["coverage"], cell["mc_se"], within=level))
    z_small = _cell(grid, "z", dist="normal", n=small)
    rows.append(_finding(f"normal data, n = {small}: the z-interval covers less than {level}",
                         level - z_small["coverage"], z_small["mc_se"], above=0))
    logn_small = _cell(grid, "t", dist="lognormal", n=small)
    rows.append(_finding(f"lognormal data, n = {small}: the t-interval covers less than {level}",
                         level - logn_small["coverage"], logn_small["mc_se"], above=0))
    diff, se = _difference(_cell(grid, "t", dist="lognormal", n=large), logn_small)
    rows.append(_finding(f"lognormal data: t coverage is higher at n = {large} than at n = {small}",
                         diff, se, above=0))
    if 50 in ns:
        cell = _cell(grid, "t", dist="lognormal", n=50)
        rows.append(_finding(f"lognormal data, n = 50: the t-interval covers less than {level}",
                             level - cell["coverage"], cell["mc_se"], above=0))
    for dist in [d for d in ("t3", "t2", "contaminated") if d in set(grid["dist"])]:
        for n in ns:  # symmetric heavy tails: no under-coverage at any n
            cell = _cell(grid, "t", dist=dist, n=n)
            rows.append(_finding(f"{dist} data, n = {n}: the t-interval does not under-cover",
                                 cell["coverage"], cell["mc_se"], not_below=level))
    if "boot-t" in set(grid["procedure"]):
        diff, se = _difference(_cell(grid, "boot-t", dist="lognormal", n=small), logn_small)
        rows.append(_finding(f"lognormal data, n = {small}: bootstrap-t covers more than t",
                             diff, se, above=0))
        if "contaminated" in set(grid["dist"]) and 50 in ns:
            cell = _cell(grid, "boot-t", dist="contaminated", n=50)
            rows.append(_finding(f"contaminated data, n = 50: bootstrap-t covers less than {level}",
                                 level - cell["coverage"], cell["mc_se"], above=0))
    sigmas = sorted(skew["sigma"].unique())
    for n in sorted(skew["n"].unique()):
        diff, se = _difference(_cell(skew, "t", sigma=sigmas[0], n=n),
                               _cell(skew, "t", sigma=sigmas[-1], n=n))
        rows.append(_finding(f"lognormal, n = {n}: t covers less at sigma = {sigmas[-1]} "
                             f"than at sigma = {sigmas[0]}", diff, se, above=0))
    return pd.DataFrame(rows)


def assert_findings(findings: pd.DataFrame) -> None:
    """Raise AssertionError naming every claim that does not hold."""
    failed = findings.loc[~findings["holds"], "claim"].tolist()
    assert not failed, "findings that do not hold: " + "; ".join(failed)
