"""omitted: a confounder left out of the regression; the slope's intervals miss the causal
effect, while the short model still predicts well.

z ~ N(0, 1), x = z + v, v ~ N(0, 1), y = 1 + x + C z + e, e ~ N(0, 1); y is regressed on x
alone; target: the causal effect of x, 1. The short slope estimates 1 + C/2.

Two routes (see `Scenario`):

- **raw** (`replicate`) draws the data. Up to `BLOCK` observations it draws them all at once;
  above that it draws them in blocks of `BLOCK` from the keys fold_in(key, block), in two
  passes (means and scatter matrix first, then residuals, HC3's weighted sum and the held-out
  errors from the same blocks drawn again), so that memory does not grow with n.
- **sufficient** (`replicate_sufficient`) draws what the classical and flat-prior Bayesian
  intervals depend on, the sample means and the scatter matrix of (x, z, y), directly:
  a replication costs the same at n = 10^9 as at n = 10^2. HC3 needs the data: raw only.
"""

import math

import jax
import jax.numpy as jnp

from . import Param, Scenario
from ._ols import ols_fit, score, slope_intervals

BLOCK = 2**13  # the raw route draws more observations than this in blocks of this many
HIGHEST = jax.lax.Precision.HIGHEST  # full float32 products on every device (no TF32)
PRIOR = "bayes-prior"  # the interval under an informative prior (`prior_interval`)


def draw(key, n, confounding):
    k_z, k_v, k_e = jax.random.split(key, 3)
    z = jax.random.normal(k_z, (n,))
    x = z + jax.random.normal(k_v, (n,))
    y = 1 + x + confounding * z + jax.random.normal(k_e, (n,))
    return x, y, z


def heldout_mse(x, y, z, x_new, y_new, z_new):
    """Mean squared prediction error on fresh data of the short model (y on x) and of the
    correct one (y on x and z), each fitted by least squares on (x, y, z)."""
    slope, intercept, *_ = ols_fit(x, y)
    short = jnp.mean((y_new - intercept - slope * x_new) ** 2)
    X = jnp.stack([jnp.ones_like(x), x, z], axis=1)
    beta = jnp.linalg.solve(X.T @ X, X.T @ y)
    X_new = jnp.stack([jnp.ones_like(x_new), x_new, z_new], axis=1)
    correct = jnp.mean((y_new - X_new @ beta) ** 2)
    return short, correct


def replicate(key, target, params, *, dist, design):
    """The raw route: draw n observations (in blocks above BLOCK) and n fresh ones."""
    if design["n"] > BLOCK:
        return replicate_blocks(key, target, params, dist=dist, design=design)
    k_data, k_new = jax.random.split(key)
    n, c = design["n"], params["confounding"]
    x, y, z = draw(k_data, n, c)
    intervals = slope_intervals(x, y, design, [p for p in design.procedures if p != PRIOR])
    slope, _, _, sxx, resid = ols_fit(x, y)
    if PRIOR in design.procedures:
        intervals[PRIOR] = prior_interval(slope, sxx, jnp.sum(resid * resid), n,
                                          params["prior_weight"], design.t_crit(n - 1))
    out = score(intervals, target)
    short, correct = heldout_mse(x, y, z, *draw(k_new, n, c))
    out["extra"] = {"heldout_mse_short": short, "heldout_mse_correct": correct,
                    "short_slope": slope}
    return out


# --- an informative prior ---------------------------------------------------------------------


def prior_interval(slope, sxx, rss, n, weight, crit):
    """The 95 % (or `level`) equal-tailed posterior interval of the short model's slope under a
    conjugate prior centred on the true causal effect, 1.

    Model: y = a + b x + e, e ~ N(0, s^2); prior: flat in a and log s, and b | s ~
    N(1, s^2 / k) with k = 2 * weight: the information about b in `weight` observations of x
    (Var x = 2). Completing the square, S_xx (b - b-hat)^2 + k (b - 1)^2 =
    (S_xx + k)(b - m)^2 + S_xx k (b-hat - 1)^2 / (S_xx + k), with
    m = (S_xx b-hat + k) / (S_xx + k); integrating out a and s leaves b ~ m + scale t_{n-1},
    scale^2 = Q / ((n - 1)(S_xx + k)), Q = RSS + S_xx k (b-hat - 1)^2 / (S_xx + k).
    (n - 1 degrees of freedom, not n - 2: the prior on b given s carries one more factor
    1/s.) As n grows, S_xx grows like 2n, m tends to b-hat and the interval to the classical
    one: the prior's weight stays `weight` observations while the data's grows.
    """
    k = 2 * weight
    m = (sxx * slope + k) / (sxx + k)
    q = rss + sxx * k / (sxx + k) * (slope - 1) ** 2
    scale = jnp.sqrt(q / ((n - 1) * (sxx + k)))
    return m - crit * scale, m + crit * scale


