"""omitted: a confounder left out of the regression; the slope's intervals miss the causal
effect, while the short model still predicts well.

z ~ N(0, 1), x = z + v, v ~ N(0, 1), y = 1 + x + C z + e, e ~ N(0, 1); y is regressed on x
alone; target: the causal effect of x, 1. The short slope estimates 1 + C/2.
"""

import jax
import jax.numpy as jnp

from . import Param, Scenario
from ._ols import ols_fit, score, slope_intervals


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
    k_data, k_new = jax.random.split(key)
    n, c = design["n"], params["confounding"]
    x, y, z = draw(k_data, n, c)
    out = score(slope_intervals(x, y, design, design.procedures), target)
    short, correct = heldout_mse(x, y, z, *draw(k_new, n, c))
    out["extra"] = {"heldout_mse_short": short, "heldout_mse_correct": correct}
    return out


SCENARIO = Scenario(
    name="omitted",
    description="z ~ N(0, 1), x = z + v, y = 1 + x + confounding z + e; slope of y on x alone",
    # n >= 5: the held-out MSE of the correct model (3 coefficients) has a finite mean only
    # for n > 4 (its expected value has n - 4 in the denominator).
    params=(Param("n", "observations per dataset", whole=True, low=5, repeat=True),
            Param("confounding", "C: the effect of the omitted z on y", low=-10, high=10)),
    procedures=("classical", "HC3", "bayes-flat"),
    replicate=replicate,
    target=lambda p: 1.0,
    observations=lambda p: p["n"],
    extra_doc=(("heldout_mse_short", "mean over replications of the mean squared error of the "
                "short model (y on x), fitted on the replication's data, on a fresh draw of n "
                "points; population value 1 + C^2/2 plus estimation error"),
               ("heldout_mse_correct", "the same for the correct model (y on x and z); "
                "population value 1 plus estimation error")),
)
