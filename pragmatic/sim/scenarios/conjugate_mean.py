"""conjugate-mean: the mean of n observations, with conjugate posterior intervals (normal prior,
sigma known; normal-inverse-gamma prior, sigma unknown) beside their twins z and t (lab 5).

x_i = theta + sigma e_i, the errors e_i with mean 0 and variance 1: normal, or lognormal-shaped
(skew > 0), or with outliers (a fraction from a normal 10 times wider), and AR(1) with
autocorrelation phi. (theta, sigma) are fixed at (theta, 1), or drawn from the prior in every
replication (from_prior = 1). Target: theta.
"""

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from . import Param, _conjugate


def errors(z, params):
    """Errors with mean 0 and variance 1, from standard normals z (2 rows of n): normal;
    lognormal-shaped if skew > 0 (skew is the sd of the log); a fraction `outliers` of them
    from a normal 10 times wider; then AR(1) with autocorrelation phi."""
    s, f, phi = params["skew"], params["outliers"], params["phi"]
    s1 = jnp.where(s > 0, s, 1.0)  # (avoids 0 / 0 at skew = 0)
    e = jnp.where(s > 0, jnp.expm1(s1 * z[0] - s1 * s1 / 2) / jnp.sqrt(jnp.expm1(s1 * s1)), z[0])
    wide = z[1] < ndtri(f)  # probability f
    e = e * jnp.where(wide, 10.0, 1.0) / jnp.sqrt(1 - f + 100 * f)

    def step(previous, innovation):
        current = phi * previous + jnp.sqrt(1 - phi * phi) * innovation
        return current, current

    _, rest = jax.lax.scan(step, e[0], e[1:])
    return jnp.concatenate([e[:1], rest])


def statistics(z, theta, sigma, params):
    """The data x = theta + sigma e, summarised for `posterior_intervals`: x-bar, its information
    n, the sum of squares about x-bar and its degrees of freedom."""
    x = theta + sigma * errors(z, params)
    xbar, n = jnp.mean(x), x.shape[0]
    return xbar, n, jnp.sum((x - xbar) ** 2), n - 1


SCENARIO = _conjugate.scenario(
    "conjugate-mean",
    "x_i = theta + sigma e_i, e_i normal, skewed (--skew), with outliers (--outliers) or AR(1) "
    "(--phi); theta, or (theta, sigma) drawn from the prior (--from-prior 1)",
    Param("n", "sample size", whole=True, low=2, repeat=True),
    Param("theta", "the true mean when from_prior = 0", default=0.0, low=-1e6, high=1e6),
    (Param("skew", "sd of the log of lognormal-shaped errors; 0: normal", default=0.0, low=0,
           high=2),
     Param("outliers", "fraction of the errors drawn from a normal 10 times wider", default=0.0,
           low=0, high=1),
     Param("phi", "AR(1) autocorrelation of the errors", default=0.0, low=-1, high=1,
           low_open=True, high_open=True)),
    statistics, rows=2)
