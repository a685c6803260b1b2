"""Many analyses of one regression discontinuity, and one analysis chosen by looking.

    from pragmatic.multiverse import local_poly, forking_paths

`local_poly` is the fit behind chapter 8's multiverse: the jump at a cutoff from a polynomial on
each side within a bandwidth, with kernel weights, optional covariates and fixed effects (shared
by both sides, as in Calonico, Cattaneo, Farrell and Titiunik 2019) and standard errors that are
HC1 or cluster-robust for any number of groupings at once. It gives what statsmodels gives for
weighted least squares of y on (1, T, x - c, T (x - c), ..., covariates) in the window with
cov_type="HC1" or cov_type="cluster" (tests/test_multiverse.py), from one solve per fit, so a
few hundred specifications take seconds. Where pragmatic.rd.local_linear is batched over
datasets, this is one dataset with the extras a multiverse needs.

`forking_paths` simulates outcomes with no jump at the cutoff and an analyst who runs one test
per dataset, chosen by a rule. Under "garden" the analyst looks at each group's fit (a region,
say) and reports the group whose jump is largest in magnitude, the one that "shows the effect";
under "random" a group is picked by a coin that never sees the data (one subgroup analysis, but
not chosen by looking); under "pooled" the analysis was fixed in advance. Each replication draws
its noise from its own seed and is computed with row-wise sums only, so results do not depend on
`chunk`, bit for bit. `garden_size` gives the "garden" rule's size and choices in closed form
(normal noise of known variance), the yardstick for the simulation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import integrate, stats

from pragmatic.rd import KERNELS, check_choices

RULES = ("garden", "random", "pooled")


class Fit(NamedTuple):
    estimate: float  # treated-side limit minus untreated-side limit at the cutoff
    se: dict         # "HC1" and one entry per clustering, by name
    df: dict         # degrees of freedom for each: inf for HC1, G - 1 for G clusters
    n: int           # observations in the window
    k: int           # columns of the design, covariates included


def _codes(what, labels, inside):
    """Integer codes 0, 1, ... of the labels inside the window, after checking their length."""
    labels = np.asarray(labels)
    if labels.shape != inside.shape:
        raise ValueError(f"{what} must have one per observation ({inside.size}), got shape "
                         f"{labels.shape}")
    return np.unique(labels[inside], return_inverse=True)[1]


def local_poly(x, y, *, cutoff, bandwidth, kernel="triangular", order=1, covariates=None,
               fixed_effects=None, clusters=None, treated="above") -> Fit:
    """The jump in E[y | x] at `cutoff` within |x - cutoff| < bandwidth, with its SEs.

    covariates: None or an (n, m) array of numbers, entered linearly. fixed_effects: None or
    {name: labels of length n}; each becomes dummies for the levels present in the window, the
    first of them left out. clusters: None or {name: labels of length n}; each adds a
    cluster-robust SE, CR1 as statsmodels computes it: G/(G - 1) (n - 1)/(n - k), or NaN when
    the fit leaves no variation between clusters (each cluster's residuals cancel, as when
    the fixed effects saturate the clusters; statsmodels then reports a standard error of
    about 1e-12).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D arrays of the same length; got shapes {x.shape} "
                         f"and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite (no NaN or infinity); drop missing rows first")
    check_choices(bandwidth, kernel, order, treated)
    u = (x - cutoff) / bandwidth
    inside = np.abs(u) < 1
    right = x >= cutoff
    fewest = int(min((inside & right).sum(), (inside & ~right).sum()))
    if fewest <= order + 1:
        raise ValueError(f"only {fewest} observations within bandwidth {bandwidth} on one side "
                         f"of the cutoff; an order-{order} fit needs more than {order + 1}")

    u, y, t = u[inside], y[inside], right[inside].astype(float)
    w = KERNELS[kernel](u)
    blocks = [np.ones_like(u)[:, None], t[:, None]]
    for p in range(1, order + 1):
        blocks.append(np.column_stack([u**p, t * u**p]))
    if covariates is not None:
        z = np.asarray(covariates, dtype=float)
        z = z[:, None] if z.ndim == 1 else z
        if z.ndim != 2 or len(z) != len(x):
            raise ValueError(f"covariates must have one row per observation ({len(x)}), got "
                             f"shape {np.shape(covariates)}")
        if not np.isfinite(z).all():
            raise ValueError("covariates must be finite (no NaN or infinity)")
        blocks.append(z[inside])
    for name, labels in (fixed_effects or {}).items():
        level = _codes(f"fixed-effect labels {name!r}", labels, inside)
        dummies = np.zeros((level.size, int(level.max()) + 1))
        dummies[np.arange(level.size), level] = 1.0
        blocks.append(dummies[:, 1:])                  # the first level present is the reference
    design = np.hstack(blocks)
    n, k = design.shape
    groupings = {name: _codes(f"cluster labels {name!r}", labels, inside)
                 for name, labels in (clusters or {}).items()}
    if n <= k + 1:
        raise ValueError(f"{n} observations in the window for {k} columns: too few to estimate "
                         f"the jump and its standard error")

    bread = design.T @ (w[:, None] * design)
    scale = np.sqrt(np.diag(bread))
    rank = np.linalg.matrix_rank(bread / np.outer(scale, scale))
    if rank < k:
        raise ValueError(f"the design has {k} columns but rank {rank} in the window: drop "
                         f"collinear covariates")
    beta = np.linalg.solve(bread, design.T @ (w * y))
    resid = y - design @ beta
    if np.max(np.abs(resid)) <= 1e-9 * max(np.max(np.abs(y)), 1.0):
        raise ValueError(f"the fit is exact ({n} observations, {k} columns): no residual "
                         f"variation is left to estimate a standard error")
    # Influence of each observation on the jump: row 1 of bread^-1 times its score.
    row = np.linalg.solve(bread, np.eye(k)[1])
    influence = w * resid * (design @ row)
    se = {"HC1": np.sqrt(np.sum(influence**2) * n / (n - k))}
    df = {"HC1": np.inf}
    for name, groups in groupings.items():
        g = int(groups.max()) + 1
        if g < 2:
            raise ValueError(f"clustering {name!r} has {g} group in the window; need at least 2")
        sums = np.bincount(groups, weights=influence, minlength=g)
        if np.sum(sums**2) <= 1e-12 * np.sum(influence**2):
            se[name] = np.nan       # each cluster fitted exactly: no variation between clusters
        else:
            se[name] = np.sqrt(np.sum(sums**2) * g / (g - 1) * (n - 1) / (n - k))
        df[name] = g - 1
    jump = beta[1] if treated == "above" else -beta[1]
    return Fit(float(jump), {key: float(v) for key, v in se.items()}, df, n, k)


