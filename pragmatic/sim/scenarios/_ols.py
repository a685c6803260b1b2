"""Shared kernel code of the regression scenarios: the slope of y on x (with an intercept) and
its standard errors, as statsmodels computes them, written out for one dataset.

With x centred (x_c = x - x-bar, S_xx = sum x_c^2), the slope's row of (X'X)^-1 X' is
x_c / S_xx, so each sandwich variance of the slope is a weighted sum of squared residuals.
"""

from __future__ import annotations

import jax.numpy as jnp


def ols_fit(x, y):
    """Slope, intercept, centred x, S_xx and residuals of the least-squares line of y on x."""
    xc = x - jnp.mean(x)
    sxx = jnp.sum(xc * xc)
    slope = jnp.sum(xc * y) / sxx
    intercept = jnp.mean(y) - slope * jnp.mean(x)
    return slope, intercept, xc, sxx, y - intercept - slope * x


def classical_se(xc, sxx, resid):
    """sqrt(s^2 / S_xx), s^2 = RSS / (n - 2): the homoskedastic standard error."""
    n = xc.shape[0]
    return jnp.sqrt(jnp.sum(resid * resid) / (n - 2) / sxx)


def hc_se(xc, sxx, resid, kind: str):
    """White's HC0 (e_i^2) or HC3 (e_i^2 / (1 - h_i)^2, h_i = 1/n + x_c,i^2 / S_xx)."""
    e2 = resid * resid
    if kind == "HC3":
        leverage = 1 / xc.shape[0] + xc * xc / sxx
        e2 = e2 / (1 - leverage) ** 2
    return jnp.sqrt(jnp.sum(xc * xc * e2)) / sxx


def slope_intervals(x, y, design, procedures) -> dict:
    """{procedure: (lower, upper)} for the slope; t critical values with n - 2 d.f.

    bayes-flat: under the flat prior p(beta, log sigma) = const on the normal homoskedastic
    model, the slope's marginal posterior is beta-hat + se * t_{n-2} (se the classical standard
    error), so its equal-tailed posterior interval *is* the classical t-interval.
    """
    slope, _, xc, sxx, resid = ols_fit(x, y)
    crit = design.t_crit(x.shape[0] - 2)
    se = {"classical": lambda: classical_se(xc, sxx, resid),
          "bayes-flat": lambda: classical_se(xc, sxx, resid),
          "HC0": lambda: hc_se(xc, sxx, resid, "HC0"),
          "HC3": lambda: hc_se(xc, sxx, resid, "HC3")}
    return {name: (slope - crit * se[name](), slope + crit * se[name]()) for name in procedures}


def score(intervals: dict, target) -> dict:
    """{procedure: (miss_low, miss_high, width, degenerate)} of each interval."""
    return {name: (upper < target, lower > target, upper - lower, False)
            for name, (lower, upper) in intervals.items()}
