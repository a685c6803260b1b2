"""ar1: the mean of a stationary AR(1) series; serial correlation the t-interval ignores.

e_1 ~ N(0, 1 / (1 - phi^2)) (the stationary distribution), e_t = phi e_{t-1} + z_t,
z_t ~ N(0, 1); target: the mean, 0.
"""

import math

import jax
import jax.numpy as jnp

from . import Param, Scenario
from ._ols import score


def draw(key, n, phi):
    z = jax.random.normal(key, (n,))
    first = z[0] / jnp.sqrt(1 - phi * phi)

    def step(previous, innovation):
        current = phi * previous + innovation
        return current, current

    _, rest = jax.lax.scan(step, first, z[1:])
    return jnp.concatenate([first[None], rest])


def maxlags(n: int) -> int:
    """The Newey-West rule of thumb L = floor(4 (n / 100)^(2/9)), at most n - 1."""
    return min(math.floor(4 * (n / 100) ** (2 / 9)), n - 1)


def hac_se(y, lags: int):
    """Newey-West standard error of the mean, as statsmodels' OLS(y, ones) with
    cov_type="HAC" (Bartlett weights 1 - l/(L + 1), no small-sample correction):
    sqrt(sum_t e_t^2 + 2 sum_l w_l sum_t e_t e_{t-l}) / n."""
    n = y.shape[0]
    e = y - jnp.mean(y)
    s = jnp.sum(e * e)
    for lag in range(1, lags + 1):
        s += 2 * (1 - lag / (lags + 1)) * jnp.sum(e[lag:] * e[:-lag])
    return jnp.sqrt(s) / n


def intervals(y, design) -> dict:
    """naive: y-bar -/+ t_{n-1} s / sqrt(n); HAC: y-bar -/+ z se_HAC."""
    n = design["n"]
    ybar = jnp.mean(y)
    half = {"naive": lambda: design.t_crit(n - 1) * jnp.std(y, ddof=1) / jnp.sqrt(n),
            "HAC": lambda: design.z_crit * hac_se(y, maxlags(n))}
    return {name: (ybar - half[name](), ybar + half[name]()) for name in design.procedures}


def replicate(key, target, params, *, dist, design):
    return score(intervals(draw(key, design["n"], params["phi"]), design), target)


SCENARIO = Scenario(
    name="ar1",
    description="stationary AR(1): e_t = phi e_(t-1) + z_t, z_t ~ N(0, 1); the mean",
    params=(Param("n", "length of the series", whole=True, low=2, repeat=True),
            Param("phi", "autocorrelation, |phi| < 1", low=-1, high=1, low_open=True,
                  high_open=True)),
    procedures=("naive", "HAC"),
    replicate=replicate,
    target=lambda p: 0.0,
    observations=lambda p: p["n"],
)
