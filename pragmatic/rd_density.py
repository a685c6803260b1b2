"""A density test at a cutoff (is the running variable's density continuous there?), for one
dataset or a batch of thousands.

`density_test` is the local-polynomial density estimator of Cattaneo, Jansson and Ma (2020),
the one `rddensity` implements (Cattaneo, Jansson and Ma 2018), at a bandwidth the caller fixes.
It is what `rddensity(X, c, p=order, q=order, h=bandwidth, kernel=kernel)` reports with its
default variance, vce="jackknife": the two density estimates, their standard errors, the
t statistic of their difference and its two-sided normal p-value (tests/test_rd_density.py
checks every one against rddensity on the same data). `rddensity` with its defaults fits order
q = p + 1 = 3 at a bandwidth it chooses for order p = 2; pass order=3 and that bandwidth to get
its default test.

The estimator, on each side of the cutoff c separately. Sort the n observations and give the
i-th smallest (i = 0, ..., n - 1) the empirical distribution function F_i = i / (n - 1),
computed over the whole sample. Within the bandwidth, fit a polynomial of `order` in
u = (x - c)/h to F_i by weighted least squares with kernel weights K(u)/h. The fitted CDF's
slope at the cutoff is the density there: f = b_1 / h. Its jackknife variance is
e_1' S^-1 (L'L) S^-1 e_1 / h^2, where S = sum_i w_i r_i r_i' (r_i the powers of u_i),
and row i of L is sum over the window's observations k > i of w_k r_k / (n - 1). (rddensity
forms L over both sides at once; the other side's rows add a multiple of S's first column to
L, which S^-1 maps to the intercept, so the slope's variance is the one-side formula here and
the two estimates are uncorrelated.) Tied values (mass points) are treated as rddensity treats
them by default: each takes the distribution function of the last of its ties, and L at the
first of them.

The work is vectorised over a (reps, n) array: each side's window is gathered into a
(reps, width) array, so memory and time grow with the window, not with n.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

KERNELS = {
    "triangular": lambda u: 1.0 - np.abs(u),
    "uniform": lambda u: 0.5 * np.ones_like(u),
    "epanechnikov": lambda u: 0.75 * (1.0 - u * u),
}


class DensityTest(NamedTuple):
    f_left: np.ndarray    # density estimate just below the cutoff
    f_right: np.ndarray   # ... and at or above it
    se_left: np.ndarray   # jackknife standard errors
    se_right: np.ndarray
    se_diff: np.ndarray   # of f_right - f_left (the two are uncorrelated)
    t: np.ndarray         # (f_right - f_left) / se_diff
    p_value: np.ndarray   # two-sided, standard normal
    n_left: np.ndarray    # observations in the window below the cutoff
    n_right: np.ndarray   # ... and at or above it (x - c <= h)


def _window(xs, lo, hi):
    """Each row's sorted values at positions lo to hi - 1, gathered from lo into a
    (reps, width) array padded with NaN; the positions too."""
    width = max(int((hi - lo).max()), 1)
    offset = np.arange(width)
    pos = lo[:, None] + offset
    valid = offset < (hi - lo)[:, None]
    values = np.take_along_axis(xs, np.minimum(pos, xs.shape[1] - 1), axis=1)
    return np.where(valid, values, np.nan), pos, valid


def _ties(values):
    """Positions (within the row) of the first and the last of each value's ties; NaN (the
    padding) ties with nothing."""
    reps, width = values.shape
    index = np.broadcast_to(np.arange(width), values.shape)
    new = np.ones(values.shape, bool)
    new[:, 1:] = values[:, 1:] != values[:, :-1]
    end = np.ones(values.shape, bool)
    end[:, :-1] = values[:, :-1] != values[:, 1:]
    first = np.maximum.accumulate(np.where(new, index, 0), axis=1)
    last = np.minimum.accumulate(np.where(end, index, width - 1)[:, ::-1], axis=1)[:, ::-1]
    return first, last


def _side(xs, lo, hi, h, n, order, kernel):
    """Density at the cutoff from one side's window (positions lo to hi - 1 of the sorted,
    centred rows), and its jackknife variance."""
    values, pos, valid = _window(xs, lo, hi)
    first, last = _ties(values)
    u = np.where(valid, values / h, 0.0)
    w = np.where(valid, KERNELS[kernel](u) / h, 0.0)
    cdf = (pos - np.arange(values.shape[1]) + last) / (n - 1)  # F at the last of the ties
    powers = [np.ones_like(u)]
    for _ in range(2 * order):
        powers.append(powers[-1] * u)
    moments = np.stack([(w * p).sum(-1) for p in powers], -1)
    idx = np.add.outer(np.arange(order + 1), np.arange(order + 1))
    s = moments[..., idx]                                                # (reps, k, k)
    weighted = np.stack([w * powers[j] for j in range(order + 1)], -1)   # (reps, width, k)
    cross = (weighted * cdf[..., None]).sum(1)
    s_inv = np.linalg.inv(s)
    beta = (s_inv @ cross[..., None])[..., 0]
    # L_i = sum over k > first_i of w_k r_k / (n - 1): a reverse cumulative sum, exclusive
    after = weighted.sum(1, keepdims=True) - np.cumsum(weighted, axis=1)
    ell = np.take_along_axis(after, first[..., None], axis=1) * valid[..., None] / (n - 1)
    meat = np.einsum("rij,rik->rjk", ell, ell)
    variance = (s_inv @ meat @ s_inv)[..., 1, 1] / h**2
    return beta[..., 1] / h, variance


def density_test(x, cutoff=0.0, bandwidth=None, order=2, kernel="triangular") -> DensityTest:
    """Test continuity of the density of `x` at `cutoff` (see the module's docstring).

    x: shape (n,) or (reps, n). bandwidth: one number, or (left, right). order: of the local
    polynomial fitted to the empirical CDF on each side (>= 1; rddensity's q).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must have shape (n,) or (reps, n), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("x must be finite (no NaN or infinity)")
    h = np.broadcast_to(np.asarray(bandwidth if bandwidth is not None else np.nan,
                                   dtype=float), (2,))
    if not (np.isfinite(h).all() and (h > 0).all()):
        raise ValueError(f"bandwidth must be a positive number or a pair, got {bandwidth!r}")
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be a whole number >= 1, got {order!r}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    one = x.ndim == 1
    xs = np.sort(np.atleast_2d(x), axis=1) - cutoff
    n = xs.shape[1]
    start = (xs < -h[0]).sum(1)
    split = (xs < 0).sum(1)
    stop = (xs <= h[1]).sum(1)
    n_left, n_right = split - start, stop - split
    fewest = int(min(n_left.min(), n_right.min()))
    if fewest <= order + 1:
        raise ValueError(f"only {fewest} observations within the bandwidth on one side of the "
                         f"cutoff; an order-{order} fit needs more than {order + 1}")
    f_left, v_left = _side(xs, start, split, h[0], n, order, kernel)
    f_right, v_right = _side(xs, split, stop, h[1], n, order, kernel)
    se_diff = np.sqrt(v_left + v_right)
    t = (f_right - f_left) / se_diff
    out = DensityTest(f_left, f_right, np.sqrt(v_left), np.sqrt(v_right), se_diff, t,
                      2 * stats.norm.sf(np.abs(t)), n_left, n_right)
    return DensityTest(*(a[0] for a in out)) if one else out
