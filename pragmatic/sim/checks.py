"""The findings of lab 01, as checks with Monte Carlo tolerances.

Each check compares an estimate (a coverage, a one-sided miss rate, or a difference of two)
with the value a claim predicts, measured in Monte Carlo standard errors. A claim that one value
exceeds another holds when the estimate is on the predicted side by more than `TOL` standard
errors; "covers at 0.95" holds within `TOL` of it, and "does not under-cover" unless it is more
than `TOL` below. Differences use sqrt(se1^2 + se2^2), which is conservative here: the cells share
their random numbers, so their errors are positively correlated. With a fixed seed these are
regression tests of the lab's findings, not hypothesis tests.

Each function checks one section of the lab on the table that section computes, and needs every
cell it names: a missing cell is an error, never a skipped claim.
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


def _share(cell: pd.Series, what: str = "coverage") -> tuple[float, float]:
    """A share (coverage, miss_low or miss_high) of one cell, with its standard error."""
    se = cell["mc_se"] if what == "coverage" else cell[f"{what}_mc_se"]
    return cell[what], se


def _difference(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return a[0] - b[0], math.hypot(a[1], b[1])


def _pooled(cells: list[pd.Series]) -> tuple[float, float]:
    """The average coverage of several cells, with its standard error."""
    return (sum(c["coverage"] for c in cells) / len(cells),
            math.hypot(*(c["mc_se"] for c in cells)) / len(cells))


def _one_sided(label: str, cell: pd.Series, half: float) -> list[dict]:
    """Misses pile up below the target: more than `half` below, fewer than `half` above."""
    low, high = _share(cell, "miss_low"), _share(cell, "miss_high")
    return [_finding(f"{label}: more than {half:g} of the intervals lie wholly below the target",
                     low[0] - half, low[1], above=0),
            _finding(f"{label}: fewer than {half:g} lie wholly above it",
                     half - high[0], high[1], above=0)]


def normal_findings(normal: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """The control: on normal data the t-interval is exact at every n, and the z-interval is not."""
    ns = sorted(normal["n"].unique())
    half = (1 - level) / 2
    rows = []
    for n in ns:
        t, z = _cell(normal, "t", n=n), _cell(normal, "z", n=n)
        rows.append(_finding(f"normal data, n = {n}: the t-interval covers at {level}",
                             *_share(t), within=level))
        rows.append(_finding(f"normal data, n = {n}: the z-interval covers less than {level}",
                             level - z["coverage"], z["mc_se"], above=0))
    for n in (ns[0], ns[-1]):
        t = _cell(normal, "t", n=n)
        for side, words in (("miss_low", "below"), ("miss_high", "above")):
            rows.append(_finding(f"normal data, n = {n}: {half:g} of the t-intervals lie wholly "
                                 f"{words} the target", *_share(t, side), within=half))
    return rows


def skew_findings(tz: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """Skewed data: the t-interval under-covers at every n, and its misses are one-sided."""
    ns = sorted(tz["n"].unique())
    small, large = ns[0], ns[-1]
    half = (1 - level) / 2
    rows = []
    for n in ns:
        cell = _cell(tz, "t", dist="lognormal", n=n)
        rows.append(_finding(f"lognormal data, n = {n}: the t-interval covers less than {level}",
                             level - cell["coverage"], cell["mc_se"], above=0))
    logn = {n: _cell(tz, "t", dist="lognormal", n=n) for n in (small, large)}
    rows.append(_finding(f"lognormal data: t covers more at n = {large} than at n = {small}",
                         *_difference(_share(logn[large]), _share(logn[small])), above=0))
    for n in (small, large):
        rows += _one_sided(f"lognormal data, n = {n}, t-interval", logn[n], half)
    for n in ns:
        exp, log = _cell(tz, "t", dist="exponential", n=n), _cell(tz, "t", dist="lognormal", n=n)
        rows.append(_finding(f"n = {n}: t covers more for exponential than for lognormal data",
                             *_difference(_share(exp), _share(log)), above=0))
    exp = _cell(tz, "t", dist="exponential", n=large)
    rows.append(_finding(f"exponential data, n = {large}: t still covers less than {level}",
                         level - exp["coverage"], exp["mc_se"], above=0))
    rows += _one_sided(f"exponential data, n = {large}, t-interval", exp, half)
    return rows


def heavy_tail_findings(tz: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """Symmetric heavy tails: at the 95 % level the t-interval never under-covers."""
    rows = []
    for dist in ("t3", "t2", "contaminated"):
        for n in sorted(tz["n"].unique()):
            cell = _cell(tz, "t", dist=dist, n=n)
            rows.append(_finding(f"{dist} data, n = {n}: the t-interval does not under-cover",
                                 *_share(cell), not_below=level))
    for dist, n in (("t2", 200), ("contaminated", 20)):
        cell = _cell(tz, "t", dist=dist, n=n)
        rows.append(_finding(f"{dist} data, n = {n}: the t-interval covers more than {level}",
                             cell["coverage"] - level, cell["mc_se"], above=0))
    return rows


def skew_sweep_findings(sweep: pd.DataFrame) -> list[dict]:
    """The stronger the skew, the lower the t-interval's coverage, at every n of the sweep."""
    sigmas = sorted(sweep["sigma"].unique())
    rows = []
    for n in sorted(sweep["n"].unique()):
        weak, strong = (_cell(sweep, "t", sigma=s, n=n) for s in (sigmas[0], sigmas[-1]))
        rows.append(_finding(f"lognormal data, n = {n}: t covers less at sigma = {sigmas[-1]} "
                             f"than at sigma = {sigmas[0]}",
                             *_difference(_share(weak), _share(strong)), above=0))
    return rows


