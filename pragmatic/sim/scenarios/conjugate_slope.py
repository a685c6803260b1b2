"""conjugate-slope: the slope of a straight line, with conjugate posterior intervals (a normal
prior on the slope, a flat prior on the intercept; sigma known, or sigma^2 with its
scaled-inverse-chi^2 prior) beside their twins z and t, the classical interval (lab 5).

z ~ N(0, 1), x = z + v, v ~ N(0, 1), y = beta x + confounding z + sigma exp(gamma x - 2 gamma^2) e,
e ~ N(0, 1): the noise has mean square sigma^2 whatever gamma; y is regressed on x alone (with
an intercept), so confounding biases the slope by confounding / 2. (beta, sigma) are fixed at
(beta, 1), or drawn from the prior in every replication (from_prior = 1). Target: beta.
"""

import jax.numpy as jnp

from . import Param, _conjugate
from ._ols import ols_fit


def draw(z, beta, sigma, params):
    """x and y from standard normals z (3 rows of n): a line through 0 with slope beta, noise
    whose sd grows with x when gamma != 0, and a confounder that drives both x and y."""
    confounder, v, e = z
    x = confounder + v
    gamma = params["gamma"]
    noise = jnp.exp(gamma * x - 2 * gamma * gamma) * e  # mean square 1
    return x, beta * x + params["confounding"] * confounder + sigma * noise


def statistics(z, beta, sigma, params):
    """The data, summarised for `posterior_intervals`: the least-squares slope of y on x, its
    information S_xx, the residual sum of squares and its degrees of freedom."""
    x, y = draw(z, beta, sigma, params)
    slope, _, _, sxx, resid = ols_fit(x, y)
    return slope, sxx, jnp.sum(resid * resid), x.shape[0] - 2


SCENARIO = _conjugate.scenario(
    "conjugate-slope",
    "z ~ N(0, 1), x = z + v, y = beta x + confounding z + sigma exp(gamma x - 2 gamma^2) e; "
    "slope of y on x alone; beta, or (beta, sigma) drawn from the prior (--from-prior 1)",
    Param("n", "observations per dataset", whole=True, low=3, repeat=True),
    Param("beta", "the true slope when from_prior = 0", default=0.0, low=-1e6, high=1e6),
    (Param("gamma", "heteroskedasticity: the noise sd is proportional to exp(gamma x)",
           default=0.0, low=-2, high=2),
     Param("confounding", "the effect on y of z, which drives x and is left out", default=0.0,
           low=-10, high=10)),
    statistics, rows=3)
