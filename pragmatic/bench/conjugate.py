"""NumPy twins and statsmodels loops of the conjugate scenarios (lab 5): conjugate-mean and
conjugate-slope (`pragmatic.sim.scenarios._conjugate`).

Like the JAX kernel, a twin draws all of a replication's normals at once, prior_df + 1 for the
truth and then rows of n for the data, here for m replications at a time, and scores each
interval against that replication's own truth. The loop fits statsmodels' OLS for the estimate
and its residual sum of squares, and builds the four intervals from them with the same
formulas (statsmodels has no conjugate prior).
"""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
from scipy import special

from ..sim.scenarios import REGISTRY
from .regression import F32, LEVEL, Z_CRIT, ols_fit, t_crit


def truth(z, target, p):
    """(theta, sigma) per replication from prior_df + 1 normals per row, or (target, 1)."""
    nu0 = p["prior_df"]
    if not p["from_prior"]:
        return np.full(len(z), F32(target)), np.ones(len(z), F32)
    sigma = np.sqrt(F32(nu0) / np.sum(z[:, :nu0] ** 2, axis=1))
    return F32(p["prior_mean"]) + sigma * F32(p["prior_sd"]) * z[:, nu0], sigma


def posterior_intervals(estimate, information, rss, dof, sigma, p, procedures):
    """The four intervals of `_conjugate.posterior_intervals`, one row per replication."""
    k0, m0, nu0 = F32(1 / p["prior_sd"] ** 2), F32(p["prior_mean"]), p["prior_df"]
    kn = k0 + information
    centre = (k0 * m0 + information * estimate) / kn
    nun = nu0 + dof + 1
    s2n = (F32(nu0) + rss + k0 * information / kn * (estimate - m0) ** 2) / F32(nun)
    half = {"bayes-known": lambda: Z_CRIT * sigma / np.sqrt(kn),
            "z": lambda: Z_CRIT * sigma / np.sqrt(information),
            "bayes-nig": lambda: t_crit(nun) * np.sqrt(s2n / kn),
            "t": lambda: t_crit(dof) * np.sqrt(rss / F32(dof) / information)}
    mid = {"bayes-known": centre, "bayes-nig": centre, "z": estimate, "t": estimate}
    return {name: (mid[name] - half[name](), mid[name] + half[name]()) for name in procedures}


def draws(rng, m, p, rows, dtype=F32):
    nu0, n = p["prior_df"], p["n"]
    z = rng.standard_normal((m, nu0 + 1 + rows * n), dtype=dtype)
    return z[:, :nu0 + 1], z[:, nu0 + 1:].reshape(m, rows, n)


def mean_errors(z, p):
    """`conjugate_mean.errors` for each row: skewed, with outliers, then AR(1)."""
    s, f, phi = p["skew"], p["outliers"], F32(p["phi"])
    e = z[:, 0]
    if s > 0:
        s = F32(s)
        e = np.expm1(s * e - s * s / 2) / np.sqrt(np.expm1(s * s))
    wide = z[:, 1] < F32(special.ndtri(f))
    e = e * np.where(wide, F32(10), F32(1)) / np.sqrt(F32(1 - f + 100 * f))
    out = np.empty_like(e)
    out[:, 0] = e[:, 0]
    for t in range(1, e.shape[1]):
        out[:, t] = phi * out[:, t - 1] + np.sqrt(1 - phi * phi) * e[:, t]
    return out


def slope_data(z, beta, sigma, p):
    """`conjugate_slope.draw` for each row."""
    confounder, v, e = z[:, 0], z[:, 1], z[:, 2]
    x = confounder + v
    gamma = F32(p["gamma"])
    noise = np.exp(gamma * x - 2 * gamma * gamma) * e
    return x, beta[:, None] * x + F32(p["confounding"]) * confounder + sigma[:, None] * noise


def conjugate_mean_numpy(rng, m, p):
    z_truth, z = draws(rng, m, p, rows=2)
    theta, sigma = truth(z_truth, p["theta"], p)
    x = theta[:, None] + sigma[:, None] * mean_errors(z, p)
    xbar = x.mean(axis=1)
    rss = np.sum((x - xbar[:, None]) ** 2, axis=1)
    n = p["n"]
    return (posterior_intervals(xbar, F32(n), rss, n - 1, sigma, p,
                                REGISTRY["conjugate-mean"].procedures), {}, theta)


def conjugate_slope_numpy(rng, m, p):
    z_truth, z = draws(rng, m, p, rows=3)
    beta, sigma = truth(z_truth, p["beta"], p)
    x, y = slope_data(z, beta, sigma, p)
    slope, _, _, sxx, resid = ols_fit(x, y)
    return (posterior_intervals(slope, sxx, np.sum(resid * resid, axis=1), p["n"] - 2, sigma,
                                p, REGISTRY["conjugate-slope"].procedures), {}, beta)


def conjugate_mean_loop(rng, p):
    z_truth, z = draws(rng, 1, p, rows=2, dtype=np.float64)
    theta, sigma = truth(z_truth, p["theta"], p)
    x = (theta[:, None] + sigma[:, None] * mean_errors(z, p))[0]
    fit = sm.OLS(x, np.ones((len(x), 1))).fit(use_t=True)
    fit.conf_int(alpha=1 - LEVEL)
    posterior_intervals(fit.params[0], len(x), fit.ssr, len(x) - 1, sigma[0], p,
                        REGISTRY["conjugate-mean"].procedures)


def conjugate_slope_loop(rng, p):
    z_truth, z = draws(rng, 1, p, rows=3, dtype=np.float64)
    beta, sigma = truth(z_truth, p["beta"], p)
    x, y = (a[0] for a in slope_data(z, beta, sigma, p))
    fit = sm.OLS(y, sm.add_constant(x)).fit(use_t=True)
    fit.conf_int(alpha=1 - LEVEL)
    xc = x - x.mean()
    posterior_intervals(fit.params[1], xc @ xc, fit.ssr, len(x) - 2, sigma[0], p,
                        REGISTRY["conjugate-slope"].procedures)