def contamination_findings(mixture: pd.DataFrame, clean: pd.DataFrame,
                           level: float = 0.95) -> list[dict]:
    """One-sided gross errors: skew around the mixture's mean, and 'precisely wrong' around the
    clean mean, with coverage falling towards zero as n grows."""
    ns = sorted(clean["n"].unique())
    cell = _cell(mixture, "t", n=10)
    rows = [_finding(f"upward errors, mixture mean, n = 10: t covers less than {level}",
                     level - cell["coverage"], cell["mc_se"], above=0)]
    rows += _one_sided("upward errors, mixture mean, n = 10, t-interval", cell, (1 - level) / 2)
    low, high = _cell(clean, "t", n=ns[0]), _cell(clean, "t", n=ns[-1])
    rows.append(_finding(f"upward errors, clean mean: t covers less at n = {ns[-1]} than at "
                         f"n = {ns[0]}", *_difference(_share(low), _share(high)), above=0))
    rows.append(_finding(f"upward errors, clean mean, n = {ns[-1]}: t covers less than 0.05",
                         0.05 - high["coverage"], high["mc_se"], above=0))
    return rows


def bootstrap_findings(boot: pd.DataFrame, level: float = 0.95) -> list[dict]:
    """The two bootstraps beside the t-interval, in the same replications."""
    ns = sorted(boot["n"].unique())
    small = ns[0]
    t, bt, pct = (_cell(boot, p, dist="lognormal", n=small) for p in ("t", "boot-t", "boot-pct"))
    rows = [
        _finding(f"lognormal data, n = {small}: bootstrap-t covers more than t",
                 *_difference(_share(bt), _share(t)), above=0),
        _finding(f"lognormal data, n = {small}: the percentile interval covers less than "
                 "bootstrap-t", *_difference(_share(bt), _share(pct)), above=0),
        _finding(f"lognormal data, n = {small}: bootstrap-t still covers less than {level}",
                 level - bt["coverage"], bt["mc_se"], above=0),
    ]
    normal_t, normal_pct = (_cell(boot, p, dist="normal", n=small) for p in ("t", "boot-pct"))
    rows.append(_finding(f"normal data, n = {small}: the percentile interval covers less than t",
                         *_difference(_share(normal_t), _share(normal_pct)), above=0))
    larger = [n for n in ns if n >= 10]
    rows.append(_finding(
        f"lognormal data, n = {larger[0]} to {larger[-1]} pooled: bootstrap-t covers more than t",
        *_difference(_pooled([_cell(boot, "boot-t", dist="lognormal", n=n) for n in larger]),
                     _pooled([_cell(boot, "t", dist="lognormal", n=n) for n in larger])),
        above=0))
    for dist in ("t3", "t2", "contaminated"):
        estimate, se = _pooled([_cell(boot, "boot-t", dist=dist, n=n) for n in larger])
        rows.append(_finding(f"{dist} data, n = {larger[0]} to {larger[-1]} pooled: bootstrap-t "
                             f"covers less than {level}", level - estimate, se, above=0))
    return rows


def look_first_findings(two_stage: pd.DataFrame, conditional: pd.DataFrame) -> list[dict]:
    """Checking normality first selects, on skewed data, the samples where t is worst, and the
    two-stage rule covers more than the t-interval alone and less than the bootstrap-t alone."""
    rows = []
    for dist in ("lognormal", "exponential"):
        first, boot, t = (_cell(two_stage, p, dist=dist, n=10)
                          for p in ("look-first", "boot-t", "t"))
        rows.append(_finding(f"{dist} data, n = 10: looking first covers less than bootstrap-t "
                             "alone", *_difference(_share(boot), _share(first)), above=0))
        rows.append(_finding(f"{dist} data, n = 10: looking first covers more than t alone",
                             *_difference(_share(first), _share(t)), above=0))
        for n in sorted(conditional["n"].unique()):
            row = conditional[(conditional["dist"] == dist) & (conditional["n"] == n)].squeeze()
            rows.append(_finding(f"{dist} data, n = {n}: t covers less on the samples that pass "
                                 "the check than on all samples",
                                 *_difference((row["t coverage"], row["se"]),
                                              (row["t coverage | pass"], row["se | pass"])),
                                 above=0))
    return rows


def table(findings: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(findings, columns=["claim", "estimate", "mc_se", "z", "holds"])


def assert_findings(findings: pd.DataFrame) -> None:
    """Raise AssertionError naming every claim that does not hold."""
    failed = findings.loc[~findings["holds"], "claim"].tolist()
    assert not failed, "findings that do not hold: " + "; ".join(failed)