# --- the raw route in blocks ------------------------------------------------------------------

def draw_block(key, j, n, confounding):
    """Block j of n observations: BLOCK draws from fold_in(key, j), and which of them are real
    (the last block is cut off at n)."""
    x, y, z = draw(jax.random.fold_in(key, j), BLOCK, confounding)
    return x, y, z, jnp.arange(BLOCK) < n - j * BLOCK


def moments_in_blocks(key, n, confounding):
    """The sample means and the scatter matrix sum (w_i - w-bar)(w_i - w-bar)^T of
    w = (x, z, y), one block at a time: each block's own means and centred scatter, merged
    into the running ones by Chan, Golub and LeVeque's update, so that no sum of squares about
    zero, which would cancel in float32, is ever formed."""
    def merge(carry, j):
        count, mean, scatter = carry
        x, y, z, real = draw_block(key, j, n, confounding)
        w, m = jnp.stack([x, z, y]), real.astype(x.dtype)  # observations along the last axis
        k = jnp.sum(m)
        block_mean = jnp.sum(w * m, axis=1) / k
        d = (w - block_mean[:, None]) * m
        delta, total = block_mean - mean, count + k
        # sums along the last axis, as the unblocked route's, not a matrix product or a sum
        # along the first axis (both accumulate one observation at a time, losing digits)
        block_scatter = jnp.sum(d[:, None, :] * d[None, :, :], axis=2)
        scatter = scatter + block_scatter + jnp.outer(delta, delta) * (count * k / total)
        return (total, mean + delta * (k / total), scatter), None

    start = (jnp.zeros(()), jnp.zeros(3), jnp.zeros((3, 3)))
    (_, mean, scatter), _ = jax.lax.scan(merge, start, jnp.arange(-(-n // BLOCK)))
    return mean, scatter


def fit_in_blocks(k_data, k_new, n, confounding):
    """Everything the raw route reports, for n > BLOCK, in two passes over the blocks.

    Pass 1: means and scatter matrix, hence both fits. Pass 2, the same blocks drawn again:
    the short model's residual sum of squares and HC3's sum of x_c^2 e^2 / (1 - h)^2
    (h = 1/n + x_c^2 / S_xx), which need the fitted line, and the squared prediction errors of
    both models on n fresh observations drawn block by block from k_new. Returns the short
    slope, S_xx, the residual sum of squares, HC3's sum, and both held-out MSEs.
    """
    mean, s = moments_in_blocks(k_data, n, confounding)
    sxx = s[0, 0]
    slope = s[0, 2] / sxx
    intercept = mean[2] - slope * mean[0]
    # the correct model: y on x and z, from the 2 x 2 system of the scatter matrix
    det = s[0, 0] * s[1, 1] - s[0, 1] ** 2
    b_x = (s[1, 1] * s[0, 2] - s[0, 1] * s[1, 2]) / det
    b_z = (s[0, 0] * s[1, 2] - s[0, 1] * s[0, 2]) / det
    a = mean[2] - b_x * mean[0] - b_z * mean[1]

    def add(sums, j):
        x, y, z, real = draw_block(k_data, j, n, confounding)
        m = real.astype(x.dtype)
        xc, e = x - mean[0], y - intercept - slope * x
        leverage = 1 / n + xc * xc / sxx
        x2, y2, z2, _ = draw_block(k_new, j, n, confounding)
        terms = jnp.stack([e * e, xc * xc * e * e / (1 - leverage) ** 2,
                           (y2 - intercept - slope * x2) ** 2,
                           (y2 - a - b_x * x2 - b_z * z2) ** 2])
        return sums + jnp.sum(terms * m, axis=1), None

    sums, _ = jax.lax.scan(add, jnp.zeros(4), jnp.arange(-(-n // BLOCK)))
    rss, hc3, short, correct = sums
    return slope, sxx, rss, hc3, short / n, correct / n


def replicate_blocks(key, target, params, *, dist, design):
    """The raw route for n > BLOCK: the same intervals and held-out errors as `replicate`,
    with memory bounded by BLOCK observations per replication."""
    k_data, k_new = jax.random.split(key)
    n = design["n"]
    slope, sxx, rss, hc3, short, correct = fit_in_blocks(k_data, k_new, n,
                                                         params["confounding"])
    se = {"classical": jnp.sqrt(rss / (n - 2) / sxx), "bayes-flat": jnp.sqrt(rss / (n - 2) / sxx),
          "HC3": jnp.sqrt(hc3) / sxx}
    crit = design.t_crit(n - 2)
    intervals = {p: (slope - crit * se[p], slope + crit * se[p])
                 for p in design.procedures if p != PRIOR}
    if PRIOR in design.procedures:
        intervals[PRIOR] = prior_interval(slope, sxx, rss, n, params["prior_weight"],
                                          design.t_crit(n - 1))
    out = score(intervals, target)
    out["extra"] = {"heldout_mse_short": short, "heldout_mse_correct": correct,
                    "short_slope": slope}
    return out


# --- the sufficient route ---------------------------------------------------------------------

def cholesky(confounding):
    """L (lower triangular) with L L^T = Cov(x, z, y): with g1, g2, g3 independent N(0, 1),
    x = sqrt(2) g1, z = (g1 + g2)/sqrt(2), y - 1 = ((2 + C) g1 + C g2)/sqrt(2) + g3."""
    r, c = 1 / math.sqrt(2), confounding
    return jnp.array([[math.sqrt(2), 0.0, 0.0], [r, r, 0.0], [(2 + c) * r, c * r, 1.0]])


def draw_sufficient(key, n, confounding):
    """The sufficient statistics of n draws of w = (x, z, y), drawn without the data.

    The sample mean is N(mu, Sigma/n), independent of the scatter matrix
    S = sum (w_i - w-bar)(w_i - w-bar)^T, which is Wishart(n - 1, Sigma). Bartlett's
    decomposition draws S: with Sigma = L L^T and A lower triangular with independent
    A_jj^2 ~ chi2(n - j), j = 1, 2, 3, and A_jk ~ N(0, 1) below the diagonal, S = M M^T
    with M = L A, the Cholesky factor of S. Returns w-bar - mu, L and A.
    """
    k_mean, k_chi2, k_below = jax.random.split(key, 3)
    L = cholesky(confounding)
    mean_error = jnp.dot(L, jax.random.normal(k_mean, (3,)), precision=HIGHEST) / jnp.sqrt(n)
    df = n - jnp.arange(1, 4, dtype=jnp.float32)  # n - 1, n - 2, n - 3
    chi2 = 2 * jax.random.gamma(k_chi2, df / 2)  # chi2(k) is 2 Gamma(k/2)
    A = jnp.diag(jnp.sqrt(chi2)) + jnp.tril(jax.random.normal(k_below, (3, 3)), -1)
    return mean_error, L, A


def replicate_sufficient(key, target, params, *, dist, design, draw=draw_sufficient):
    """The sufficient route: the classical (= flat-prior Bayesian) interval of the short slope
    from the Cholesky factor M of the scatter matrix. S_xx = M_11^2 and S_xy = M_31 M_11, so
    the slope S_xy / S_xx is M_31 / M_11, and the residual sum of squares
    S_yy - S_xy^2 / S_xx is M_32^2 + M_33^2: a sum of squares, with no cancellation.
    n and the critical value t_{n-2} arrive in `params` as numbers (`sufficient_inputs`), so
    one compilation serves every n. (In float32 the held-out errors' estimation part, of order
    1/n, is lost beside 1 once n is beyond about 10^7.)"""
    n, c, crit = params["n"], params["confounding"], params["t_crit"]
    mean_error, L, A = draw(key, n, c)
    M = jnp.dot(L, A, precision=HIGHEST)
    slope = M[2, 0] / M[0, 0]
    rss = M[2, 1] ** 2 + M[2, 2] ** 2
    se = jnp.sqrt(rss / (n - 2)) / M[0, 0]
    lower, upper = slope - crit * se, slope + crit * se
    # the width as 2 crit se: upper - lower would round it to the ends' float32 spacing
    out = {p: (upper < target, lower > target, 2 * crit * se, False)
           for p in design.procedures if p != PRIOR}
    if PRIOR in design.procedures:
        lower, upper = prior_interval(slope, M[0, 0] ** 2, rss, n, params["prior_weight"],
                                      params["t_crit_prior"])
        out[PRIOR] = (upper < target, lower > target, upper - lower, False)
    out["extra"] = {**expected_heldout_mse(mean_error, L, A, slope, c), "short_slope": slope}
    return out


def expected_heldout_mse(mean_error, L, A, slope, confounding):
    """The expected squared error of each fitted model on a fresh draw (x, z, y) from the
    theoretical world, given its fitted coefficients: the raw route's held-out MSE averages n
    such errors, so the two have the same mean over replications.

    For a fitted line a + b x: E(y - a - b x)^2 = (a - 1)^2 + Var(y - b x)
    = (a - 1)^2 + Var(y | x) + Var(x)(b - beta)^2, with beta = Cov(x, y)/Var(x) = 1 + C/2 and
    Var(y | x) = L_32^2 + L_33^2 = 1 + C^2/2. In Bartlett's terms b - beta is exactly
    (L_32 A_21 + L_33 A_31)/(L_11 A_11), and a - 1 = (y-bar - 1) - b x-bar.
    For the correct model a + b_x x + b_z z: E(...)^2 = (a - 1)^2 + Var(e)
    + (b - beta)^T Cov(x, z) (b - beta) with beta = (1, C), Var(e) = L_33^2 = 1, and
    L_t^T (b - beta) = u := L_33 A_t^{-T} (A_31, A_32)^T (L_t, A_t the top-left 2 x 2 blocks),
    so the last term is u^T u.
    """
    dx, dz, dy = mean_error
    b_error = (L[2, 1] * A[1, 0] + L[2, 2] * A[2, 0]) / (L[0, 0] * A[0, 0])
    short = (dy - slope * dx) ** 2 + L[2, 1] ** 2 + L[2, 2] ** 2 + (L[0, 0] * b_error) ** 2
    # u solves A_t^T u = L_33 (A_31, A_32); then L_t^T (b - beta) = u
    u2 = L[2, 2] * A[2, 1] / A[1, 1]
    u1 = (L[2, 2] * A[2, 0] - A[1, 0] * u2) / A[0, 0]
    bz_error = u2 / L[1, 1]
    bx_error = (u1 - L[1, 0] * bz_error) / L[0, 0]
    a_error = dy - (1 + bx_error) * dx - (confounding + bz_error) * dz
    correct = a_error ** 2 + L[2, 2] ** 2 * (1 + u1 ** 2 + u2 ** 2)
    return {"heldout_mse_short": short, "heldout_mse_correct": correct}


SCENARIO = Scenario(
    name="omitted",
    description="z ~ N(0, 1), x = z + v, y = 1 + x + confounding z + e; slope of y on x alone",
    # n >= 5: the held-out MSE of the correct model (3 coefficients) has a finite mean only
    # for n > 4 (its expected value has n - 4 in the denominator).
    params=(Param("n", "observations per dataset", whole=True, low=5, repeat=True),
            Param("confounding", "C: the effect of the omitted z on y", low=-10, high=10),
            Param("prior_weight", "bayes-prior: the slope's normal prior, centred on the true "
                  "effect 1, holds as much information as this many observations",
                  default=100.0, low=0, low_open=True)),
    procedures=("classical", "HC3", "bayes-flat", PRIOR),
    replicate=replicate,
    target=lambda p: 1.0,
    observations=lambda p: p["n"],
    extra_doc=(("heldout_mse_short", "mean over replications of the mean squared error of the "
                "short model (y on x), fitted on the replication's data, on a fresh draw of n "
                "points (sufficient route: its expectation given the fit, in closed form); "
                "population value 1 + C^2/2 plus estimation error"),
               ("heldout_mse_correct", "the same for the correct model (y on x and z); "
                "population value 1 plus estimation error"),
               ("short_slope", "mean over replications of the short model's slope, the centre "
                "of the classical interval; expected value 1 + C/2")),
    sufficient=replicate_sufficient,
    sufficient_procedures=("classical", "bayes-flat", PRIOR),
    sufficient_inputs=lambda p, design: {"n": p["n"], "t_crit": design.t_crit(p["n"] - 2),
                                         "t_crit_prior": design.t_crit(p["n"] - 1)},
)
