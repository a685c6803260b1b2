"""cluster: a regressor that is constant within clusters, and errors correlated within them.

G clusters of M; x_g ~ N(0, 1), u_g ~ N(0, icc), e ~ N(0, 1 - icc), y = 1 + 0.5 x_g + u_g + e,
so icc is the intra-cluster correlation of the errors; target: the slope, 0.5.
"""

import jax
import jax.numpy as jnp

from . import Param, Scenario
from ._ols import classical_se, ols_fit, score
from ..engine import SimulationError


def draw(key, groups, size, icc):
    """x and y, cluster by cluster: observation i is in cluster i // size."""
    k_x, k_u, k_e = jax.random.split(key, 3)
    x_g = jax.random.normal(k_x, (groups,))
    u_g = jnp.sqrt(icc) * jax.random.normal(k_u, (groups,))
    e = jnp.sqrt(1 - icc) * jax.random.normal(k_e, (groups, size))
    x = jnp.repeat(x_g, size)
    y = 1 + 0.5 * x + jnp.repeat(u_g, size) + e.reshape(-1)
    return x, y


def cr1_se(xc, sxx, resid, groups):
    """Cluster-robust (CR1) standard error of the slope, as statsmodels' cov_type="cluster":
    sum over clusters of (sum_i x_c,i e_i)^2 / S_xx^2, times G/(G - 1) (N - 1)/(N - 2)."""
    n = xc.shape[0]
    scores = jnp.sum((xc * resid).reshape(groups, -1), axis=1)
    correction = groups / (groups - 1) * (n - 1) / (n - 2)
    return jnp.sqrt(correction * jnp.sum(scores * scores)) / sxx


def intervals(x, y, design) -> dict:
    """naive: classical t-interval, N - 2 d.f.; CR1: t with G - 1 d.f."""
    groups = design["groups"]
    slope, _, xc, sxx, resid = ols_fit(x, y)
    se = {"naive": (classical_se(xc, sxx, resid), design.t_crit(x.shape[0] - 2)),
          "CR1": (cr1_se(xc, sxx, resid, groups), design.t_crit(groups - 1))}
    return {name: (slope - crit * s, slope + crit * s)
            for name, (s, crit) in ((p, se[p]) for p in design.procedures)}


def replicate(key, target, params, *, dist, design):
    x, y = draw(key, design["groups"], design["size"], params["icc"])
    return score(intervals(x, y, design), target)


def _check(p):
    if p["groups"] * p["size"] < 3:
        raise SimulationError(f"groups * size must be >= 3 observations for a line, got "
                              f"{p['groups']} * {p['size']}")


def _extra(p):
    deff = 1 + (p["size"] - 1) * p["icc"]
    return {"design_effect": deff, "effective_n": p["groups"] * p["size"] / deff}


SCENARIO = Scenario(
    name="cluster",
    description="G clusters of M, x_g ~ N(0, 1), y = 1 + 0.5 x_g + u_g + e, "
                "u_g ~ N(0, icc), e ~ N(0, 1 - icc); slope of y on x",
    params=(Param("groups", "G: number of clusters", whole=True, low=2, repeat=True),
            Param("size", "M: observations per cluster", whole=True, low=1),
            Param("icc", "intra-cluster correlation of the errors", low=0, high=1,
                  high_open=True)),
    procedures=("naive", "CR1"),
    replicate=replicate,
    target=lambda p: 0.5,
    observations=lambda p: p["groups"] * p["size"],
    check=_check,
    extra=_extra,
    extra_doc=(("design_effect", "Kish's design effect 1 + (M - 1) icc: the factor by which "
                "clustering inflates the slope's variance here (x is constant within clusters)"),
               ("effective_n", "G M / design_effect: the independent observations worth as "
                "much")),
)
