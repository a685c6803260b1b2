"""NumPy twins and statsmodels loops of the regression and time-series scenarios: ols-hetero,
cluster, omitted and ar1.

A twin draws a chunk of m datasets at once (arrays of shape (m, n)) from the same
data-generating process as the JAX kernel and builds the same intervals with the same formulas
(`pragmatic.sim.scenarios._ols` and each scenario's module), in float32. It returns
({procedure: (lower, upper)}, {extra output: values}, target), target None where it is the
scenario's fixed target. A loop runs one float64 dataset through statsmodels'
OLS(...).fit(cov_type=...), once per covariance type.
"""

from __future__ import annotations

import math

import numpy as np
import statsmodels.api as sm
from scipy import stats

from ..sim.scenarios import REGISTRY, ar1

LEVEL = 0.95
F32 = np.float32


def t_crit(df):
    return F32(stats.t.ppf((1 + LEVEL) / 2, df))


Z_CRIT = F32(stats.norm.ppf((1 + LEVEL) / 2))


def normal(rng, shape, dtype=F32):
    return rng.standard_normal(shape, dtype=dtype)


# --- least squares, one row per replication ---------------------------------------------------

def ols_fit(x, y):
    """Slope, intercept, centred x, S_xx and residuals of each row's line of y on x."""
    xbar = x.mean(axis=1, keepdims=True)
    xc = x - xbar
    sxx = np.sum(xc * xc, axis=1)
    slope = np.sum(xc * y, axis=1) / sxx
    intercept = y.mean(axis=1) - slope * xbar[:, 0]
    return slope, intercept, xc, sxx, y - intercept[:, None] - slope[:, None] * x


def classical_se(xc, sxx, resid):
    return np.sqrt(np.sum(resid * resid, axis=1) / F32(xc.shape[1] - 2) / sxx)


def hc_se(xc, sxx, resid, kind):
    e2 = resid * resid
    if kind == "HC3":
        leverage = F32(1 / xc.shape[1]) + xc * xc / sxx[:, None]
        e2 = e2 / (1 - leverage) ** 2
    return np.sqrt(np.sum(xc * xc * e2, axis=1)) / sxx


def slope_intervals(x, y, procedures):
    slope, _, xc, sxx, resid = ols_fit(x, y)
    crit = t_crit(x.shape[1] - 2)
    se = {"classical": lambda: classical_se(xc, sxx, resid),
          "bayes-flat": lambda: classical_se(xc, sxx, resid),
          "HC0": lambda: hc_se(xc, sxx, resid, "HC0"),
          "HC3": lambda: hc_se(xc, sxx, resid, "HC3")}
    return {name: (slope - crit * se[name](), slope + crit * se[name]()) for name in procedures}


# --- ols-hetero --------------------------------------------------------------------------------

def ols_hetero_numpy(rng, m, p):
    x = normal(rng, (m, p["n"]))
    y = 1 + 2 * x + np.exp(F32(p["gamma"]) * x) * normal(rng, (m, p["n"]))
    return slope_intervals(x, y, REGISTRY["ols-hetero"].procedures), {}, None


def ols_hetero_loop(rng, p):
    x = rng.standard_normal(p["n"])
    y = 1 + 2 * x + np.exp(p["gamma"] * x) * rng.standard_normal(p["n"])
    model = sm.OLS(y, sm.add_constant(x))
    for cov in ("nonrobust", "HC0", "HC3"):  # bayes-flat is the nonrobust interval
        model.fit(cov_type=cov, use_t=True).conf_int(alpha=1 - LEVEL)


# --- cluster -----------------------------------------------------------------------------------

def cluster_numpy(rng, m, p):
    g, size, icc = p["groups"], p["size"], F32(p["icc"])
    x_g = normal(rng, (m, g))
    u_g = np.sqrt(icc) * normal(rng, (m, g))
    e = np.sqrt(1 - icc) * normal(rng, (m, g, size))
    x = np.repeat(x_g, size, axis=1)
    y = 1 + F32(0.5) * x + np.repeat(u_g, size, axis=1) + e.reshape(m, -1)
    slope, _, xc, sxx, resid = ols_fit(x, y)
    n = g * size
    scores = np.sum((xc * resid).reshape(m, g, size), axis=2)
    cr1 = np.sqrt(F32(g / (g - 1) * (n - 1) / (n - 2)) * np.sum(scores * scores, axis=1)) / sxx
    se = {"naive": (classical_se(xc, sxx, resid), t_crit(n - 2)), "CR1": (cr1, t_crit(g - 1))}
    return {name: (slope - c * s, slope + c * s) for name, (s, c) in se.items()}, {}, None


def cluster_loop(rng, p):
    g, size, icc = p["groups"], p["size"], p["icc"]
    x = np.repeat(rng.standard_normal(g), size)
    y = (1 + 0.5 * x + np.repeat(math.sqrt(icc) * rng.standard_normal(g), size)
         + math.sqrt(1 - icc) * rng.standard_normal(g * size))
    model = sm.OLS(y, sm.add_constant(x))
    model.fit(use_t=True).conf_int(alpha=1 - LEVEL)
    groups = np.repeat(np.arange(g), size)
    model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True).conf_int(alpha=1 - LEVEL)


