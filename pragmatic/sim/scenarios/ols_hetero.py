"""ols-hetero: a straight line whose noise grows with x; the slope's intervals.

x ~ N(0, 1), y = 1 + 2x + exp(gamma x) e, e ~ N(0, 1); target: the slope, 2. gamma = 0 is the
homoskedastic control.
"""

import jax
import jax.numpy as jnp

from . import Param, Scenario
from ._ols import score, slope_intervals


def draw(key, n, gamma):
    k_x, k_e = jax.random.split(key)
    x = jax.random.normal(k_x, (n,))
    y = 1 + 2 * x + jnp.exp(gamma * x) * jax.random.normal(k_e, (n,))
    return x, y


def replicate(key, target, params, *, dist, design):
    x, y = draw(key, design["n"], params["gamma"])
    return score(slope_intervals(x, y, design, design.procedures), target)


SCENARIO = Scenario(
    name="ols-hetero",
    description="x ~ N(0, 1), y = 1 + 2x + exp(gamma x) e, e ~ N(0, 1); slope of y on x",
    params=(Param("n", "observations per dataset", whole=True, low=3, repeat=True),
            Param("gamma", "heteroskedasticity: sd of the noise is exp(gamma x)",
                  low=-5, high=5)),
    procedures=("classical", "HC0", "HC3", "bayes-flat"),
    replicate=replicate,
    target=lambda p: 2.0,
    observations=lambda p: p["n"],
)