def _fixed_design_jumps(x, noise, cutoff, bandwidth):
    """Local linear jumps (triangular kernel, HC1) for many outcome vectors on one fixed x.

    With the design fixed, the fit is linear in y: one (4, n) projection serves every row of
    `noise`, which is what `pragmatic.rd.local_linear` gives row by row (tests check that).
    """
    design, project = _projection(x, cutoff, bandwidth)
    n, k = design.shape
    # Sums along each row only (no matrix products across rows), so a replication's numbers
    # are the same bits whatever else is in its chunk.
    beta = (noise[:, None, :] * project[None]).sum(axis=2)              # (reps, 4)
    resid = noise - sum(beta[:, j, None] * design[:, j] for j in range(k))
    se = np.sqrt(((project[1] * resid) ** 2).sum(axis=1) * n / (n - k))
    return beta[:, 1], se


def _label(g):
    """A group label as plain Python (NumPy scalars print as np.str_('South'))."""
    return g.item() if isinstance(g, np.generic) else g


def _window_groups(x, groups, cutoff, bandwidth):
    """The window's x and group labels, and the labels, after checking that every group can be
    fitted (a local linear fit needs 3 observations on each side of the cutoff)."""
    x = np.asarray(x, dtype=float)
    groups = np.asarray(groups)
    if x.ndim != 1 or groups.shape != x.shape:
        raise ValueError(f"x and groups must be 1-D of the same length; got {x.shape} and "
                         f"{groups.shape}")
    labels = np.unique(groups)
    if labels.size < 2:
        raise ValueError(f"groups must hold at least two groups, got {labels.size}")
    check_choices(bandwidth, "triangular", 1, "above")
    keep = np.abs(x - cutoff) < bandwidth        # only the window enters any fit
    x, groups = x[keep], groups[keep]
    for g in labels:
        above = x[groups == g] >= cutoff
        if min(above.sum(), (~above).sum()) < 3:
            raise ValueError(f"group {_label(g)!r} has fewer than 3 observations on one side of "
                             f"the cutoff within bandwidth {bandwidth}; a local linear fit needs 3")
    return x, groups, labels