# --- ar1 ---------------------------------------------------------------------------------------

def ar1_series(rng, m, n, phi, dtype=F32):
    z = normal(rng, (m, n), dtype)
    y = np.empty_like(z)
    y[:, 0] = z[:, 0] / np.sqrt(1 - phi * phi)
    for t in range(1, n):
        y[:, t] = phi * y[:, t - 1] + z[:, t]
    return y


def ar1_numpy(rng, m, p):
    n = p["n"]
    y = ar1_series(rng, m, n, F32(p["phi"]))
    ybar = y.mean(axis=1)
    e = y - ybar[:, None]
    s = np.sum(e * e, axis=1)
    lags = ar1.maxlags(n)
    for lag in range(1, lags + 1):
        s += F32(2 * (1 - lag / (lags + 1))) * np.sum(e[:, lag:] * e[:, :-lag], axis=1)
    half = {"naive": t_crit(n - 1) * y.std(axis=1, ddof=1) / F32(math.sqrt(n)),
            "HAC": Z_CRIT * np.sqrt(s) / F32(n)}
    return {name: (ybar - h, ybar + h) for name, h in half.items()}, {}, None


def ar1_loop(rng, p):
    y = ar1_series(rng, 1, p["n"], p["phi"], dtype=np.float64)[0]
    ones = np.ones((p["n"], 1))
    sm.OLS(y, ones).fit(use_t=True).conf_int(alpha=1 - LEVEL)
    sm.OLS(y, ones).fit(cov_type="HAC", cov_kwds={"maxlags": ar1.maxlags(p["n"])},
                        use_t=False).conf_int(alpha=1 - LEVEL)


# --- omitted -----------------------------------------------------------------------------------

def omitted_draw(rng, m, n, c, dtype=F32):
    z = normal(rng, (m, n), dtype)
    x = z + normal(rng, (m, n), dtype)
    y = 1 + x + dtype(c) * z + normal(rng, (m, n), dtype)
    return x, y, z


def prior_interval(slope, sxx, rss, n, weight, crit):
    """omitted's bayes-prior interval (`pragmatic.sim.scenarios.omitted.prior_interval`)."""
    k = 2 * weight
    centre = (sxx * slope + k) / (sxx + k)
    q = rss + sxx * k / (sxx + k) * (slope - 1) ** 2
    scale = np.sqrt(q / ((n - 1) * (sxx + k)))
    return centre - crit * scale, centre + crit * scale


def omitted_numpy(rng, m, p):
    n, c = p["n"], p["confounding"]
    x, y, z = omitted_draw(rng, m, n, c)
    x_new, y_new, z_new = omitted_draw(rng, m, n, c)
    procedures = REGISTRY["omitted"].procedures
    intervals = slope_intervals(x, y, [q for q in procedures if q != "bayes-prior"])
    slope, intercept, _, sxx, resid = ols_fit(x, y)
    if "bayes-prior" in procedures:
        intervals["bayes-prior"] = prior_interval(slope, sxx, np.sum(resid * resid, axis=1), n,
                                                  F32(p["prior_weight"]), t_crit(n - 1))
    short = np.mean((y_new - intercept[:, None] - slope[:, None] * x_new) ** 2, axis=1)
    X = np.stack([np.ones_like(x), x, z], axis=2)  # (m, n, 3)
    Xt = X.transpose(0, 2, 1)
    beta = np.linalg.solve(Xt @ X, Xt @ y[:, :, None])
    X_new = np.stack([np.ones_like(x_new), x_new, z_new], axis=2)
    correct = np.mean((y_new - (X_new @ beta)[:, :, 0]) ** 2, axis=1)
    return intervals, {"heldout_mse_short": short, "heldout_mse_correct": correct,
                       "short_slope": slope}, None


def omitted_loop(rng, p):
    n, c = p["n"], p["confounding"]
    (x, y, z), (x_new, y_new, z_new) = (omitted_draw(rng, 1, n, c, np.float64) for _ in "ab")
    x, y, z, x_new, y_new, z_new = (a[0] for a in (x, y, z, x_new, y_new, z_new))
    short = sm.OLS(y, sm.add_constant(x))
    for cov in ("nonrobust", "HC3"):  # bayes-flat is the nonrobust interval
        short.fit(cov_type=cov, use_t=True).conf_int(alpha=1 - LEVEL)
    fit = short.fit()
    xc = x - x.mean()
    prior_interval(fit.params[1], xc @ xc, fit.ssr, n, p["prior_weight"],
                   stats.t.ppf((1 + LEVEL) / 2, n - 1))  # no statsmodels for a conjugate prior
    np.mean((y_new - fit.predict(sm.add_constant(x_new))) ** 2)
    long = sm.OLS(y, np.column_stack([np.ones(n), x, z])).fit()
    np.mean((y_new - long.predict(np.column_stack([np.ones(n), x_new, z_new]))) ** 2)