def garden_size(x, groups, *, cutoff, bandwidth, level=0.05) -> dict:
    """The "garden" rule in closed form: how often the one reported test rejects a true null.

    With independent normal noise of known variance, each group's local linear jump (triangular
    kernel) is normal around zero with a standard deviation s_g fixed by the design, and the
    groups' jumps are independent (they use different observations). Write each jump as s_g Z_g.
    The analyst reports group g when |s_g Z_g| is the largest, that is when |Z_h| < |Z_g| s_g / s_h
    for every other group h, and her test rejects when |Z_g| > z, the 1 - level/2 normal
    quantile. So the size is the sum over g of

        2 * integral_z^inf phi(a) * prod over h != g of (2 Phi(a s_g / s_h) - 1) da,

    and the chance of reporting g is the same integral from 0. With equal s_g the largest |jump|
    is the largest |Z|, and the size is 1 - (1 - level)^k for k groups. Returns the size, the
    chance that each group is reported, and each group's s_g per unit of noise standard deviation.
    The simulation's HC1 tests estimate s_g, so they reject a little more often than this.
    """
    if not (isinstance(level, (float, np.floating)) and 0 < level < 1):
        raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")
    x, groups, labels = _window_groups(x, groups, cutoff, bandwidth)
    sd = np.array([_jump_sd(x[groups == g], cutoff, bandwidth) for g in labels])
    z = stats.norm.ppf(1 - level / 2)

    def reported(g, lower):
        ratio = sd[g] / np.delete(sd, g)

        def density(a):
            return 2 * stats.norm.pdf(a) * np.prod(2 * stats.norm.cdf(a * ratio) - 1)

        return integrate.quad(density, lower, np.inf, epsabs=1e-12)[0]

    return {"size": float(sum(reported(g, z) for g in range(labels.size))),
            "chosen": {_label(g): reported(i, 0.0) for i, g in enumerate(labels)},
            "sd": {_label(g): float(s) for g, s in zip(labels, sd)}}


def _projection(x, cutoff, bandwidth):
    """The local linear design (triangular kernel) on a fixed x, and the (4, n) matrix that maps
    an outcome vector to the coefficients (1, T, u, T u)."""
    u = (x - cutoff) / bandwidth
    t = (x >= cutoff).astype(float)
    w = 1.0 - np.abs(u)
    design = np.column_stack([np.ones_like(u), t, u, t * u])
    return design, np.linalg.solve(design.T @ (w[:, None] * design), (w[:, None] * design).T)


def _jump_sd(x, cutoff, bandwidth):
    """Standard deviation of the local linear jump per unit noise standard deviation."""
    return float(np.sqrt(np.sum(_projection(x, cutoff, bandwidth)[1][1] ** 2)))


def forking_paths(x, groups, *, reps, seed, cutoff, bandwidth, rule="garden", noise_sd=1.0,
                  chunk=500) -> dict:
    """Simulate `reps` outcome vectors with no jump and apply one analyst's rule to each.

    x: the running variable, (n,); groups: a label per observation (two or more groups). The
    outcome is noise_sd * N(0, 1), independent across observations, so every local linear fit
    (triangular kernel, `bandwidth`, HC1) estimates a true jump of zero. Returns the reported
    estimate and its HC1 z-statistic for each replication, which group was reported ("pooled"
    for the pooled analysis) and whether the 5 % two-sided test rejected.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    for name, value in (("reps", reps), ("chunk", chunk)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if not (isinstance(noise_sd, (int, float)) and np.isfinite(noise_sd) and noise_sd > 0):
        raise ValueError(f"noise_sd must be a positive number, got {noise_sd!r}")
    x, groups, labels = _window_groups(x, groups, cutoff, bandwidth)

    estimate, z, chosen = np.empty(reps), np.empty(reps), np.empty(reps, dtype=object)
    for start in range(0, reps, chunk):
        stop = min(start + chunk, reps)
        noise = noise_sd * np.stack([np.random.default_rng([seed, r]).standard_normal(x.size)
                                     for r in range(start, stop)])
        if rule == "pooled":
            est, se = _fixed_design_jumps(x, noise, cutoff, bandwidth)
            estimate[start:stop], z[start:stop] = est, est / se
            chosen[start:stop] = "pooled"
            continue
        fits = [_fixed_design_jumps(x[groups == g], noise[:, groups == g], cutoff, bandwidth)
                for g in labels]
        est = np.stack([f[0] for f in fits])                  # (groups, reps in chunk)
        se = np.stack([f[1] for f in fits])
        if rule == "garden":
            pick = np.argmax(np.abs(est), axis=0)             # the jump that shows in the plot
        else:
            pick = np.array([np.random.default_rng([seed, r, 1]).integers(labels.size)
                             for r in range(start, stop)])
        cols = np.arange(stop - start)
        estimate[start:stop] = est[pick, cols]
        z[start:stop] = est[pick, cols] / se[pick, cols]
        chosen[start:stop] = labels[pick]
    return {"estimate": estimate, "z": z, "chosen": chosen, "reject": np.abs(z) > 1.959964}
